/**
 * The reads of the `bans` table, over the connection it is given: the Store's own (the engine's
 * Operations) or the API worker's read-only one (SQLite WAL: a reader never waits for the
 * writer). One place for the SQL, for the rule of which ban holds an address, and for the shape
 * of a row as the API and the CLI show it (banViewOf).
 *
 * The rule: the exact target's active ban, else the longest active prefix ban (PREFIX_BAN_SETS:
 * ban6net64, bannet4, bannet6) that covers the address.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { parsePrefix, prefixCovers, type IpPrefix } from '../net/ip.ts';
import { banTargetOf, PREFIX_BAN_SETS } from '../engine/ban-target.ts';
import type { BanListFilter, BanSource, BanView } from '../engine/operations.ts';
import type { BanRow } from './store-schema.ts';
import { storeGuard } from './sqlite-failure.ts';

/** A store row -> the BanView the API and the CLI show. Pure. */
export function banViewOf(row: BanRow, nowMs: number): BanView {
  const expiresMs = row.expires_ms === null ? null : Number(row.expires_ms);
  return {
    address: row.target,
    family: Number(row.family) === 6 ? 6 : 4,
    source: (row.source ?? 'manual') as BanSource,
    reason: row.reason ?? '',
    sid: row.sid == null ? null : Number(row.sid),
    signature: row.signature ?? null,
    firstSeenMs: Number(row.first_seen_ms ?? 0),
    lastSeenMs: Number(row.last_seen_ms ?? 0),
    expiresMs,
    remainingSec: expiresMs === null ? null : Math.max(0, Math.ceil((expiresMs - nowMs) / 1000)),
    offences: Number(row.offences),
  };
}

/** The first text after every text that starts with `prefix` (its last character plus one). */
export function searchUpperBound(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** The ORDER BY of a list: column names from a fixed table, never from the request's text. */
function orderBy(filter: BanListFilter): string {
  const desc = (filter.order ?? (filter.sort === 'address' || filter.sort === 'expires' ? 'asc' : 'desc')) === 'desc';
  const dir = desc ? 'DESC' : 'ASC';
  switch (filter.sort) {
    case 'expires':
      // Permanent bans (NULL) last in ascending order: they expire after every other.
      return `expires_ms IS NULL ${dir}, expires_ms ${dir}, target`;
    case 'offences':
      return `offences ${dir}, last_seen_ms DESC, target`;
    case 'address':
      return `target ${dir}`;
    default:
      return desc ? 'last_seen_ms DESC, target' : 'last_seen_ms ASC, target';
  }
}

export class BanQueries {
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  /** The row of `target`, active or not (the history escalation reads stays in the row). */
  get(target: string): BanRow | undefined {
    return storeGuard('get', () => this.statement('SELECT * FROM bans WHERE target = ?').get(target)) as
      | BanRow
      | undefined;
  }

  /**
   * Active bans, newest first unless `sort` says otherwise, optionally filtered; `total` counts
   * every match. `search` is a prefix of the target's text, read as a range of the primary key
   * (`target >= s AND target < s'`), so it never scans the table.
   */
  listActive(filter: BanListFilter): { total: number; rows: BanRow[] } {
    const where = ['active = 1'];
    const args: Array<string | number> = [];
    if (filter.source === 'fleet') {
      // Every `fleet:<node>`, as a range (';' follows ':'), which an index on source can serve.
      where.push("source >= 'fleet:' AND source < 'fleet;'");
    } else if (filter.source) {
      where.push('source = ?');
      args.push(filter.source);
    }
    if (filter.reason) {
      where.push('reason = ?');
      args.push(filter.reason);
    }
    if (filter.search) {
      // `+active`: not the (active, ...) indexes, whose walk reads every active ban; the range of
      // the primary key reads only the matches (then sorted, a few at most on a specific search).
      where[0] = '+active = 1';
      where.push('target >= ? AND target < ?');
      args.push(filter.search, searchUpperBound(filter.search));
    }
    const w = where.join(' AND ');
    const order = orderBy(filter);
    return storeGuard('list', () => {
      const total = (this.statement(`SELECT count(*) AS n FROM bans WHERE ${w}`).get(...args) as { n: number }).n;
      const rows =
        filter.limit > 0
          ? (this.statement(`SELECT * FROM bans WHERE ${w} ORDER BY ${order} LIMIT ? OFFSET ?`).all(
              ...args,
              filter.limit,
              filter.offset,
            ) as unknown as BanRow[])
          : [];
      return { total: Number(total), rows };
    });
  }

  /** The targets of the active prefix bans. */
  activePrefixTargets(): string[] {
    const sql = `SELECT target FROM bans WHERE active = 1 AND set_name IN (${PREFIX_BAN_SETS.map(() => '?').join(', ')})`;
    const rows = storeGuard('prefixes', () => this.statement(sql).all(...PREFIX_BAN_SETS)) as Array<{ target: string }>;
    return rows.map((r) => r.target);
  }

  /**
   * The active ban holding `address`: its exact target, else the longest active prefix ban that
   * covers it. `prefixTargets`: the active prefix bans when the caller keeps them (the engine, in
   * memory); read from the table otherwise.
   */
  covering(address: IpPrefix, prefixTargets?: Iterable<string>): BanRow | undefined {
    const exact = this.get(banTargetOf(address).text);
    if (exact?.active === 1) return exact;
    let best: IpPrefix | null = null;
    for (const t of prefixTargets ?? this.activePrefixTargets()) {
      const p = parsePrefix(t);
      if (p && prefixCovers(p, address) && (!best || p.length > best.length)) best = p;
    }
    const row = best ? this.get(best.text) : undefined;
    return row?.active === 1 ? row : undefined;
  }

  countActiveBySource(): Record<string, number> {
    const rows = storeGuard('count', () =>
      this.statement('SELECT source, count(*) AS n FROM bans WHERE active = 1 GROUP BY source').all(),
    ) as Array<{ source: string; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.source, Number(r.n)]));
  }

  /** listActive shaped as the Operations' listBans answer. */
  listBans(filter: BanListFilter, nowMs: number): { total: number; items: BanView[] } {
    const { total, rows } = this.listActive(filter);
    return { total, items: rows.map((r) => banViewOf(r, nowMs)) };
  }

  /** covering shaped as the Operations' getBan answer. */
  getBan(address: IpPrefix, nowMs: number, prefixTargets?: Iterable<string>): BanView | null {
    const row = this.covering(address, prefixTargets);
    return row ? banViewOf(row, nowMs) : null;
  }

  /** Prepared once per SQL text (a list's variants: its filters times its orders, a few dozen). */
  private statement(sql: string): StatementSync {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }
}
