/**
 * The decision journal's table in the store: one row per decision, operator action or kernel
 * event, newest last (`id` grows with every insert). Bounded by count (rows older than the newest
 * `maxEntries` deleted by id, which needs no scan) and by age (the oldest ids whose `at_ms` is too
old: rows are written in time order). SQLite reuses
 * the pages deleted rows leave, so once the bound is reached the file stops growing.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Store } from './store.ts';

export const JOURNAL_SQL = `
CREATE TABLE IF NOT EXISTS journal (
  id INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  address TEXT NOT NULL,
  kind TEXT NOT NULL,
  code TEXT NOT NULL,
  detail TEXT,
  actor TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS journal_address ON journal (address, id);
-- Operators' actions are few among the decisions: the audit list reads them through this index.
CREATE INDEX IF NOT EXISTS journal_manual ON journal (id) WHERE kind = 'manual';
`;

/** One row as written and read. `detail` is a JSON object's text. */
export interface JournalRow {
  atMs: number;
  /** The address or ban target the entry is about (canonical text). */
  address: string;
  /** alert | kernel | manual | ban | unban | allow | unallow */
  kind: string;
  /** banned, a skip's why, lifted, expired... */
  code: string;
  detail: string | null;
  /** `token@peer` for an operator's action; null otherwise. */
  actor: string | null;
}

export interface JournalBounds {
  maxEntries: number;
  maxAgeMs: number;
}

export class JournalTable {
  private readonly store: Store;
  private readonly db: DatabaseSync;
  private readonly insert: StatementSync;
  private readonly trimById: StatementSync;
  private readonly trimByAge: StatementSync;
  private readonly byAddress: StatementSync;
  private readonly countRows: StatementSync;
  private readonly manualRows: StatementSync;

  constructor(store: Store) {
    this.store = store;
    this.db = store.db;
    this.db.exec(JOURNAL_SQL);
    this.insert = this.db.prepare(
      'INSERT INTO journal (at_ms, address, kind, code, detail, actor) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.trimById = this.db.prepare('DELETE FROM journal WHERE id <= ?');
    // Rows come in time order, so the rows too old are the first ids: walked from the oldest, the
    // walk stops at the first row young enough (no index on at_ms to keep up on every insert).
    this.trimByAge = this.db.prepare(
      'DELETE FROM journal WHERE id < coalesce((SELECT id FROM journal WHERE at_ms >= ? ORDER BY id LIMIT 1), 1 << 62)',
    );
    this.byAddress = this.db.prepare(
      'SELECT at_ms AS atMs, address, kind, code, detail, actor FROM journal WHERE address = ? ORDER BY id DESC LIMIT ?',
    );
    this.countRows = this.db.prepare('SELECT count(*) AS n FROM journal');
    this.manualRows = this.db.prepare(
      "SELECT at_ms AS atMs, address, kind, code, detail, actor FROM journal WHERE kind = 'manual' ORDER BY id DESC LIMIT ?",
    );
  }

  /** Writes the rows in one transaction, then trims to the bounds. Throws as the store does. */
  append(rows: readonly JournalRow[], bounds: JournalBounds, nowMs: number): void {
    if (rows.length === 0) return;
    this.store.transaction(() => {
      let lastId = 0;
      for (const r of rows) {
        lastId = Number(this.insert.run(r.atMs, r.address, r.kind, r.code, r.detail, r.actor).lastInsertRowid);
      }
      if (lastId > bounds.maxEntries) this.trimById.run(lastId - bounds.maxEntries);
      this.trimByAge.run(nowMs - bounds.maxAgeMs);
    });
  }

  /** The newest rows about any of `addresses`, newest first. */
  history(addresses: readonly string[], limit: number): JournalRow[] {
    const out: JournalRow[] = [];
    for (const a of new Set(addresses)) out.push(...(this.byAddress.all(a, limit) as unknown as JournalRow[]));
    return out.sort((x, y) => y.atMs - x.atMs).slice(0, limit);
  }

  /** Operators' actions (bans, unbans, allowlist changes, refusals), newest first. */
  manual(limit: number): JournalRow[] {
    return this.manualRows.all(limit) as unknown as JournalRow[];
  }

  get count(): number {
    return Number((this.countRows.get() as { n: number }).n);
  }
}
