/**
 * The persistent store: one node:sqlite database (WAL) holding the bans and offender history,
 * the API's allowlist entries, unban grace periods, and (through ingestion's SourceBookmarks, on
 * the same connection) the file sources' bookmarks.
 *
 * One row per target (address or prefix) in `bans`: the present ban when `active = 1`, and in any
 * case the offender's history (offences, last offence) that escalation reads. Writes come in
 * batches inside one transaction.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { NftsentryError, ErrorCodes } from '../errors.ts';
import type { BanSource } from '../engine/operations.ts';
import { SCHEMA_SQL, type BanRow } from './store-schema.ts';
import { BanQueries } from './ban-queries.ts';

export type { BanRow } from './store-schema.ts';

const ROWS_PER_INSERT = 64;
const COLUMNS =
  '(target, family, set_name, source, reason, sid, signature, first_seen_ms, last_seen_ms, expires_ms, duration_sec, active, offences, hits, last_offence_ms)';

/** One upsert of `n` rows. A row's first_seen_ms stays as first written; hits counts its bans. */
function upsertSql(n: number): string {
  const row = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, 1, ?)';
  return `INSERT INTO bans ${COLUMNS} VALUES ${Array.from({ length: n }, () => row).join(', ')}
    ON CONFLICT(target) DO UPDATE SET set_name = excluded.set_name, source = excluded.source,
      reason = excluded.reason, sid = excluded.sid, signature = excluded.signature,
      last_seen_ms = excluded.last_seen_ms, expires_ms = excluded.expires_ms,
      duration_sec = excluded.duration_sec, active = 1, offences = excluded.offences,
      hits = bans.hits + 1, last_offence_ms = excluded.last_offence_ms`;
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
    r.nowMs,
    r.nowMs,
    r.expiresMs,
    r.durationSec,
    r.offences,
    r.nowMs,
  );
}

export class Store {
  readonly db: DatabaseSync;
  /** The reads of bans (lists, lookups, counts) on this connection. */
  readonly queries: BanQueries;
  private readonly upsertStmt: StatementSync;
  private readonly upsertManyStmt: StatementSync;
  private readonly deactivateStmt: StatementSync;
  private readonly graceSetStmt: StatementSync;
  private readonly allowAddStmt: StatementSync;
  private readonly allowDelStmt: StatementSync;

  constructor(path: string) {
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
      this.db = new DatabaseSync(path);
      // WAL; checkpoints run from the engine's timer (checkpoint()), not inside a commit on the
      // alert path, where one would stall the next decisions for several ms.
      this.db.exec(
        'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA wal_autocheckpoint = 0;',
      );
      this.db.exec(SCHEMA_SQL);
      this.upsertStmt = this.db.prepare(upsertSql(1));
      this.upsertManyStmt = this.db.prepare(upsertSql(ROWS_PER_INSERT));
      this.deactivateStmt = this.db.prepare('UPDATE bans SET active = 0 WHERE target = ? AND active = 1');
      this.graceSetStmt = this.db.prepare(
        'INSERT INTO grace (target, until_ms) VALUES (?, ?) ON CONFLICT(target) DO UPDATE SET until_ms = excluded.until_ms',
      );
      this.allowAddStmt = this.db.prepare(
        'INSERT INTO allow (prefix, note, added_ms) VALUES (?, ?, ?) ON CONFLICT(prefix) DO UPDATE SET note = excluded.note',
      );
      this.allowDelStmt = this.db.prepare('DELETE FROM allow WHERE prefix = ?');
      this.queries = new BanQueries(this.db);
    } catch (err) {
      throw new NftsentryError(ErrorCodes.STORE_FAILED, `cannot open store ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Runs `fn` inside one transaction (all or nothing). */
  transaction<T>(fn: () => T): T {
    return this.guard('transaction', () => {
      this.db.exec('BEGIN');
      try {
        const out = fn();
        this.db.exec('COMMIT');
        return out;
      } catch (err) {
        this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  /** Records bans (new ones and refreshes) in one transaction, many rows per statement. */
  recordBans(rows: readonly BanWrite[]): void {
    if (rows.length === 0) return;
    this.transaction(() => {
      let i = 0;
      const args: Array<string | number | null> = [];
      for (; i + ROWS_PER_INSERT <= rows.length; i += ROWS_PER_INSERT) {
        args.length = 0;
        for (let j = i; j < i + ROWS_PER_INSERT; j++) pushRow(args, rows[j]!);
        this.upsertManyStmt.run(...args);
      }
      for (; i < rows.length; i++) {
        args.length = 0;
        pushRow(args, rows[i]!);
        this.upsertStmt.run(...args);
      }
    });
  }

  /** Marks bans as no longer active (unban, expiry); the history stays. */
  deactivate(targets: readonly string[]): void {
    if (targets.length === 0) return;
    this.transaction(() => {
      for (const t of targets) this.deactivateStmt.run(t);
    });
  }

  /** Active bans whose expiry has passed (for the expiry sweep). */
  expiredActive(nowMs: number, limit = 100_000): string[] {
    const rows = this.guard('expired', () =>
      this.db
        .prepare('SELECT target FROM bans WHERE active = 1 AND expires_ms IS NOT NULL AND expires_ms <= ? LIMIT ?')
        .all(nowMs, limit),
    ) as Array<{ target: string }>;
    return rows.map((r) => r.target);
  }

  /** Every row still relevant at start: active bans, and history not yet forgotten. */
  loadOffenders(sinceMs: number): BanRow[] {
    return this.guard('load', () => {
      const stmt = this.db.prepare(
        'SELECT target, set_name, expires_ms, duration_sec, active, offences, last_offence_ms FROM bans WHERE active = 1 OR last_offence_ms >= ?',
      );
      stmt.setReturnArrays(true);
      const rows = stmt.all(sinceMs) as unknown as Array<
        [string, string, number | null, number | null, number, number, number]
      >;
      return rows.map(([target, set_name, expires_ms, duration_sec, active, offences, last_offence_ms]) => ({
        target,
        set_name,
        expires_ms,
        duration_sec,
        active,
        offences,
        last_offence_ms,
      }));
    });
  }

  setGrace(target: string, untilMs: number): void {
    this.guard('grace', () => this.graceSetStmt.run(target, untilMs));
  }

  loadGrace(nowMs: number): Array<{ target: string; until_ms: number }> {
    return this.guard('grace', () => {
      this.db.prepare('DELETE FROM grace WHERE until_ms <= ?').run(nowMs);
      return this.db.prepare('SELECT target, until_ms FROM grace').all();
    }) as Array<{ target: string; until_ms: number }>;
  }

  addAllow(prefix: string, note: string, addedMs: number): void {
    this.guard('allow', () => this.allowAddStmt.run(prefix, note, addedMs));
  }

  removeAllow(prefix: string): boolean {
    return Number(this.guard('allow', () => this.allowDelStmt.run(prefix)).changes) > 0;
  }

  listAllow(): Array<{ prefix: string; note: string; added_ms: number }> {
    return this.guard('allow', () =>
      this.db.prepare('SELECT prefix, note, added_ms FROM allow ORDER BY prefix').all(),
    ) as Array<{
      prefix: string;
      note: string;
      added_ms: number;
    }>;
  }

  /** Moves the WAL into the database (PASSIVE: never waits for readers). Called by a timer. */
  checkpoint(): void {
    this.guard('checkpoint', () => this.db.exec('PRAGMA wal_checkpoint(PASSIVE)'));
  }

  close(): void {
    try {
      this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    } catch {
      // closed already, or busy: the next open checkpoints
    }
    try {
      this.db.close();
    } catch {
      // already closed
    }
  }

  private guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof NftsentryError) throw err;
      throw new NftsentryError(ErrorCodes.STORE_FAILED, `store (${what}): ${(err as Error).message}`, { cause: err });
    }
  }
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
}
