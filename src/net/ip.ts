/**
 * IP addresses and prefixes: parse strictly, print canonically (RFC 5952 for IPv6), compare.
 *
 * Every address that reaches an nft command goes through `parseIp`/`parsePrefix` and is re-printed
 * from its bytes, so no text from outside ever reaches nft as it came in. Pure, no IO.
 */

export type Family = 4 | 6;

export interface IpAddress {
  readonly family: Family;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array;
  /** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run compressed). */
  readonly text: string;
}

export interface IpPrefix {
  readonly family: Family;
  /** Network address: host bits are zero. */
  readonly network: IpAddress;
  readonly length: number;
  /** Canonical text: `addr/len`; a full-length prefix still carries its length. */
  readonly text: string;
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * A dotted quad, read by character codes (it is on the alert hot path: no regular expression, one
 * allocation). Four parts of 1-3 digits, each 0-255, no leading zeros: "010" is octal to some
 * parsers and decimal to others.
 */
function parseV4Bytes(text: string): Uint8Array | null {
  const n = text.length;
  if (n < 7 || n > 15) return null;
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 46; // a final '.' closes the last part
    if (c === 46) {
      if (digits === 0 || part > 3) return null;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return null;
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return null;
    } else {
      return null;
    }
  }
  return part === 4 ? out : null;
}

function parseV6Bytes(text: string): Uint8Array | null {
  if (text.length > 45 || text.length < 2) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (s: string, allowV4Tail: boolean): number[] | null => {
    if (s === '') return [];
    const groups = s.split(':');
    const out: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (allowV4Tail && i === groups.length - 1 && g.includes('.')) {
        const v4 = parseV4Bytes(g);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!HEX_GROUP.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0]!, false);
    const tail = parseGroups(halves[1]!, true);
    if (!head || !tail) return null;
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    const all = parseGroups(text, true);
    if (all?.length !== 8) return null;
    groups = all;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i]! >> 8;
    out[2 * i + 1] = groups[i]! & 0xff;
  }
  return out;
}

function formatV4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

function formatV6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  // Longest run of two or more zero groups; the first one on a tie (RFC 5952 4.2).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

function make(family: Family, bytes: Uint8Array): IpAddress {
  return { family, bytes, text: family === 4 ? formatV4(bytes) : formatV6(bytes) };
}

/**
 * Parses an IPv4 or IPv6 address. Refuses zone ids (`fe80::1%eth0`), brackets, leading zeros in
 * IPv4, and anything else that is not a plain address. Returns null when it is not one.
 */
export function parseIp(text: string): IpAddress | null {
  if (typeof text !== 'string' || text.length === 0 || text.length > 45) return null;
  if (text.includes(':')) {
    const b = parseV6Bytes(text);
    return b ? make(6, b) : null;
  }
  const b = parseV4Bytes(text);
  // A dotted quad that parses is already in canonical form: keep the caller's string.
  return b ? { family: 4, bytes: b, text } : null;
}

/** The canonical text of an address, or null when it does not parse. */
export function canonicalIp(text: string): string | null {
  return parseIp(text)?.text ?? null;
}

export function ipFromBytes(bytes: Uint8Array): IpAddress {
  if (bytes.length === 4) return make(4, Uint8Array.from(bytes));
  if (bytes.length === 16) return make(6, Uint8Array.from(bytes));
  throw new RangeError(`an address has 4 or 16 bytes, not ${bytes.length}`);
}

/** `::ffff:a.b.c.d` -> the IPv4 address; anything else -> null. */
export function unmapV4(addr: IpAddress): IpAddress | null {
  if (addr.family !== 6) return null;
  const b = addr.bytes;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return null;
  if (b[10] !== 0xff || b[11] !== 0xff) return null;
  return make(4, b.slice(12, 16));
}

function maskBytes(bytes: Uint8Array, length: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const bitsHere = Math.max(0, Math.min(8, length - i * 8));
    out[i] = out[i]! & ((0xff << (8 - bitsHere)) & 0xff);
  }
  return out;
}

export interface ParsePrefixOptions {
  /** Refuse `10.0.0.1/8` (host bits set) instead of masking it to `10.0.0.0/8`. Default true. */
  strict?: boolean;
}

/**
 * Parses `addr/len` or a bare address (taken as a full-length prefix).
 * Returns null when it does not parse, or when `strict` and host bits are set.
 */
export function parsePrefix(text: string, options: ParsePrefixOptions = {}): IpPrefix | null {
  if (typeof text !== 'string' || text.length > 49) return null;
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseIp(addrText);
  if (!addr) return null;
  const max = addr.family === 4 ? 32 : 128;
  let length = max;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(lenText)) return null;
    length = Number(lenText);
    if (length > max) return null;
  }
  const masked = maskBytes(addr.bytes, length);
  if ((options.strict ?? true) && !bytesEqual(masked, addr.bytes)) return null;
  return prefixOf(make(addr.family, masked), length);
}

function prefixOf(network: IpAddress, length: number): IpPrefix {
  return { family: network.family, network, length, text: `${network.text}/${length}` };
}

/** The prefix of the given length that holds `addr` (e.g. the /64 of an IPv6 address). */
export function prefixContaining(addr: IpAddress, length: number): IpPrefix {
  const max = addr.family === 4 ? 32 : 128;
  if (!Number.isInteger(length) || length < 0 || length > max) {
    throw new RangeError(`prefix length ${length} out of range for IPv${addr.family}`);
  }
  return prefixOf(make(addr.family, maskBytes(addr.bytes, length)), length);
}

export function isFullLength(p: IpPrefix): boolean {
  return p.length === (p.family === 4 ? 32 : 128);
}

/** How a prefix is written as a ban key and an nft element: the bare address when full length, `addr/len` otherwise. */
export function prefixKey(p: IpPrefix): string {
  return isFullLength(p) ? p.network.text : p.text;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function prefixContains(p: IpPrefix, addr: IpAddress): boolean {
  if (p.family !== addr.family) return false;
  return bytesEqual(maskBytes(addr.bytes, p.length), p.network.bytes);
}

/** True when `inner` lies wholly inside `outer`. */
export function prefixCovers(outer: IpPrefix, inner: IpPrefix): boolean {
  return outer.family === inner.family && outer.length <= inner.length && prefixContains(outer, inner.network);
}

export function compareIp(a: IpAddress, b: IpAddress): number {
  if (a.family !== b.family) return a.family - b.family;
  for (let i = 0; i < a.bytes.length; i++) {
    const d = a.bytes[i]! - b.bytes[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Sorts and removes prefixes covered by another one in the list, so that an nft interval set gets
 * a deterministic, non-overlapping element list. In O(n log n): sorted by network, then shortest
 * first, a prefix is covered by a kept one only if it is covered by the last kept one (kept
 * prefixes do not overlap, and any that starts before the last kept one also ends before it).
 */
export function normalizePrefixes(prefixes: readonly IpPrefix[]): IpPrefix[] {
  const sorted = [...prefixes].sort((a, b) => compareIp(a.network, b.network) || a.length - b.length);
  const out: IpPrefix[] = [];
  for (const p of sorted) {
    const last = out[out.length - 1];
    if (last && prefixCovers(last, p)) continue;
    out.push(p);
  }
  return out;
}

/** The kinds of address that are never an offender's (see specialAddressKind). */
export type SpecialAddressKind = 'unspecified' | 'loopback' | 'link-local' | 'multicast' | 'broadcast' | 'ipv4-mapped';

const SPECIAL_V4: Array<[string, SpecialAddressKind]> = [
  ['0.0.0.0/8', 'unspecified'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
];
const SPECIAL_V6: Array<[string, SpecialAddressKind]> = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
  ['::ffff:0:0/96', 'ipv4-mapped'],
];
const SPECIAL = [...SPECIAL_V4, ...SPECIAL_V6].map(([cidr, why]) => ({ prefix: parsePrefix(cidr)!, why }));

/**
 * Why an address may never be banned on technical grounds (loopback, link-local, multicast,
 * unspecified, broadcast, IPv4-mapped), or null when it is an ordinary unicast address.
 */
export function specialAddressKind(addr: IpAddress): SpecialAddressKind | null {
  for (const s of SPECIAL) if (prefixContains(s.prefix, addr)) return s.why;
  return null;
}
