/**
 * Whether this kernel restarts a set element's clock when the element is added again with
 * `timeout T expires T` (newer kernels update an existing element's timeout and expiry, and keep
 * its counter; older ones leave it as it was). Probed in a throwaway table of its own
 * (`inet nftsentry_probe`, one timeout set, no chain: it sees no packet, and the daemon's
 * watch ignores other tables): the element added with 10 s left, added again with an hour left,
 * the time left read back (`list set` of that set alone), the table deleted. The ban sets are never touched, so the probe costs
 * the same whatever they hold. Any failure (an nft that refuses `expires`, the in-memory fake)
 * answers false: the refresh then deletes and re-adds, which works everywhere.
 */
import type { Nft } from './nft.ts';

const PROBE_TABLE = 'inet nftsentry_probe';
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
  try {
    await nft.runScript(
      [
        `add table ${PROBE_TABLE}`,
        `delete table ${PROBE_TABLE}`,
        `add table ${PROBE_TABLE}`,
        `add set ${PROBE_TABLE} s { type ipv4_addr; flags timeout; }`,
        `add element ${PROBE_TABLE} s { ${KEY} timeout ${LONG_S}s expires ${SHORT_S}s }`,
        `add element ${PROBE_TABLE} s { ${KEY} timeout ${LONG_S}s expires ${LONG_S}s }`,
        '',
      ].join('\n'),
    );
    // `list set` of this one set (`get element` would have nft read every set's elements first).
    const left = expiresOf((await nft.run(['list', 'set', ...PROBE_TABLE.split(' '), 's'])).stdout);
    return left !== null && left > SHORT_S;
  } catch {
    return false;
  } finally {
    await nft.runScript(`add table ${PROBE_TABLE}\ndelete table ${PROBE_TABLE}\n`).catch(() => undefined);
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
