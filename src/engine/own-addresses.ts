/**
 * The gateway's own addresses with their prefix lengths, read live from the interfaces
 * (`ip -j addr`), so that nftsentry never bans itself nor its subnets' network and broadcast
 * addresses, also after DHCP or SLAAC changed them. IO at the edge; the JSON -> addresses step is
 * pure.
 */
import { execa } from 'execa';
import { NftsentryError, ErrorCodes } from '../errors.ts';
import { parseIp } from '../net/ip.ts';
import { interfaceAddress, type InterfaceAddress } from '../net/subnet.ts';

interface IpAddrJson {
  ifname?: string;
  /** `local`: the address; `address`: the peer of a point-to-point address; `broadcast`: `brd`. */
  addr_info?: Array<{ local?: unknown; address?: unknown; prefixlen?: unknown; broadcast?: unknown }>;
}

const ipOf = (v: unknown) => (typeof v === 'string' ? parseIp(v) : null);

/** `ip -j addr show` -> the addresses with their subnets, each once; garbage gives none. */
export function parseIpAddrJson(text: string): InterfaceAddress[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const out = new Map<string, InterfaceAddress>();
  for (const link of parsed as IpAddrJson[]) {
    if (!Array.isArray(link?.addr_info)) continue;
    for (const info of link.addr_info) {
      const a = ipOf(info?.local);
      if (!a) continue;
      const length = typeof info.prefixlen === 'number' ? info.prefixlen : NaN;
      const own = interfaceAddress(a, length, {
        peer: ipOf(info.address) ?? undefined,
        broadcast: ipOf(info.broadcast) ?? undefined,
      });
      const key = `${a.text} ${own.subnet.text}`;
      if (!out.has(key)) out.set(key, own);
    }
  }
  return [...out.values()];
}

/** Reads the addresses of every interface, in `netns` when given (`ip -n NAME`). */
export async function readOwnAddresses(netns?: string): Promise<InterfaceAddress[]> {
  const args = [...(netns ? ['-n', netns] : []), '-j', 'addr', 'show'];
  const r = await execa('ip', args, { reject: false, stdin: 'ignore', timeout: 10_000 });
  if (r.exitCode !== 0) {
    throw new NftsentryError(
      ErrorCodes.OWN_ADDRESSES,
      `cannot read the gateway's own addresses: ip ${args.join(' ')}: ${String(r.stderr).trim() || `exit ${r.exitCode ?? r.message}`}`,
      {
        details: { args, exitCode: r.exitCode },
      },
    );
  }
  return parseIpAddrJson(String(r.stdout));
}
