/**
 * Values of the in-memory nft (fake.ts): the data types nftsentry's sets use, an element key as
 * one closed interval per field (a prefix, a range or a single value are all intervals, as in the
 * kernel), and how nft 1.0.6 prints them back (JSON and text). Pure.
 */
import { ipFromBytes, parseIp } from '../net/ip.ts';

/** An nft-phase failure: nft refuses the input before the kernel sees anything. */
export class NftInputError extends Error {}

interface TypeInfo {
  bits: number;
  /** nft's name of the type in its messages ("datatype mismatch, expected ..."). */
  desc: string;
}

export const TYPES: Record<string, TypeInfo> = {
  ipv4_addr: { bits: 32, desc: 'IPv4 address' },
  ipv6_addr: { bits: 128, desc: 'IPv6 address' },
  inet_proto: { bits: 8, desc: 'Internet protocol' },
  inet_service: { bits: 16, desc: 'internet network service' },
  mark: { bits: 32, desc: 'packet mark' },
};

/** How nft names a type, or a concatenation of types, in its messages. */
export function typeDesc(types: readonly string[]): string {
  const names = types.map((t) => TYPES[t]?.desc ?? t);
  return names.length === 1 ? names[0]! : `concatenation of (${names.join(', ')})`;
}

/** The protocol names nft prints for inet_proto values (and accepts on input). */
const PROTOCOLS: Record<string, number> = {
  icmp: 1,
  igmp: 2,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  'ipv6-icmp': 58,
  sctp: 132,
  udplite: 136,
};
const PROTOCOL_NAMES = new Map(Object.entries(PROTOCOLS).map(([n, v]) => [v, n]));

export interface Field {
  lo: bigint;
  hi: bigint;
}

const DURATION_UNIT: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** `3600s`, `1h`, `1m30s`, `250ms` (a bare number is seconds) -> milliseconds. */
export function parseDuration(text: string): number {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  let ms = 0;
  const rest = text.replace(/(\d+)(ms|d|h|m|s)/g, (_, n: string, unit: string) => {
    ms += Number(n) * DURATION_UNIT[unit]!;
    return '';
  });
  if (rest !== '' || text === '') throw new NftInputError(`syntax error, unexpected string, expecting time "${text}"`);
  return ms;
}

/** Milliseconds as nft prints a duration in a listing: `1h2m3s4ms`, `0s`. */
export function formatDuration(ms: number): string {
  let left = Math.max(0, Math.floor(ms));
  let out = '';
  for (const [unit, size] of Object.entries(DURATION_UNIT)) {
    const n = Math.floor(left / size);
    left -= n * size;
    if (n > 0) out += `${n}${unit}`;
  }
  return out || '0s';
}

function bytesToBig(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function bigToAddr(v: bigint, bits: number): string {
  const bytes = new Uint8Array(bits / 8);
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return ipFromBytes(bytes).text;
}

function parseAddress(type: string, text: string): bigint {
  const addr = parseIp(text);
  const want = type === 'ipv4_addr' ? 4 : 6;
  if (!addr) throw new NftInputError('Could not resolve hostname: Name or service not known');
  if (addr.family !== want)
    throw new NftInputError('Could not resolve hostname: Address family for hostname not supported');
  return bytesToBig(addr.bytes);
}

function parseScalar(type: string, text: string): bigint {
  if (type === 'ipv4_addr' || type === 'ipv6_addr') return parseAddress(type, text);
  const bits = TYPES[type]?.bits;
  if (bits === undefined) throw new NftInputError(`unknown datatype ${type}`);
  let v: number | undefined;
  if (/^\d+$/.test(text)) v = Number(text);
  else if (/^0x[0-9a-f]+$/i.test(text)) v = Number.parseInt(text.slice(2), 16);
  else if (type === 'inet_proto') v = PROTOCOLS[text];
  if (v === undefined) {
    throw new NftInputError(
      type === 'inet_service'
        ? `Could not resolve service: Servname not supported for ai_socktype`
        : `Could not parse ${typeDesc([type])}`,
    );
  }
  if (v >= 2 ** bits) throw new NftInputError(`Value ${v} exceeds valid range 0-${2 ** bits - 1}`);
  return BigInt(v);
}

/**
 * One field of an element: a value, `lo-hi` or (addresses) `addr/len`. A prefix or range in a set
 * without `flags interval` is refused as nft refuses it. Host bits of a prefix are cleared.
 */
export function parseField(type: string, text: string, interval: boolean): Field {
  const bits = TYPES[type]?.bits ?? 0;
  const slash = text.indexOf('/');
  if (slash >= 0 && (type === 'ipv4_addr' || type === 'ipv6_addr')) {
    const len = Number(text.slice(slash + 1));
    if (!/^\d{1,3}$/.test(text.slice(slash + 1)) || len > bits)
      throw new NftInputError(`syntax error, unexpected prefix length in "${text}"`);
    const host = (1n << BigInt(bits - len)) - 1n;
    const addr = parseAddress(type, text.slice(0, slash));
    if (len < bits && !interval) {
      throw new NftInputError(
        "You must add 'flags interval' to your set declaration if you want to add prefix elements",
      );
    }
    return { lo: addr & ~host, hi: (addr & ~host) | host };
  }
  const dash = text.indexOf('-', 1);
  if (dash > 0 && !(type === 'inet_proto' && text in PROTOCOLS)) {
    const lo = parseScalar(type, text.slice(0, dash));
    const hi = parseScalar(type, text.slice(dash + 1));
    if (hi < lo) throw new NftInputError(`Range negative size: ${text}`);
    if (lo !== hi && !interval)
      throw new NftInputError(
        "You must add 'flags interval' to your set declaration if you want to add range elements",
      );
    return { lo, hi };
  }
  const v = parseScalar(type, text);
  return { lo: v, hi: v };
}

/** An element's key, one field per type of the set's key (`a . b` is two fields). */
export function parseKey(types: readonly string[], parts: readonly string[], interval: boolean): Field[] {
  if (parts.length !== types.length) {
    throw new NftInputError(`datatype mismatch, expected ${typeDesc(types)}, expression has ${parts.length} part(s)`);
  }
  return parts.map((p, i) => parseField(types[i]!, p, interval));
}

/** The key as a string, for identity (hash lookups). */
export function keyId(key: readonly Field[]): string {
  return key.map((f) => `${f.lo.toString(16)}-${f.hi.toString(16)}`).join('.');
}

/** The prefix length when the interval is exactly a prefix, else null. */
function prefixLen(f: Field, bits: number): number | null {
  const size = f.hi - f.lo + 1n;
  if (size <= 0n || (size & (size - 1n)) !== 0n || (f.lo & (size - 1n)) !== 0n) return null;
  return bits - (size.toString(2).length - 1);
}

/** One field as `nft -j` prints it. */
export function fieldJson(type: string, f: Field): unknown {
  const bits = TYPES[type]?.bits ?? 32;
  if (type === 'ipv4_addr' || type === 'ipv6_addr') {
    const len = prefixLen(f, bits);
    if (len === bits) return bigToAddr(f.lo, bits);
    if (len !== null) return { prefix: { addr: bigToAddr(f.lo, bits), len } };
    return { range: [bigToAddr(f.lo, bits), bigToAddr(f.hi, bits)] };
  }
  if (f.lo !== f.hi) return { range: [Number(f.lo), Number(f.hi)] };
  if (type === 'inet_proto') return PROTOCOL_NAMES.get(Number(f.lo)) ?? Number(f.lo);
  return Number(f.lo);
}

/** One field as `nft list` prints it. */
export function fieldText(type: string, f: Field): string {
  const j = fieldJson(type, f);
  if (typeof j === 'string' || typeof j === 'number') return String(j);
  if ('prefix' in (j as object)) {
    const p = (j as { prefix: { addr: string; len: number } }).prefix;
    return `${p.addr}/${p.len}`;
  }
  const [a, b] = (j as { range: [unknown, unknown] }).range;
  return `${String(a)}-${String(b)}`;
}

export function keyJson(types: readonly string[], key: readonly Field[]): unknown {
  const parts = key.map((f, i) => fieldJson(types[i]!, f));
  return parts.length === 1 ? parts[0] : { concat: parts };
}

export function keyText(types: readonly string[], key: readonly Field[]): string {
  return key.map((f, i) => fieldText(types[i]!, f)).join(' . ');
}

/** True when a point (one value per field) lies inside the element's key. */
export function keyContains(key: readonly Field[], point: readonly bigint[]): boolean {
  return key.every((f, i) => f.lo <= point[i]! && point[i]! <= f.hi);
}

/** Map data (a mark): a number, decimal or 0x hex. */
export function parseData(type: string, text: string): number {
  return Number(parseScalar(type, text));
}
