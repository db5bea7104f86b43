/**
 * Reading the ban sets back from the kernel (start-up reconcile, self-healing), and a cheap probe
 * that they still exist: `add` + `delete` of a never-banned key in each ban set, one transaction
 * through the co-process (about 0.2 ms), which fails with E_NFT_NOT_FOUND once the table or a set
 * is gone (`nft flush ruleset`, nftables restarted).
 */
import type { ElementChange } from '../nft/elements.ts';
import type { NftRunner } from '../nft/runner.ts';
import { readSet, type SetElement } from '../nft/state.ts';
import type { BanSetName } from './ban-target.ts';

export const BAN_SET_NAMES: readonly BanSetName[] = ['ban4', 'ban6', 'bannet4', 'bannet6'];

/** Probe elements: 0.0.0.0 and :: are never banned (unspecified addresses). */
export const PROBE: readonly ElementChange[] = [
  { set: 'ban4', key: '0.0.0.0' },
  { set: 'ban6', key: '::' },
  { set: 'bannet4', key: '0.0.0.0' },
  { set: 'bannet6', key: '::' },
];

export async function readBanSets(runner: NftRunner): Promise<Map<BanSetName, SetElement[]>> {
  const lists = await Promise.all(BAN_SET_NAMES.map((s) => readSet(runner, s)));
  return new Map(BAN_SET_NAMES.map((s, i) => [s, lists[i]!]));
}
