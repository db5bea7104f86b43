/**
 * The fleet's events as they are in Redis, and their validation. Pure: no IO.
 *
 * A stream entry is a flat list of fields (all strings). Everything read back from Redis is
 * hostile input: each field is checked with zod, the target is parsed and printed again in
 * canonical form, free text is cut to printable ASCII, and an entry that fails is a value
 * (`{ ok: false, why }`), counted and logged by the caller, never thrown.
 */
import { z } from 'zod';
import { parsePrefix } from '../net/ip.ts';
import { type BanTarget, banTargetOf } from '../engine/ban-target.ts';
import { fleetNameSchema } from './fleet-schema.ts';

/** The sources a node publishes: never `fleet:*` (a ban taken from the fleet is not sent again). */
export const PUBLISHED_SOURCES = ['suricata', 'snort', 'kernel:scan', 'manual'] as const;
export type PublishedSource = (typeof PUBLISHED_SOURCES)[number];

/** A ban or a fleet-wide unban, as one node publishes it. */
export interface FleetEvent {
  /** Unique per event (node, boot, sequence): applying an event twice is a no-op. */
  eid: string;
  node: string;
  type: 'ban' | 'unban';
  /** Canonical ban target (address or prefix). */
  target: string;
  /** Absolute expiry on Redis's clock (ms); null: permanent (or an unban). */
  expiresMs: number | null;
  /**
   * When the node decided it, on Redis's clock (ms): a fleet unban (tombstone) wins over every ban
   * decided at or before it. null: written by a version without it (older than any tombstone).
   */
  atMs: number | null;
  source: PublishedSource;
  reason: string;
}

/** The Redis keys of one fleet. `{...}` is not used: a fleet lives on one Redis (or a Sentinel group). */
export function fleetKeys(fleet: string) {
  const base = `nftsentry:${fleet}`;
  return {
    stream: `${base}:events`,
    /** Set once by the first node; another value (or none) means Redis lost its data. */
    epoch: `${base}:epoch`,
    banPrefix: `${base}:ban:`,
    /** A node's ban of a target, with its expiry (PXAT): what a node that was away rebuilds from. */
    ban: (node: string, target: string) => `${base}:ban:${node}:${target}`,
    /**
     * A fleet-wide unban of a target (a tombstone), kept until the longest ban it lifted would have
     * ended (at least max_duration): a missing per-ban key may only be lost, a tombstone is an unban.
     */
    unbanPrefix: `${base}:unban:`,
    /** The per-ban keys and the tombstones, in one SCAN. */
    allBansAndUnbans: `${base}:*ban:*`,
    /** Every node's key of one target (SCAN MATCH; node names have no `:` and no glob character). */
    banPattern: (target: string) => `${base}:ban:*:${target}`,
    allBans: `${base}:ban:*`,
  };
}

/** Printable ASCII only, at most 128 characters: what a reason from another node may be. */
export function cleanText(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 128);
}

const digits = z.string().regex(/^\d{1,16}$/);

const entrySchema = z.object({
  v: z.literal('1'),
  eid: z.string().regex(/^[A-Za-z0-9_.:-]{1,160}$/),
  node: fleetNameSchema,
  type: z.enum(['ban', 'unban']),
  target: z.string().min(2).max(49),
  exp: z.union([digits, z.literal('')]),
  at: digits.optional(),
  source: z.enum(PUBLISHED_SOURCES),
  reason: z.string().max(4096),
});

export type ParsedEvent = { ok: true; event: FleetEvent; target: BanTarget } | { ok: false; why: string };

/** Stream entry fields (RESP2: a flat array, or an object) -> a checked event. */
export function parseFleetEntry(fields: unknown): ParsedEvent {
  const obj = fieldObject(fields);
  if (!obj) return { ok: false, why: 'not a field list' };
  const r = entrySchema.safeParse(obj);
  if (!r.success) return { ok: false, why: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  const e = r.data;
  const prefix = parsePrefix(e.target);
  if (!prefix) return { ok: false, why: 'target: not an address or prefix' };
  const target = banTargetOf(prefix);
  const expiresMs = e.exp === '' ? null : Number(e.exp);
  if (expiresMs !== null && !Number.isSafeInteger(expiresMs)) return { ok: false, why: 'exp' };
  if (e.at !== undefined && !Number.isSafeInteger(Number(e.at))) return { ok: false, why: 'at' };
  return {
    ok: true,
    target,
    event: {
      eid: e.eid,
      node: e.node,
      type: e.type,
      target: target.text,
      expiresMs,
      atMs: e.at === undefined ? null : Number(e.at),
      source: e.source,
      reason: cleanText(e.reason),
    },
  };
}

/** A per-ban key's value (JSON written by the publish script) -> the same checked event, or why not. */
export function parseFleetBanValue(text: unknown): ParsedEvent {
  return parseKeyValue(text, 'ban');
}

/** A tombstone's value (an unban; its `exp` is the tombstone's own expiry) -> a checked event. */
export function parseFleetTombstone(text: unknown): ParsedEvent {
  return parseKeyValue(text, 'unban');
}

function parseKeyValue(text: unknown, type: 'ban' | 'unban'): ParsedEvent {
  if (typeof text !== 'string' || text.length > 8192) return { ok: false, why: 'not a short string' };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, why: 'not JSON' };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, why: 'not an object' };
  return parseFleetEntry({ ...(raw as Record<string, unknown>), v: '1', type });
}

/** The stream entry's fields of an event (the Lua script fills in `exp` from Redis's clock). */
export function fleetEntryFields(e: Omit<FleetEvent, 'expiresMs' | 'atMs'>): Record<string, string> {
  return { v: '1', eid: e.eid, node: e.node, type: e.type, target: e.target, source: e.source, reason: e.reason };
}

function fieldObject(fields: unknown): Record<string, unknown> | null {
  if (Array.isArray(fields)) {
    if (fields.length % 2 !== 0 || fields.length > 64) return null;
    const o: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i += 2) {
      const k = fields[i];
      if (typeof k !== 'string') return null;
      o[k] = typeof fields[i + 1] === 'string' ? fields[i + 1] : String(fields[i + 1]);
    }
    return o;
  }
  if (fields && typeof fields === 'object') return fields as Record<string, unknown>;
  return null;
}
