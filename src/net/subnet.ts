/**
 * The subnets of the gateway's own interfaces and their addresses that belong to no host: the
 * IPv4 network and broadcast addresses, the IPv6 subnet-router anycast address (RFC 4291 2.6.1:
 * the prefix with an all-zero host part). Pure.
 */
import { ipFromBytes, prefixContaining, type IpAddress, type IpPrefix } from './ip.ts';

/** An address of one of the gateway's interfaces, with the subnet it is on. */
export interface InterfaceAddress {
  readonly address: IpAddress;
  /** The on-link prefix (`ip addr`'s prefixlen); a full-length prefix when there is none. */
  readonly subnet: IpPrefix;
  /** IPv4: a broadcast address set on the interface (`brd`), when `ip` shows one. */
  readonly broadcast?: IpAddress;
}

/**
 * An interface address and its prefix length (`198.18.0.1`, 24). With a point-to-point `peer`,
 * the prefix is the peer's (as `ip addr add A peer P/LEN` sets it). A length out of range counts
 * as full length (no subnet).
 */
export function interfaceAddress(
  address: IpAddress,
  prefixLength: number,
  extra: { peer?: IpAddress; broadcast?: IpAddress } = {},
): InterfaceAddress {
  const base = extra.peer?.family === address.family ? extra.peer : address;
  const max = address.family === 4 ? 32 : 128;
  const length = Number.isInteger(prefixLength) && prefixLength >= 0 && prefixLength <= max ? prefixLength : max;
  const broadcast = extra.broadcast?.family === 4 ? extra.broadcast : undefined;
  return { address, subnet: prefixContaining(base, length), ...(broadcast ? { broadcast } : {}) };
}

/**
 * The addresses of a subnet that are no host's. IPv4 up to /30: network and broadcast (a /31 has
 * neither, RFC 3021; the kernel adds both as broadcast routes for /30 and wider). IPv6 up to
 * /126: the subnet-router anycast address (a /127 has none, RFC 6164). A /0 has none either: it is
 * no subnet.
 */
export function subnetEdges(subnet: IpPrefix): IpAddress[] {
  if (subnet.length === 0) return [];
  if (subnet.family === 6) return subnet.length <= 126 ? [subnet.network] : [];
  if (subnet.length > 30) return [];
  const last = Uint8Array.from(subnet.network.bytes);
  let hostBits = 32 - subnet.length;
  for (let i = 3; i >= 0 && hostBits > 0; i--, hostBits -= 8) last[i] = last[i]! | (0xff >> Math.max(0, 8 - hostBits));
  return [subnet.network, ipFromBytes(last)];
}

/** Every such address of the given interface addresses, with any broadcast address set on them; each once. */
export function ownSubnetEdges(own: readonly InterfaceAddress[]): IpAddress[] {
  const out = new Map<string, IpAddress>();
  for (const a of own) {
    for (const e of subnetEdges(a.subnet)) out.set(e.text, e);
    if (a.broadcast) out.set(a.broadcast.text, a.broadcast);
  }
  return [...out.values()];
}
