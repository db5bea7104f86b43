/**
 * What a request may carry, in zod: addresses parsed and re-printed canonically, durations in
 * whole seconds, free text restricted to a small safe alphabet. Foreign input: plain objects
 * (unknown keys ignored), nothing trimmed or repaired (a newline is an error, not whitespace).
 */
import { z } from 'zod';
import { parsePrefix, prefixCovers, specialAddressKind, type IpPrefix } from '../net/ip.ts';
import { parseDurationSec, MAX_DURATION_SEC } from '../config/duration.ts';
import { NftsentryError, ErrorCodes } from '../errors.ts';
import type { BanSource } from '../engine/operations.ts';

export const BAN_SOURCES: readonly BanSource[] = ['suricata', 'snort', 'kernel:scan', 'manual'];
const MAPPED = parsePrefix('::ffff:0:0/96')!;
const SPECIAL_NETS = [
  '::ffff:0:0/96',
  '0.0.0.0/8',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '224.0.0.0/4',
  '255.255.255.255/32',
  '::/128',
  '::1/128',
  'fe80::/10',
  'ff00::/8',
].map((t) => parsePrefix(t)!);
/** Shortest prefixes a ban may take (a /0 would cut off the world). */
export const MIN_BAN_PREFIX = { 4: 8, 6: 16 } as const;

/** Shortest prefixes the allowlist takes without `"force": true` (api.allowlist_min_prefix). */
export interface AllowlistMinPrefix {
  ipv4: number;
  ipv6: number;
}

/** A small alphabet: no quotes, backslash, braces, semicolon, `$`, backtick, `<>`, `|&`, control characters. */
const SAFE_TEXT = /^[A-Za-z0-9 _.,:/()#@+=-]*$/;
const SAFE_TEXT_HINT = 'letters, digits, spaces and _ . , : / ( ) # @ + = -';

function fail(
  code: typeof ErrorCodes.ADDRESS_INVALID | typeof ErrorCodes.DURATION_INVALID | typeof ErrorCodes.BAD_REQUEST,
  message: string,
): never {
  throw new NftsentryError(code, message);
}

function shown(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
}

/**
 * An address or CIDR from a request: strict (host bits clear), canonical, no zone id, no
 * IPv4-mapped IPv6 (a prefix inside ::ffff:0:0/96; a wider one that covers it is only wide).
 * Throws E_ADDRESS_INVALID with a message a person can act on.
 */
export function parseRequestAddress(raw: unknown, what = 'address'): IpPrefix {
  if (typeof raw !== 'string') fail(ErrorCodes.ADDRESS_INVALID, `${what} must be a string`);
  if (raw.length === 0 || raw.length > 49)
    fail(ErrorCodes.ADDRESS_INVALID, `${what} ${shown(raw)} is not an IPv4 or IPv6 address or CIDR`);
  if (raw.includes('%')) fail(ErrorCodes.ADDRESS_INVALID, `${what} ${shown(raw)}: zone ids are not accepted`);
  const p = parsePrefix(raw);
  if (!p) {
    const loose = parsePrefix(raw, { strict: false });
    fail(
      ErrorCodes.ADDRESS_INVALID,
      loose
        ? `${what} ${shown(raw)} has host bits set; did you mean "${loose.text}"?`
        : `${what} ${shown(raw)} is not an IPv4 or IPv6 address or CIDR`,
    );
  }
  if (p.family === 6 && prefixCovers(MAPPED, p)) {
    fail(ErrorCodes.ADDRESS_INVALID, `${what} ${shown(raw)} is IPv4-mapped IPv6; use the IPv4 address`);
  }
  return p;
}

const family = (p: IpPrefix) => `IPv${p.family}`;

/** A /0 is every address of its family: never a ban, never an allowlist entry. */
function refuseEverything(p: IpPrefix, what: string): void {
  if (p.length === 0)
    fail(
      ErrorCodes.ADDRESS_INVALID,
      `${p.text} is too wide: it is every ${family(p)} address, never accepted as ${what}`,
    );
}

/**
 * An address a ban may take: not too wide, not special. POST, GET and DELETE of /v1/bans all
 * read their address with this, so the same bad address gets the same answer from each.
 */
export function parseBanAddress(raw: unknown): IpPrefix {
  const p = parseRequestAddress(raw);
  refuseEverything(p, 'a ban');
  if (p.length < MIN_BAN_PREFIX[p.family]) {
    fail(
      ErrorCodes.ADDRESS_INVALID,
      `${p.text} is too wide: a ban prefix is at least /${MIN_BAN_PREFIX[p.family]} for ${family(p)}`,
    );
  }
  const kind = specialAddressKind(p.network);
  const covered = SPECIAL_NETS.find((s) => prefixCovers(p, s));
  if (kind || covered)
    fail(
      ErrorCodes.ADDRESS_INVALID,
      `${p.text} is ${kind ?? `wider than the special range ${covered!.text}`}: it is never banned`,
    );
  return p;
}

/**
 * An allowlist entry's address as DELETE reads it: any address or prefix but a /0 (which POST
 * never takes either). Entries wider than the minimum may exist (forced, or from the config).
 */
export function parseAllowAddress(raw: unknown): IpPrefix {
  const p = parseRequestAddress(raw);
  refuseEverything(p, 'an allowlist entry');
  return p;
}

/**
 * A new allowlist entry (POST): parseAllowAddress, and no wider than `min` unless `force`: one
 * typo (`10.0.0.0/1`) would otherwise turn most bans off.
 */
export function parseNewAllowAddress(raw: unknown, min: AllowlistMinPrefix, force: boolean): IpPrefix {
  const p = parseAllowAddress(raw);
  const least = p.family === 4 ? min.ipv4 : min.ipv6;
  if (p.length < least && !force) {
    throw new NftsentryError(
      ErrorCodes.ADDRESS_INVALID,
      `${p.text} is too wide for the allowlist: entries are at least /${least} for ${family(p)} (api.allowlist_min_prefix); send "force": true to add it anyway`,
      { details: { prefix: p.text, minPrefix: least } },
    );
  }
  return p;
}

/** A yes/no field of a body: absent is false; anything but true or false is refused. */
export function parseRequestFlag(raw: unknown, what: string): boolean {
  if (raw === undefined) return false;
  if (typeof raw !== 'boolean') fail(ErrorCodes.BAD_REQUEST, `${what} must be true or false`);
  return raw;
}

/** `"1h"`, `"90m"`, `3600`, or `"permanent"` (null). Refuses whitespace, signs, fractions, > 10 years. */
export function parseRequestDuration(raw: unknown, fallbackSec: number): number | null {
  if (raw === undefined) return fallbackSec;
  if (raw === 'permanent') return null;
  if (typeof raw === 'string' && !/^[0-9a-z]{1,32}$/.test(raw))
    fail(ErrorCodes.DURATION_INVALID, `duration ${shown(raw)} is not a duration like "1h" or 3600`);
  const sec = parseDurationSec(raw);
  if (sec === null) {
    fail(
      ErrorCodes.DURATION_INVALID,
      `duration ${shown(String(raw))} is not a duration like "1h" or 3600 seconds (1 s to ${MAX_DURATION_SEC / 86_400 / 365} years), or "permanent"`,
    );
  }
  return sec;
}

/** Free text (a reason, a note): 0-200 characters of a safe alphabet. */
export function parseRequestText(raw: unknown, what: string, fallback: string): string {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string') fail(ErrorCodes.BAD_REQUEST, `${what} must be a string`);
  if (raw.length > 200) fail(ErrorCodes.BAD_REQUEST, `${what} is longer than 200 characters`);
  if (!SAFE_TEXT.test(raw)) fail(ErrorCodes.BAD_REQUEST, `${what} may only hold ${SAFE_TEXT_HINT}`);
  return raw.length === 0 ? fallback : raw;
}

/**
 * A body must be a JSON object; its known fields are then checked one by one. The copy holds own
 * properties only, on a null prototype: a `"__proto__"` key is a plain key, never a prototype.
 */
export function parseBody(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    fail(ErrorCodes.BAD_REQUEST, 'the body must be a JSON object');
  return Object.assign(Object.create(null) as Record<string, unknown>, Object.fromEntries(Object.entries(body)));
}

const intText = (max: number) =>
  z
    .string()
    .regex(/^(0|[1-9]\d{0,9})$/, 'a whole number')
    .transform(Number)
    .pipe(z.number().max(max));

export function banListQuery(maxPage: number) {
  return z.object({
    source: z
      .union([
        z.enum(BAN_SOURCES as [BanSource, ...BanSource[]]),
        z.literal('fleet'),
        z.custom<`fleet:${string}`>((v) => typeof v === 'string' && /^fleet:[A-Za-z0-9_.-]{1,64}$/.test(v)),
      ])
      .optional(),
    reason: z.string().max(200).regex(SAFE_TEXT).optional(),
    /** The start of an address as it is printed: digits, hex, dots, colons, a slash. */
    search: z
      .string()
      .max(49)
      .transform((v) => v.trim().toLowerCase())
      .pipe(z.string().regex(/^[0-9a-f.:/]*$/, 'search: the start of an address (hex digits . : /)'))
      .optional(),
    sort: z.enum(['last_seen', 'expires', 'offences', 'address']).optional(),
    order: z.enum(['asc', 'desc']).optional(),
    limit: intText(maxPage).pipe(z.number().min(1)).default(Math.min(100, maxPage)),
    offset: intText(1_000_000_000).default(0),
    /** `1`: each item also carries what its element dropped (packets, bytes), for pages up to 200. */
    hits: z.enum(['0', '1']).optional(),
  });
}

/** safeParse for query strings: 400 with the first problem, named by key. */
export function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.output<T> {
  const r = schema.safeParse(query ?? {});
  if (!r.success) {
    const i = r.error.issues[0]!;
    fail(ErrorCodes.BAD_REQUEST, `query ${i.path.join('.') || '(all)'}: ${i.message}`);
  }
  return r.data;
}
