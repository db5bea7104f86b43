/**
 * The fleet's state in the daemon's store (node:sqlite, the same connection as the bans):
 * `fleet_outbox`, the events Redis did not take yet (Redis away), sent in order when it is back;
 * `fleet_state`, the stream position this node has read up to and the Redis epoch it last saw.
 * A store fault is logged and leaves the caller going (an outbox event then waits in memory).
 * Statements are prepared at each call: the store may open its connection again.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { Logger } from '../log.ts';

export interface OutboxEvent {
  eid: string;
  type: 'ban' | 'unban';
  target: string;
  /** Absolute expiry on this node's clock (ms); null: permanent or an unban. */
  localExpiresMs: number | null;
  /**
   * When it was decided, on this node's clock (ms): sent as its age, so Redis's clock can order it
   * against a fleet unban. Absent in rows queued by a version without it.
   */
  localAtMs?: number;
  source: string;
  reason: string;
}

export class FleetStore {
  private readonly db: DatabaseSync;
  private readonly log: Logger;

  constructor(db: DatabaseSync, log: Logger) {
    this.db = db;
    this.log = log;
    db.exec(`CREATE TABLE IF NOT EXISTS fleet_outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      event TEXT NOT NULL
    ) STRICT;
    CREATE TABLE IF NOT EXISTS fleet_state (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    ) STRICT;`);
  }

  /** Appends events; false when the store refused them (the caller keeps them). */
  append(events: readonly OutboxEvent[]): boolean {
    if (events.length === 0) return true;
    return this.guard('outbox append', false, () => {
      const st = this.db.prepare('INSERT INTO fleet_outbox (event) VALUES (?)');
      this.db.exec('BEGIN IMMEDIATE');
      try {
        for (const e of events) st.run(JSON.stringify(e));
        this.db.exec('COMMIT');
      } catch (err) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
      return true;
    });
  }

  /** The oldest `limit` events with their sequence numbers. */
  peek(limit: number): Array<{ seq: number; event: OutboxEvent }> {
    return this.guard('outbox read', [], () =>
      (
        this.db.prepare('SELECT seq, event FROM fleet_outbox ORDER BY seq LIMIT ?').all(limit) as Array<{
          seq: number;
          event: string;
        }>
      ).map((r) => ({ seq: Number(r.seq), event: JSON.parse(r.event) as OutboxEvent })),
    );
  }

  /** Drops the events up to `seq` (they are in Redis). */
  drop(seq: number): void {
    this.guard(
      'outbox drop',
      undefined,
      () => void this.db.prepare('DELETE FROM fleet_outbox WHERE seq <= ?').run(seq),
    );
  }

  get outboxSize(): number {
    return this.guard('outbox count', 0, () =>
      Number((this.db.prepare('SELECT count(*) AS n FROM fleet_outbox').get() as { n: number }).n),
    );
  }

  get(key: 'position' | 'epoch'): string | null {
    return this.guard('state read', null, () => {
      const r = this.db.prepare('SELECT value FROM fleet_state WHERE key = ?').get(key) as
        | { value: string }
        | undefined;
      return r ? r.value : null;
    });
  }

  set(key: 'position' | 'epoch', value: string): void {
    this.guard('state write', undefined, () => {
      this.db
        .prepare(
          'INSERT INTO fleet_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
        )
        .run(key, value);
    });
  }

  /** This node's own active bans (not fleet ones), to compare with their per-ban keys in Redis. */
  ownActiveBans(nowMs: number): OutboxEvent[] {
    return this.guard('active bans read', [], () =>
      (
        this.db
          .prepare(
            `SELECT target, source, reason, expires_ms, last_offence_ms FROM bans WHERE active = 1
             AND source NOT LIKE 'fleet:%' AND (expires_ms IS NULL OR expires_ms > ?)`,
          )
          .all(nowMs) as Array<{
          target: string;
          source: string;
          reason: string;
          expires_ms: number | null;
          last_offence_ms: number;
        }>
      ).map((r) => ({
        eid: '',
        type: 'ban' as const,
        target: r.target,
        localExpiresMs: r.expires_ms === null ? null : Number(r.expires_ms),
        localAtMs: Number(r.last_offence_ms),
        source: r.source,
        reason: r.reason,
      })),
    );
  }

  /** Active fleet bans here, by target, with the node they came from and when they were applied (this node's clock). */
  fleetActiveBans(): Map<string, { node: string; atMs: number }> {
    return this.guard('fleet bans read', new Map(), () => {
      const rows = this.db
        .prepare(`SELECT target, source, last_offence_ms FROM bans WHERE active = 1 AND source LIKE 'fleet:%'`)
        .all() as Array<{ target: string; source: string; last_offence_ms: number }>;
      return new Map(
        rows.map((r) => [r.target, { node: r.source.slice('fleet:'.length), atMs: Number(r.last_offence_ms) }]),
      );
    });
  }

  private guard<T>(what: string, fallback: T, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      this.log.error({ err: (err as Error).message, what }, 'fleet: store fault');
      return fallback;
    }
  }
}
