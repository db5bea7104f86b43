/**
 * Whether this kernel restarts a set element's clock when the element is added again with
 * `timeout T expires T` (newer kernels update an existing element's timeout and expiry, and keep
 * its counter; older ones leave it as it was). Probed on the ban set `ban4` with 0.0.0.0 (the
 * address the lanes' start probe already uses): add it with 10 s left, add it again with an hour
 * left, read the time left back, remove it, all within a few milliseconds; the lanes share one probe (`sharedRefreshProbe`), since probes running at once
 * on the same element would undo each other. Any failure (no such set yet, an nft without `get element`, the in-memory fake)
 * answers false: the refresh then deletes and re-adds, which works everywhere.
 */
import { TABLE } from './objects.ts';
import type { Nft } from './nft.ts';

const KEY = '0.0.0.0';
const SHORT_S = 10;
const LONG_S = 3600;

/** Seconds of nft's printed duration (`59m59s996ms`, `9s996ms`, `1h`); null if none is there. */
function expiresOf(text: string): number | null {
  const m = /\bexpires ((?:\d+(?:d|h|ms|m|s))+)/.exec(text);
  if (!m) return null;
  let sec = 0;
  for (const [, n, unit] of m[1]!.matchAll(/(\d+)(d|h|ms|m|s)/g)) {
    sec += Number(n) * ({ d: 86_400, h: 3600, m: 60, s: 1, ms: 0.001 } as Record<string, number>)[unit!]!;
  }
  return sec;
}

export async function kernelRefreshesInPlace(nft: Nft): Promise<boolean> {
  const at = `${TABLE} ban4 { ${KEY} }`;
  try {
    await nft.runScript(
      [
        `add element ${at}`,
        `delete element ${at}`,
        `add element ${TABLE} ban4 { ${KEY} timeout ${LONG_S}s expires ${SHORT_S}s }`,
        `add element ${TABLE} ban4 { ${KEY} timeout ${LONG_S}s expires ${LONG_S}s }`,
        '',
      ].join('\n'),
    );
    const left = expiresOf((await nft.run(['get', 'element', ...at.split(' ')])).stdout);
    return left !== null && left > SHORT_S;
  } catch {
    return false;
  } finally {
    await nft.runScript(`add element ${at}\ndelete element ${at}\n`).catch(() => undefined);
  }
}

/** One probe for all who ask (the flusher's lanes), run at the first ask. */
export function sharedRefreshProbe(): (nft: Nft) => Promise<boolean> {
  let result: Promise<boolean> | null = null;
  return (nft) => {
    result ??= kernelRefreshesInPlace(nft);
    return result;
  };
}
