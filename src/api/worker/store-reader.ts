/**
 * The API worker's own read-only connection to the store (SQLite in WAL mode: readers never wait
 * for the writer), so that listing and looking up bans never waits for the daemon's main thread.
 * Reads the same rows as Store.listActive/get and shapes them with the engine's banViewOf; the
 * lookup rule is the engine's getBan: the exact target, else the longest active prefix ban that
 * covers the address.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { BanListFilter, BanView } from '../../engine/operations.ts';
import { banViewOf } from '../../engine/ban-view.ts';
import { banTargetOf } from '../../engine/ban-target.ts';
import type { BanRow } from '../../store/store.ts';
import { NftsentryError, ErrorCodes } from '../../errors.ts';
import { parsePrefix, prefixCovers, type IpPrefix } from '../../net/ip.ts';

export class StoreReader {
  private readonly db: DatabaseSync;
  private readonly getStmt: StatementSync;
  private readonly prefixStmt: StatementSync;
  private readonly bySourceStmt: StatementSync;

  constructor(path: string) {
    try {
      this.db = new DatabaseSync(path, { readOnly: true });
      this.db.exec('PRAGMA busy_timeout = 2000;');
      this.getStmt = this.db.prepare('SELECT * FROM bans WHERE target = ? AND active = 1');
      this.prefixStmt = this.db.prepare("SELECT target FROM bans WHERE active = 1 AND set_name IN ('ban6net64', 'bannet4', 'bannet6')");
      this.bySourceStmt = this.db.prepare('SELECT source, count(*) AS n FROM bans WHERE active = 1 GROUP BY source');
    } catch (err) {
      throw new NftsentryError(ErrorCodes.STORE_FAILED, `cannot open store ${path} for reading: ${(err as Error).message}`, { cause: err });
    }
  }

  listBans(filter: BanListFilter, nowMs: number): { total: number; items: BanView[] } {
    const where = ['active = 1'];
    const args: Array<string | number> = [];
    if (filter.source) (where.push('source = ?'), args.push(filter.source));
    if (filter.reason) (where.push('reason = ?'), args.push(filter.reason));
    const w = where.join(' AND ');
    const total = (this.db.prepare(`SELECT count(*) AS n FROM bans WHERE ${w}`).get(...args) as { n: number }).n;
    const rows =
      filter.limit > 0
        ? (this.db.prepare(`SELECT * FROM bans WHERE ${w} ORDER BY last_seen_ms DESC, target LIMIT ? OFFSET ?`).all(...args, filter.limit, filter.offset) as unknown as BanRow[])
        : [];
    return { total: Number(total), items: rows.map((r) => banViewOf(r, nowMs)) };
  }

  getBan(address: IpPrefix, nowMs: number): BanView | null {
    const exact = this.getStmt.get(banTargetOf(address).text) as BanRow | undefined;
    if (exact) return banViewOf(exact, nowMs);
    let best: IpPrefix | null = null;
    for (const { target } of this.prefixStmt.all() as Array<{ target: string }>) {
      const p = parsePrefix(target);
      if (p && prefixCovers(p, address) && (!best || p.length > best.length)) best = p;
    }
    if (!best) return null;
    const row = this.getStmt.get(best.text) as BanRow | undefined;
    return row ? banViewOf(row, nowMs) : null;
  }

  countBySource(): Record<string, number> {
    const rows = this.bySourceStmt.all() as Array<{ source: string; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.source, Number(r.n)]));
  }

  close(): void {
    this.db.close();
  }
}
