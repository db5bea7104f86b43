/**
 * Reading the fields of an already-parsed IDS record: each reader returns the value or a `bad`
 * result naming the field, so the EVE and Snort parsers refuse a line with a stable reason
 * (missing_field, wrong_type, bad_address, bad_port) instead of throwing. Pure.
 */
import { canonicalIp } from '../net/ip.ts';
import type { BadReason, Endpoint, ParseResult } from './alert.ts';

export type Bad = Extract<ParseResult, { kind: 'bad' }>;

export function bad(reason: BadReason, detail: string): Bad {
  return { kind: 'bad', reason, detail };
}

export function isBad(v: unknown): v is Bad {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'bad';
}

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function requiredObject(o: Obj, key: string, path = key): Obj | Bad {
  const v = o[key];
  if (v === undefined || v === null) return bad('missing_field', path);
  return isObj(v) ? v : bad('wrong_type', `${path} is not an object`);
}

export function requiredString(o: Obj, key: string, path = key): string | Bad {
  const v = o[key];
  if (v === undefined || v === null) return bad('missing_field', path);
  return typeof v === 'string' ? v : bad('wrong_type', `${path} is not a string`);
}

export function optionalString(o: Obj, key: string, path = key): string | undefined | Bad {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : bad('wrong_type', `${path} is not a string`);
}

/** A non-negative integer (gid, sid, rev...), within the 32 bits the IDSs use. */
export function requiredUint(o: Obj, key: string, path = key): number | Bad {
  const v = o[key];
  if (v === undefined || v === null) return bad('missing_field', path);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff)
    return bad('wrong_type', `${path} is not an unsigned integer`);
  return v;
}

export function optionalUint(o: Obj, key: string, path = key): number | null | Bad {
  if (o[key] === undefined || o[key] === null) return null;
  return requiredUint(o, key, path);
}

export function address(v: unknown, path: string): string | Bad {
  if (v === undefined || v === null) return bad('missing_field', path);
  if (typeof v !== 'string') return bad('wrong_type', `${path} is not a string`);
  const ip = canonicalIp(v);
  return ip ?? bad('bad_address', `${path} is not an IP address`);
}

/** A port: absent means none (ICMP); otherwise an integer 0-65535. */
export function port(v: unknown, path: string): number | null | Bad {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number') return bad('wrong_type', `${path} is not a number`);
  if (!Number.isInteger(v) || v < 0 || v > 65_535) return bad('bad_port', `${path} is out of range`);
  return v;
}

export function endpoint(ipValue: unknown, portValue: unknown, path: string): Endpoint | Bad {
  const ip = address(ipValue, `${path}_ip`);
  if (isBad(ip)) return ip;
  const p = port(portValue, `${path}_port`);
  if (isBad(p)) return p;
  return { ip, port: p };
}

/** Protocols that carry ports; for the others a printed port (Snort prints 0) means none. */
export function hasPorts(proto: string): boolean {
  return proto === 'TCP' || proto === 'UDP' || proto === 'SCTP';
}
