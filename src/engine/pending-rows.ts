/**
 * Store writes that have not landed yet (the file could not be written), kept per target so that
 * they take as much memory as the targets they name, however long the fault lasts. Pure.
 *
 * Merging keeps what writing them one by one, in order, would leave in the store:
 * - rows of one target: the newest, with the hits added up and the first one's first-seen time;
 * - a deactivation after a row: the row, then the deactivation (a ban lifted while its row waited
 *   is written inactive, never active);
 * - a row after a deactivation: the row alone (the upsert makes it active again anyway);
 * - grace rows: the newest per target.
 */
import type { BanWrite, StoreBatch } from '../store/store.ts';

interface Entry {
  row: BanWrite | null;
  deactivate: boolean;
}

export class PendingRows {
  private readonly bans = new Map<string, Entry>();
  private readonly grace = new Map<string, number>();

  /** Targets with a row or a deactivation waiting, plus grace rows waiting. */
  get size(): number {
    return this.bans.size + this.grace.size;
  }

  add(batch: StoreBatch): void {
    for (const r of batch.rows ?? []) this.addRow(r);
    for (const t of batch.deactivate ?? []) {
      const e = this.bans.get(t);
      if (e) e.deactivate = true;
      else this.bans.set(t, { row: null, deactivate: true });
    }
    for (const g of batch.grace ?? []) this.grace.set(g.target, g.untilMs);
  }

  /** Everything waiting, as one write: rows, then deactivations, then grace rows. */
  batch(): Required<StoreBatch> {
    const rows: BanWrite[] = [];
    const deactivate: string[] = [];
    for (const [target, e] of this.bans) {
      if (e.row) rows.push(e.row);
      if (e.deactivate) deactivate.push(target);
    }
    return { rows, deactivate, grace: [...this.grace].map(([target, untilMs]) => ({ target, untilMs })) };
  }

  clear(): void {
    this.bans.clear();
    this.grace.clear();
  }

  /** The row waiting for `target` (active unless a deactivation follows it). */
  row(target: string): { row: BanWrite; active: boolean } | undefined {
    const e = this.bans.get(target);
    return e?.row ? { row: e.row, active: !e.deactivate } : undefined;
  }

  private addRow(r: BanWrite): void {
    const prev = this.bans.get(r.target)?.row;
    const row = prev
      ? { ...r, hits: (prev.hits ?? 1) + (r.hits ?? 1), firstSeenMs: prev.firstSeenMs ?? prev.nowMs }
      : r;
    this.bans.set(r.target, { row, deactivate: false });
  }
}
