/**
 * What the kernel counted on chosen ban elements (their sets declared with `counter`): one
 * `nft get element` per set for a page of bans, rather than a listing of whole sets. nft 1.0.6
 * prints `get element` as text whatever the flags, so the counters are read from that text. An
 * element that is gone (expired meanwhile) fails the whole `get`: the keys are then split in
 * halves until the missing ones are found, and those have no entry in the answer.
 */
import { kernelKey } from './elements.ts';
import type { Nft } from './nft.ts';
import { NETWORK_KEY_SETS, TABLE } from './objects.ts';

export interface ElementCounter {
  packets: number;
  bytes: number;
}

const COUNTED = /([0-9a-f.:]+(?:\/\d{1,3})?)(?: \. 0-255)? counter packets (\d+) bytes (\d+)/g;
const SET_NAME = /^[a-z][a-z0-9_]{0,31}$/;

/** The element text nft printed -> the ban target (`addr/64` for a network-address set). */
function targetOf(set: string, printed: string): string {
  const len = (NETWORK_KEY_SETS as Record<string, number>)[set];
  return len === undefined || printed.includes('/') ? printed : `${printed}/${len}`;
}

async function getSome(nft: Nft, set: string, keys: readonly string[], out: Map<string, ElementCounter>) {
  if (keys.length === 0) return;
  let text: string;
  try {
    text = (
      await nft.run([
        'get',
        'element',
        ...TABLE.split(' '),
        set,
        `{ ${keys.map((k) => kernelKey(set, k)).join(', ')} }`,
      ])
    ).stdout;
  } catch {
    if (keys.length === 1) return;
    const half = Math.ceil(keys.length / 2);
    await getSome(nft, set, keys.slice(0, half), out);
    await getSome(nft, set, keys.slice(half), out);
    return;
  }
  for (const m of text.matchAll(COUNTED)) {
    out.set(targetOf(set, m[1]!), { packets: Number(m[2]), bytes: Number(m[3]) });
  }
}

/** Counters of `targets` (ban target texts) grouped by set; targets not in the kernel are absent. */
export async function readElementCounters(
  nft: Nft,
  bySet: ReadonlyMap<string, readonly string[]>,
): Promise<Map<string, ElementCounter>> {
  const out = new Map<string, ElementCounter>();
  for (const [set, keys] of bySet) {
    if (!SET_NAME.test(set)) continue;
    await getSome(nft, set, keys, out);
  }
  return out;
}
