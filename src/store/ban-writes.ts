/**
 * The rows of `bans` as the engine writes them: one upsert statement for many rows (a row's
 * first_seen_ms stays as first written, hits adds up), and a write transaction's contents.
 */
import type { StatementSync } from 'node:sqlite';
import type { BanSource } from '../engine/operations.ts';

export const ROWS_PER_INSERT = 64;
const COLUMNS =
  '(target, family, set_name, source, reason, sid, signature, first_seen_ms, last_seen_ms, expires_ms, duration_sec, active, offences, hits, last_offence_ms)';

/** One upsert of `n` rows. A row's first_seen_ms stays as first written; hits counts its bans. */
export function upsertSql(n: number): string {
  const row = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)';
  return `INSERT INTO bans ${COLUMNS} VALUES ${Array.from({ length: n }, () => row).join(', ')}
    ON CONFLICT(target) DO UPDATE SET set_name = excluded.set_name, source = excluded.source,
      reason = excluded.reason, sid = excluded.sid, signature = excluded.signature,
      last_seen_ms = excluded.last_seen_ms, expires_ms = excluded.expires_ms,
      duration_sec = excluded.duration_sec, active = 1, offences = excluded.offences,
      hits = bans.hits + excluded.hits, last_offence_ms = excluded.last_offence_ms`;
}

function pushRow(args: Array<string | number | null>, r: BanWrite): void {
  args.push(
    r.target,
    r.family,
    r.set,
    r.source,
    r.reason,
    r.sid,
    r.signature,
    r.firstSeenMs ?? r.nowMs,
    r.nowMs,
    r.expiresMs,
    r.durationSec,
    r.offences,
    r.hits ?? 1,
    r.nowMs,
  );
}

/** Upserts `rows` in order: ROWS_PER_INSERT per statement (`many`), the rest one by one (`one`). */
export function upsertRows(one: StatementSync, many: StatementSync, rows: readonly BanWrite[]): void {
  let i = 0;
  const args: Array<string | number | null> = [];
  for (; i + ROWS_PER_INSERT <= rows.length; i += ROWS_PER_INSERT) {
    args.length = 0;
    for (let j = i; j < i + ROWS_PER_INSERT; j++) pushRow(args, rows[j]!);
    many.run(...args);
  }
  for (; i < rows.length; i++) {
    args.length = 0;
    pushRow(args, rows[i]!);
    one.run(...args);
  }
}

/** What one write transaction holds (Store.write). */
export interface StoreBatch {
  rows?: readonly BanWrite[];
  deactivate?: readonly string[];
  grace?: ReadonlyArray<{ target: string; untilMs: number }>;
}

export interface BanWrite {
  target: string;
  family: 4 | 6;
  set: string;
  source: BanSource;
  reason: string;
  sid: number | null;
  signature: string | null;
  nowMs: number;
  expiresMs: number | null;
  durationSec: number | null;
  offences: number;
  /** Bans this row stands for (rows of one target merged while the store could not be written); default 1. */
  hits?: number;
  /** When the first of those was written (a new row's first_seen_ms); default nowMs. */
  firstSeenMs?: number;
}
