/**
 * Addresses that may never be banned: the allowlist (config and API), the home networks, the
 * gateway's own addresses, and the special kinds (loopback, link-local, multicast, unspecified,
 * broadcast, IPv4-mapped). A value built from data; rebuilt when any of those change. Pure.
 */
import { prefixContains, prefixCovers, specialAddressKind, type IpAddress, type IpPrefix } from '../net/ip.ts';

/** True when `addr` is the broadcast address (host bits all ones) of the IPv4 prefix `p`. */
export function isDirectedBroadcast(p: IpPrefix, addr: IpAddress): boolean {
  if (p.family !== 4 || addr.family !== 4 || p.length > 30 || !prefixContains(p, addr)) return false;
  const value = ((addr.bytes[0]! << 24) | (addr.bytes[1]! << 16) | (addr.bytes[2]! << 8) | addr.bytes[3]!) >>> 0;
  const hostMask = 2 ** (32 - p.length) - 1;
  return (value & hostMask) >>> 0 === hostMask;
}

export type ProtectedWhy = 'allowlisted' | 'home' | 'own_address' | string;

export class Protection {
  readonly allow: readonly IpPrefix[];
  readonly home: readonly IpPrefix[];
  private readonly own: ReadonlySet<string>;
  private readonly ownList: readonly IpAddress[];

  constructor(allow: readonly IpPrefix[], home: readonly IpPrefix[], own: readonly IpAddress[]) {
    this.allow = allow;
    this.home = home;
    this.ownList = own;
    this.own = new Set(own.map((a) => a.text));
  }

  /** Returns a copy with other own addresses (read live from the interfaces). */
  withOwn(own: readonly IpAddress[]): Protection {
    return new Protection(this.allow, this.home, own);
  }

  withAllow(allow: readonly IpPrefix[]): Protection {
    return new Protection(allow, this.home, this.ownList);
  }

  isHome(addr: IpAddress): boolean {
    return this.own.has(addr.text) || this.home.some((p) => prefixContains(p, addr));
  }

  /** Why this address may never be banned, or null. */
  whyProtected(addr: IpAddress): ProtectedWhy | null {
    const special = specialAddressKind(addr);
    if (special) return special;
    if (this.home.some((p) => isDirectedBroadcast(p, addr))) return 'broadcast';
    if (this.allow.some((p) => prefixContains(p, addr))) return 'allowlisted';
    if (this.own.has(addr.text)) return 'own_address';
    if (this.home.some((p) => prefixContains(p, addr))) return 'home';
    return null;
  }

  /** Why a whole prefix may not be banned (it overlaps something protected), or null. */
  whyPrefixProtected(prefix: IpPrefix): ProtectedWhy | null {
    const overlaps = (p: IpPrefix) => prefixCovers(p, prefix) || prefixCovers(prefix, p);
    const special = specialAddressKind(prefix.network);
    if (special) return special;
    if (this.allow.some(overlaps)) return 'allowlisted';
    if (this.ownList.some((a) => prefixContains(prefix, a))) return 'own_address';
    if (this.home.some(overlaps)) return 'home';
    return null;
  }
}
