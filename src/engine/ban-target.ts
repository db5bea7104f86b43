/**
 * What a ban is put on: a single address (hash sets ban4/ban6) or a prefix (interval sets
 * bannet4/bannet6). The text is the key everywhere (store, API, memory): the canonical address
 * for a single one (`203.0.113.7`), `addr/len` for a prefix (`2001:db8:1::/64`). Pure.
 */
import { isFullLength, parsePrefix, type Family, type IpPrefix } from '../net/ip.ts';

export type BanSetName = 'ban4' | 'ban6' | 'bannet4' | 'bannet6';

export interface BanTarget {
  text: string;
  family: Family;
  set: BanSetName;
  prefix: IpPrefix;
}

export function banTargetOf(prefix: IpPrefix): BanTarget {
  const single = isFullLength(prefix);
  const set: BanSetName = prefix.family === 4 ? (single ? 'ban4' : 'bannet4') : single ? 'ban6' : 'bannet6';
  return { text: single ? prefix.network.text : prefix.text, family: prefix.family, set, prefix };
}

/** Parses a stored or requested key back into a target; null when it does not parse. */
export function parseBanTarget(text: string): BanTarget | null {
  const p = parsePrefix(text);
  return p ? banTargetOf(p) : null;
}
