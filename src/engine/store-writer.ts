/**
 * The ban ledger's writes to the store, kept until they land. A write that fails (disk full, I/O
 * error, read-only file, a lock another process holds) keeps its rows in PendingRows, and the
 * store is degraded: later writes join the pending rows, and all of them go in one transaction at
 * the next write or retry tick once the backoff delay is over (FIRST_RETRY_MS, doubling up to
 * MAX_RETRY_MS). A connection SQLite opened read-only (the file was not writable then) is opened
 * again before a retry. Once a write lands the store holds what it would have held without the fault.
 *
 * The first failure of a fault is logged at error level with SQLite's code and message; further
 * failures at most every LOG_EVERY_MS, with their count. A failure caused by the rows themselves
 * (a constraint, a type) is logged and those rows are dropped: writing them again fails again.
 */
import type { Clock } from '../clock.ts';
import { type Logger, RateLimitedLog } from '../log.ts';
import { causedByData, type SqliteFailure, sqliteFailure } from '../store/sqlite-failure.ts';
import { banViewOf } from '../store/ban-queries.ts';
import type { BanView } from './operations.ts';
import type { BanWrite, Store, StoreBatch } from '../store/store.ts';
import { PendingRows } from './pending-rows.ts';

/** How often the daemon looks at pending rows (each retry still waits for its own backoff delay). */
export const STORE_RETRY_TICK_MS = 250;
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5000;
const LOG_EVERY_MS = 60_000;
/** At stop the event loop has nothing else to do: the last attempt may wait this long for a lock. */
const STOP_BUSY_TIMEOUT_MS = 3000;

export interface StoreError {
  /** SQLite's result code name (`SQLITE_FULL`, `SQLITE_BUSY`, ...). */
  code: string;
  message: string;
  atMs: number;
}

export interface StoreHealth {
  /** True while writes are waiting for the store (pendingRows > 0). */
  degraded: boolean;
  /** Targets whose rows or deactivations wait, plus grace rows that wait. */
  pendingRows: number;
  /** Failed writes since start, by code. */
  errors: Record<string, number>;
  lastError: StoreError | null;
}

const rowCount = (b: StoreBatch) => (b.rows?.length ?? 0) + (b.deactivate?.length ?? 0) + (b.grace?.length ?? 0);

export class StoreWriter {
  private readonly store: Store;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly pending = new PendingRows();
  private readonly errors: Record<string, number> = {};
  private lastError: StoreError | null = null;
  /** The failure of the fault under way; null while the store is written normally. */
  private fault: SqliteFailure | null = null;
  private faultSinceMs = 0;
  private faultLogged = false;
  private delayMs = FIRST_RETRY_MS;
  private nextAttemptMs = 0;
  private readonly logLimit = new RateLimitedLog(1, LOG_EVERY_MS);

  constructor(store: Store, log: Logger, clock: Clock) {
    this.store = store;
    this.log = log;
    this.clock = clock;
  }

  /** Writes `batch` now, or, while degraded, queues it behind the pending rows. */
  write(batch: StoreBatch): void {
    if (rowCount(batch) === 0) return;
    if (this.pending.size === 0) {
      try {
        this.store.write(batch);
      } catch (err) {
        this.failed(err, batch);
      }
      return;
    }
    this.pending.add(batch);
    this.retry();
  }

  /** Writes the pending rows if their retry is due (the retry timer, and every write). */
  retry(): void {
    if (this.pending.size > 0 && this.clock() >= this.nextAttemptMs) this.attempt();
  }

  /** A WAL checkpoint; a failure is counted and logged (rows are not lost by it). */
  checkpoint(): void {
    try {
      this.store.checkpoint();
    } catch (err) {
      const f = this.count(err);
      this.logLimited((unlogged) =>
        this.log.warn({ code: f.code, err: f.message, unlogged }, 'store checkpoint failed'),
      );
    }
  }

  /** The last attempt, at stop: may wait for a lock; what still fails is logged as lost. */
  finish(): void {
    if (this.pending.size === 0) return;
    try {
      if (this.store.isOpen) this.store.setBusyTimeout(STOP_BUSY_TIMEOUT_MS);
    } catch {
      // the attempt below reports the store's state
    }
    this.attempt();
    if (this.pending.size === 0) return;
    this.log.error(
      { pendingRows: this.pending.size, code: this.fault?.code, err: this.fault?.message },
      'store still cannot be written at stop: its pending rows are lost; the next start adopts the bans the kernel holds, and a ban lifted during the fault may come back',
    );
  }

  /** The row waiting for `target`, if any (an operator ban's view while the store is degraded). */
  pendingRow(target: string): { row: BanWrite; active: boolean } | undefined {
    return this.pending.row(target);
  }

  health(): StoreHealth {
    return {
      degraded: this.pending.size > 0,
      pendingRows: this.pending.size,
      errors: { ...this.errors },
      lastError: this.lastError,
    };
  }

  private attempt(): void {
    const rows = this.pending.size;
    try {
      // A read-only connection stays read-only; a closed one (a failed reopen) stays closed.
      if (!this.store.isOpen || this.fault?.code === 'SQLITE_READONLY') this.store.reopen();
      this.store.write(this.pending.batch());
    } catch (err) {
      this.failed(err, null);
      return;
    }
    this.pending.clear();
    if (this.faultLogged) {
      this.log.warn(
        { rows, degradedMs: this.clock() - this.faultSinceMs },
        'store written again: the rows kept during the fault are in',
      );
    }
    this.fault = null;
    this.faultLogged = false;
    this.delayMs = FIRST_RETRY_MS;
    this.nextAttemptMs = 0;
  }

  /** `batch`: the write that failed (null: the pending rows' retry). */
  private failed(err: unknown, batch: StoreBatch | null): void {
    const f = this.count(err);
    if (causedByData(f)) {
      const dropped = batch ? rowCount(batch) : this.pending.size;
      if (!batch) this.pending.clear();
      this.logLimited((unlogged) =>
        this.log.error(
          { code: f.code, errcode: f.errcode, err: f.message, dropped, unlogged },
          'store refused rows; not kept',
        ),
      );
      return;
    }
    if (batch) this.pending.add(batch);
    const nowMs = this.clock();
    if (this.fault === null) {
      this.faultSinceMs = nowMs;
      this.delayMs = FIRST_RETRY_MS;
    } else {
      this.delayMs = Math.min(this.delayMs * 2, MAX_RETRY_MS);
    }
    this.fault = f;
    this.nextAttemptMs = nowMs + this.delayMs;
    this.logLimited((unlogged) => {
      this.faultLogged = true;
      this.log.error(
        {
          code: f.code,
          errcode: f.errcode,
          err: f.message,
          pendingRows: this.pending.size,
          retryInMs: this.delayMs,
          unlogged,
        },
        'store write failed: rows kept in memory and retried; the bans are in the kernel',
      );
    });
  }

  private count(err: unknown): SqliteFailure {
    const f = sqliteFailure(err);
    this.errors[f.code] = (this.errors[f.code] ?? 0) + 1;
    this.lastError = { code: f.code, message: f.message, atMs: this.clock() };
    return f;
  }

  /** Runs `emit` unless a line was logged less than LOG_EVERY_MS ago; it gets the count of lines left out since. */
  private logLimited(emit: (unlogged: number) => void): void {
    const ok = this.logLimit.take(this.clock());
    if (ok) emit(ok.suppressedBefore);
  }
}

/** The view of a row still waiting to be written (a store fault). */
export function banViewOfWrite(r: BanWrite, active: boolean, nowMs: number): BanView {
  return banViewOf(
    {
      target: r.target,
      family: r.family,
      set_name: r.set,
      source: r.source,
      reason: r.reason,
      sid: r.sid,
      signature: r.signature,
      first_seen_ms: r.firstSeenMs ?? r.nowMs,
      last_seen_ms: r.nowMs,
      expires_ms: r.expiresMs,
      duration_sec: r.durationSec,
      active: active ? 1 : 0,
      offences: r.offences,
      last_offence_ms: r.nowMs,
    },
    nowMs,
  );
}
