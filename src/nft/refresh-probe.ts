/**
 * Whether this kernel updates a set element's timeout when the element is added again (newer
 * kernels do, and keep the element's counter; older ones keep the old timeout). Probed once per
 * lane on the ban set `ban4` with 0.0.0.0 (the address the lanes' start probe already uses): add
 * with a short timeout, add again with a long one, read the element back, remove it, all within a
 * few milliseconds; the lanes share one probe (`sharedRefreshProbe`), since probes running at once
 * on the same element would undo each other. Any failure (no such set yet, an nft without `get element`, the in-memory fake)
 * answers false: the refresh then deletes and re-adds, which works everywhere.
 */
import { TABLE } from './objects.ts';
import type { Nft } from './nft.ts';

const KEY = '0.0.0.0';
const SHORT_S = 10;
const LONG_S = 3600;

/** The element's timeout as `get element` prints it (nft 1.0.6 prints text even with -j). */
function timeoutOf(text: string): string | null {
  return /\btimeout (\S+)/.exec(text)?.[1] ?? null;
}

export async function kernelRefreshesInPlace(nft: Nft): Promise<boolean> {
  const at = `${TABLE} ban4 { ${KEY} }`;
  try {
    await nft.runScript(
      [
        `add element ${at}`,
        `delete element ${at}`,
        `add element ${TABLE} ban4 { ${KEY} timeout ${SHORT_S}s }`,
        `add element ${TABLE} ban4 { ${KEY} timeout ${LONG_S}s }`,
        '',
      ].join('\n'),
    );
    const timeout = timeoutOf((await nft.run(['get', 'element', ...at.split(' ')])).stdout);
    return timeout !== null && timeout !== `${SHORT_S}s`;
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
