/**
 * The gateway's own addresses, read live from the interfaces (`ip -j addr`), so that nftsentry
 * never bans itself, also after DHCP or SLAAC changed them. IO at the edge; the JSON -> addresses
 * step is pure.
 */
import { execa } from 'execa';
import { NftsentryError, ErrorCodes } from '../errors.ts';
import { parseIp, type IpAddress } from '../net/ip.ts';

interface IpAddrJson {
  ifname?: string;
  addr_info?: Array<{ local?: string }>;
}

export function parseIpAddrJson(text: string): IpAddress[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const out = new Map<string, IpAddress>();
  for (const link of parsed as IpAddrJson[]) {
    for (const info of link.addr_info ?? []) {
      const a = info.local ? parseIp(info.local) : null;
      if (a) out.set(a.text, a);
    }
  }
  return [...out.values()];
}

/** Reads the addresses of every interface, in `netns` when given (`ip -n NAME`). */
export async function readOwnAddresses(netns?: string): Promise<IpAddress[]> {
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
