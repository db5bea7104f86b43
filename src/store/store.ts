/**
 * The persistent store: one node:sqlite database (WAL) holding the bans and offender history,
 * the API's allowlist entries, unban grace periods, and (through ingestion's SourceBookmarks, on
 * the same connection) the file sources' bookmarks.
 *
 * One row per target (address or prefix) in `bans`: the present ban when `active = 1`, and in any
 * case the offender's history (offences, last offence) that escalation reads. Writes come in
 * batches inside one transaction.
 *
 * A write waits at most WRITE_BUSY_TIMEOUT_MS for a lock another process holds (the wait blocks
 * the event loop); a write that fails throws, and the ban ledger keeps its rows and retries them
 * (engine/store-writer.ts).
 */
import { existsSync } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { NftsentryError, ErrorCodes } from '../errors.ts';
import { type BanRow, SCHEMA_SQL } from './store-schema.ts';
import { type BanWrite, ROWS_PER_INSERT, type StoreBatch, upsertRows, upsertSql } from './ban-writes.ts';
import { BanQueries } from './ban-queries.ts';
import { checkStoreFile, createStoreFile } from './store-file.ts';
import { fileUnusable, sqliteFailure, storeGuard } from './sqlite-failure.ts';

export type { BanRow, BanWrite, StoreBatch };

/** Lock wait while opening (start-up, before any alert is read). */
const OPEN_BUSY_TIMEOUT_MS = 5000;
/** Lock wait of a write on the alert path: short; a write that finds the lock taken is retried later. */
export const WRITE_BUSY_TIMEOUT_MS = 20;

export class Store {
  readonly path: string;
  readonly db: DatabaseSync;
  private statements!: {
    upsert: StatementSync;
    upsertMany: StatementSync;
    deactivate: StatementSync;
    graceSet: StatementSync;
    allowAdd: StatementSync;
    allowDel: StatementSync;
  };
  private banQueries!: BanQueries;
  private readonly closing: (() => void)[] = [];

  /**
   * Opens (creating it 0600 when missing) and checks the file. Throws E_STORE_UNUSABLE when it is
   * damaged, not SQLite, or another schema (see store-opener.ts), E_STORE_FAILED otherwise.
   */
  constructor(path: string) {
    this.path = path;
    if (path !== ':memory:') checkStoreFile(path);
    try {
      if (path !== ':memory:') createStoreFile(path);
      this.db = new DatabaseSync(path);
    } catch (err) {
      throw new NftsentryError(ErrorCodes.STORE_FAILED, `cannot open store ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.setUp(OPEN_BUSY_TIMEOUT_MS);
  }

  /** The reads of bans (lists, lookups, counts) on this connection. */
  get queries(): BanQueries {
    return this.banQueries;
  }

  get isOpen(): boolean {
    return this.db.isOpen;
  }

  /**
   * Opens the file again: a connection SQLite opened read-only (the file was not writable then)
   * stays read-only until it is opened again. A file no longer there is not created anew (its rows
   * would be gone). Throws as the constructor does.
   */
  reopen(): void {
    if (this.path === ':memory:') return;
    if (this.db.isOpen) this.db.close();
    try {
      if (!existsSync(this.path)) throw new Error('the file is gone');
      this.db.open();
    } catch (err) {
      throw new NftsentryError(ErrorCodes.STORE_FAILED, `cannot open store ${this.path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    // On the alert path (a retry): no long wait for a lock here either.
    this.setUp(WRITE_BUSY_TIMEOUT_MS);
  }

  /** How long a write waits for another process's lock (ms). */
  setBusyTimeout(ms: number): void {
    this.db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(ms))}`);
  }

  /** Pragmas, tables, statements; `busyMs`: the lock wait while doing so. */
  private setUp(busyMs: number): void {
    try {
      this.setBusyTimeout(busyMs);
      // WAL; checkpoints run from the engine's timer (checkpoint()), not inside a commit on the
      // alert path, where one would stall the next decisions for several ms.
      this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;');
      this.db.exec(SCHEMA_SQL);
      this.statements = {
        upsert: this.db.prepare(upsertSql(1)),
        upsertMany: this.db.prepare(upsertSql(ROWS_PER_INSERT)),
        deactivate: this.db.prepare('UPDATE bans SET active = 0 WHERE target = ? AND active = 1'),
        graceSet: this.db.prepare(
          'INSERT INTO grace (target, until_ms) VALUES (?, ?) ON CONFLICT(target) DO UPDATE SET until_ms = excluded.until_ms',
        ),
        allowAdd: this.db.prepare(
          'INSERT INTO allow (prefix, note, added_ms) VALUES (?, ?, ?) ON CONFLICT(prefix) DO UPDATE SET note = excluded.note',
        ),
        allowDel: this.db.prepare('DELETE FROM allow WHERE prefix = ?'),
      };
      this.banQueries = new BanQueries(this.db);
      this.setBusyTimeout(WRITE_BUSY_TIMEOUT_MS);
    } catch (err) {
      this.db.close();
      const unusable = isUnusable(err);
      throw new NftsentryError(
        unusable ? ErrorCodes.STORE_UNUSABLE : ErrorCodes.STORE_FAILED,
        `cannot open store ${this.path}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /**
   * Runs `fn` inside one write transaction (all or nothing). `BEGIN IMMEDIATE` takes the write lock
   * first, so a lock held elsewhere fails at once (after the busy timeout) rather than mid-way.
   * SQLite may already have rolled back a transaction whose statement or COMMIT failed (disk
   * full): ROLLBACK runs only while one is open, so the error thrown is the one that happened.
   */
  transaction<T>(fn: () => T): T {
    return storeGuard('transaction', () => {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const out = fn();
        this.db.exec('COMMIT');
        return out;
      } catch (err) {
        try {
          if (this.db.isTransaction) this.db.exec('ROLLBACK');
        } catch {
          // The connection stays in the transaction; the next transaction() rolls it back first.
        }
        throw err;
      }
    });
  }

  /** Ban rows, deactivations and grace rows in one transaction, in that order. */
  write(batch: StoreBatch): void {
    const grace = batch.grace ?? [];
    if ((batch.rows?.length ?? 0) + (batch.deactivate?.length ?? 0) + grace.length === 0) return;
    this.transaction(() => {
      upsertRows(this.statements.upsert, this.statements.upsertMany, batch.rows ?? []);
      for (const t of batch.deactivate ?? []) this.statements.deactivate.run(t);
      for (const g of grace) this.statements.graceSet.run(g.target, g.untilMs);
    });
  }

  /**
   * Writes `rows` and rolls them back (the warm-up): the statements run and the pages they touch
   * are read, and no row stays. Does nothing inside another transaction.
   */
  rehearse(rows: readonly BanWrite[]): void {
    storeGuard('rehearse', () => {
      if (this.db.isTransaction || rows.length === 0) return;
      this.db.exec('BEGIN IMMEDIATE');
      try {
        upsertRows(this.statements.upsert, this.statements.upsertMany, rows);
      } finally {
        this.db.exec('ROLLBACK');
      }
    });
  }

  /** Records bans (new ones and refreshes) in one transaction, many rows per statement. */
  recordBans(rows: readonly BanWrite[]): void {
    this.write({ rows });
  }

  /** Marks bans as no longer active (unban, expiry); the history stays. */
  deactivate(targets: readonly string[]): void {
    this.write({ deactivate: targets });
  }

  /** Active bans whose expiry has passed (for the expiry sweep). */
  expiredActive(nowMs: number, limit = 100_000): string[] {
    const rows = storeGuard('expired', () =>
      this.db
        .prepare('SELECT target FROM bans WHERE active = 1 AND expires_ms IS NOT NULL AND expires_ms <= ? LIMIT ?')
        .all(nowMs, limit),
    ) as Array<{ target: string }>;
    return rows.map((r) => r.target);
  }

  /** Every row still relevant at start: active bans, and history not yet forgotten. */
  loadOffenders(sinceMs: number): BanRow[] {
    return storeGuard('load', () => {
      const stmt = this.db.prepare(
        'SELECT target, set_name, expires_ms, duration_sec, active, offences, last_offence_ms, source, reason FROM bans WHERE active = 1 OR last_offence_ms >= ?',
      );
      stmt.setReturnArrays(true);
      const rows = stmt.all(sinceMs) as unknown as Array<
        [string, string, number | null, number | null, number, number, number, string, string]
      >;
      return rows.map(
        ([target, set_name, expires_ms, duration_sec, active, offences, last_offence_ms, source, reason]) => ({
          target,
          set_name,
          expires_ms,
          duration_sec,
          active,
          offences,
          last_offence_ms,
          source,
          reason,
        }),
      );
    });
  }

  setGrace(target: string, untilMs: number): void {
    this.write({ grace: [{ target, untilMs }] });
  }

  /** Grace periods not yet over; the ones over are deleted when the file can be written. */
  loadGrace(nowMs: number): Array<{ target: string; until_ms: number }> {
    try {
      this.db.prepare('DELETE FROM grace WHERE until_ms <= ?').run(nowMs);
    } catch {
      // Clean-up only (read-only file, lock held): the rows are skipped below.
    }
    return storeGuard('grace', () =>
      this.db.prepare('SELECT target, until_ms FROM grace WHERE until_ms > ?').all(nowMs),
    ) as Array<{ target: string; until_ms: number }>;
  }

  addAllow(prefix: string, note: string, addedMs: number): void {
    storeGuard('allow', () => this.statements.allowAdd.run(prefix, note, addedMs));
  }

  removeAllow(prefix: string): boolean {
    return Number(storeGuard('allow', () => this.statements.allowDel.run(prefix)).changes) > 0;
  }

  listAllow(): Array<{ prefix: string; note: string; added_ms: number }> {
    return storeGuard('allow', () =>
      this.db.prepare('SELECT prefix, note, added_ms FROM allow ORDER BY prefix').all(),
    ) as Array<{
      prefix: string;
      note: string;
      added_ms: number;
    }>;
  }

  /** Moves the WAL into the database (PASSIVE: never waits for readers). Called by a timer. */
  checkpoint(): void {
    storeGuard('checkpoint', () => this.db.exec('PRAGMA wal_checkpoint(PASSIVE)'));
  }

  /** Runs `fn` once, just before the connection closes: another writer's last batch (the journal). */
  beforeClose(fn: () => void): void {
    this.closing.push(fn);
  }

  close(): void {
    for (const fn of this.closing.splice(0)) {
      try {
        if (this.db.isOpen) fn();
      } catch {
        // the writer counts and logs its own failures
      }
    }
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
}

function isUnusable(err: unknown): boolean {
  return (err instanceof NftsentryError && err.code === ErrorCodes.STORE_UNUSABLE) || fileUnusable(sqliteFailure(err));
}
