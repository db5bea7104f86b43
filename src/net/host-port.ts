/**
 * `host:port` of a service the daemon connects to (a Redis Sentinel): an IPv4 address, an IPv6
 * address in brackets (`[2001:db8::1]:26379`), or a DNS name, then a port 1-65535. A bare IPv6
 * address is refused (its last group would read as the port), and so is a dotted quad that is
 * no address (`198.18.0.999` is a typo, not a name).
 */
import { parseIp } from './ip.ts';

export interface HostPort {
  /** The address in canonical form (IPv6 without brackets), or the name in lower case. */
  host: string;
  port: number;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function hostName(text: string): string | null {
  const name = text.toLowerCase().replace(/\.$/, '');
  if (name.length === 0 || name.length > 253 || /^[0-9.]+$/.test(name)) return null;
  return name.split('.').every((l) => LABEL.test(l)) ? name : null;
}

/** Parses `host:port`; null when it is not one. */
export function parseHostPort(text: string): HostPort | null {
  if (typeof text !== 'string' || text.length > 300) return null;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  if (m[1] !== undefined) {
    const ip = parseIp(m[1]);
    return ip?.family === 6 ? { host: ip.text, port } : null;
  }
  const ip = parseIp(m[2]!);
  if (ip) return { host: ip.text, port };
  const name = hostName(m[2]!);
  return name ? { host: name, port } : null;
}
