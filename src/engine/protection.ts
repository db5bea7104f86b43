/**
 * Addresses that may never be banned: the allowlist (config and API), the home networks, the
 * gateway's own addresses and the network and broadcast addresses of their subnets, and the
 * special kinds (loopback, link-local, multicast, unspecified, broadcast, IPv4-mapped). A value
 * built from data; rebuilt when any of those change. Pure.
 */
import {
  prefixContains,
  prefixCovers,
  specialAddressKind,
  type IpAddress,
  type IpPrefix,
  type SpecialAddressKind,
} from '../net/ip.ts';
import { ownSubnetEdges, type InterfaceAddress } from '../net/subnet.ts';

/** `prefixContains` without allocating (this runs for every alert). */
export function inPrefix(p: IpPrefix, a: IpAddress): boolean {
  if (p.family !== a.family) return false;
  const nb = p.network.bytes;
  const ab = a.bytes;
  let bits = p.length;
  let i = 0;
  for (; bits >= 8; i++, bits -= 8) if (nb[i] !== ab[i]) return false;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (ab[i]! & mask) === nb[i];
}

/** Cheap pre-check: only these first bytes can be special (see specialAddressKind in net/ip.ts). */
function maybeSpecial(a: IpAddress): boolean {
  const b0 = a.bytes[0]!;
  if (a.family === 4) return b0 === 0 || b0 === 127 || b0 === 169 || b0 >= 224;
  return b0 === 0 || b0 === 0xfe || b0 === 0xff;
}

/** True when `addr` is the broadcast address (host bits all ones) of the IPv4 prefix `p`. */
export function isDirectedBroadcast(p: IpPrefix, addr: IpAddress): boolean {
  if (p.family !== 4 || addr.family !== 4 || p.length > 30 || !inPrefix(p, addr)) return false;
  const value = ((addr.bytes[0]! << 24) | (addr.bytes[1]! << 16) | (addr.bytes[2]! << 8) | addr.bytes[3]!) >>> 0;
  const hostMask = 2 ** (32 - p.length) - 1;
  return (value & hostMask) >>> 0 === hostMask;
}

/**
 * Why an address or prefix may not be banned: its special kind (a home network's directed
 * broadcast is `broadcast` too), or what protects it. `own_subnet_edge`: the network or broadcast
 * address of a subnet on the gateway's own interfaces (IPv6: its subnet-router anycast address).
 */
export type ProtectedWhy = SpecialAddressKind | 'allowlisted' | 'home' | 'own_address' | 'own_subnet_edge';

export class Protection {
  readonly allow: readonly IpPrefix[];
  readonly home: readonly IpPrefix[];
  /** The interfaces' addresses with their subnets, as read. */
  readonly interfaces: readonly InterfaceAddress[];
  private readonly own: ReadonlySet<string>;
  private readonly ownList: readonly IpAddress[];
  private readonly edges: ReadonlySet<string>;
  private readonly edgeList: readonly IpAddress[];

  constructor(allow: readonly IpPrefix[], home: readonly IpPrefix[], own: readonly InterfaceAddress[]) {
    this.allow = allow;
    this.home = home;
    this.interfaces = own;
    this.ownList = own.map((a) => a.address);
    this.own = new Set(this.ownList.map((a) => a.text));
    this.edgeList = ownSubnetEdges(own);
    this.edges = new Set(this.edgeList.map((a) => a.text));
  }

  /** Returns a copy with other own addresses (read live from the interfaces). */
  withOwn(own: readonly InterfaceAddress[]): Protection {
    return new Protection(this.allow, this.home, own);
  }

  withAllow(allow: readonly IpPrefix[]): Protection {
    return new Protection(allow, this.home, this.interfaces);
  }

  isHome(addr: IpAddress): boolean {
    if (this.own.has(addr.text)) return true;
    for (const p of this.home) if (inPrefix(p, addr)) return true;
    return false;
  }

  /** Why this address may never be banned, or null. */
  whyProtected(addr: IpAddress): ProtectedWhy | null {
    const special = maybeSpecial(addr) ? specialAddressKind(addr) : null;
    if (special) return special;
    if (addr.family === 4 && this.home.some((p) => isDirectedBroadcast(p, addr))) return 'broadcast';
    for (const p of this.allow) if (inPrefix(p, addr)) return 'allowlisted';
    if (this.own.has(addr.text)) return 'own_address';
    if (this.edges.has(addr.text)) return 'own_subnet_edge';
    for (const p of this.home) if (inPrefix(p, addr)) return 'home';
    return null;
  }

  /**
   * The entry that protects `addr` for the reason `why` gave: the allowlist or home prefix, the
   * own address, the subnet whose edge it is; null for the special kinds.
   */
  entryFor(addr: IpAddress, why: ProtectedWhy): string | null {
    switch (why) {
      case 'allowlisted':
        return this.allow.find((p) => inPrefix(p, addr))?.text ?? null;
      case 'home':
      case 'broadcast':
        return this.home.find((p) => inPrefix(p, addr))?.text ?? null;
      case 'own_address':
        return addr.text;
      case 'own_subnet_edge':
        return this.interfaces.find((i) => inPrefix(i.subnet, addr))?.subnet.text ?? null;
      default:
        return null;
    }
  }

  /** Why a whole prefix may not be banned (it overlaps something protected), or null. */
  whyPrefixProtected(prefix: IpPrefix): ProtectedWhy | null {
    const overlaps = (p: IpPrefix) => prefixCovers(p, prefix) || prefixCovers(prefix, p);
    const special = specialAddressKind(prefix.network);
    if (special) return special;
    if (this.allow.some(overlaps)) return 'allowlisted';
    if (this.ownList.some((a) => prefixContains(prefix, a))) return 'own_address';
    if (this.edgeList.some((a) => prefixContains(prefix, a))) return 'own_subnet_edge';
    if (this.home.some(overlaps)) return 'home';
    return null;
  }
}
