/**
 * What a ban is put on: a single address (hash sets ban4/ban6), an IPv6 /64 (hash set ban6net64,
 * holding the /64's network address: a hash set costs the same at any size) or any other prefix
 * (bannet4/bannet6, interval sets keyed `address . protocol`). The text is the key everywhere
 * (store, API, memory, element changes): the canonical address for a single one (`203.0.113.7`),
 * `addr/len` for a prefix (`2001:db8:1::/64`, also for ban6net64 and bannet4/6); only the nft
 * boundary (nft/elements.ts on the way in, kernel-sync.ts on the way out) writes a ban6net64
 * element as its bare network address and a bannet4/6 element as `addr/len . 0-255`. Pure.
 */
import { isFullLength, parsePrefix, prefixKey, type Family, type IpPrefix } from '../net/ip.ts';
import { NETWORK_KEY_SETS } from '../nft/objects.ts';

export type BanSetName = 'ban4' | 'ban6' | 'ban6net64' | 'bannet4' | 'bannet6';

/** Sets whose elements are prefixes (a ban there can hold many addresses). */
export const PREFIX_BAN_SETS: readonly BanSetName[] = ['ban6net64', 'bannet4', 'bannet6'];

export interface BanTarget {
  text: string;
  family: Family;
  set: BanSetName;
  prefix: IpPrefix;
}

export function banSetOf(prefix: IpPrefix): BanSetName {
  if (prefix.family === 4) return isFullLength(prefix) ? 'ban4' : 'bannet4';
  if (isFullLength(prefix)) return 'ban6';
  return prefix.length === NETWORK_KEY_SETS.ban6net64 ? 'ban6net64' : 'bannet6';
}

export function banTargetOf(prefix: IpPrefix): BanTarget {
  return { text: prefixKey(prefix), family: prefix.family, set: banSetOf(prefix), prefix };
}

/** Parses a stored or requested key back into a target; null when it does not parse. */
export function parseBanTarget(text: string): BanTarget | null {
  const p = parsePrefix(text);
  return p ? banTargetOf(p) : null;
}
