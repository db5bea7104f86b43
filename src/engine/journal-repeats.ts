/**
 * Runs of one repeated skip in the decision journal. The same address skipped for the same reason
 * on the same signature again and again (an already banned scanner's alerts, a flood from an
 * allowlisted host) is written once when first seen, then once more when its window ends, with how
 * many alerts it stood for, instead of once per alert. A flood of 50,000 alerts/s from a few
 * thousand sources then costs a few thousand rows a minute, not 50,000 a second: the journal's
 * CPU on the main thread stays small, and the flood does not push every other address's history
 * past `journal.max_entries` within seconds.
 *
 * Not coalesced: bans (each one matters), `below_threshold` (each row carries the count so far),
 * operators' actions, kernel detections and ban events (all few). Bounded: at most MAX_RUNS runs
 * are tracked; beyond, skips are written one row each as before.
 */
import type { JournalRow } from '../store/journal-table.ts';

/** How long a run gathers repeats before its summary row is written. */
export const REPEAT_WINDOW_MS = 60_000;
/** Runs tracked at once (~300 bytes each: the key and the first row's detail). */
export const MAX_RUNS = 20_000;

/** Skips whose rows are all alike for one address, reason and signature. */
const COALESCED = new Set([
  'already_banned',
  'grace',
  'no_rule',
  'both_home',
  'direction_unknown',
  'ban_cap',
  'allowlisted',
  'home',
  'own_address',
  'own_subnet_edge',
  'broadcast',
]);

interface Run {
  /** The first row of the run, as written. */
  first: JournalRow;
  startMs: number;
  /** Alerts after the first one. */
  repeats: number;
  lastAtMs: number;
}

export class JournalRepeats {
  private readonly runs = new Map<string, Run>();
  private readonly windowMs: number;
  private readonly maxRuns: number;
  /** Alerts counted into a run instead of getting a row of their own. */
  coalesced = 0;

  constructor(windowMs = REPEAT_WINDOW_MS, maxRuns = MAX_RUNS) {
    this.windowMs = windowMs;
    this.maxRuns = maxRuns;
  }

  /** Whether skips with this code are coalesced at all. */
  static coalesces(code: string): boolean {
    return COALESCED.has(code);
  }

  /**
   * An alert's skip: true when it is counted in a run already open (no row of its own); false
   * when its row is to be written (the first of a new run, or no room for one).
   */
  repeat(address: string, code: string, sid: number | null, atMs: number): boolean {
    const run = this.runs.get(runKey(address, code, sid));
    if (!run) return false;
    run.repeats++;
    if (atMs > run.lastAtMs) run.lastAtMs = atMs;
    this.coalesced++;
    return true;
  }

  /** Opens a run with the row just written for a skip. */
  open(row: JournalRow, sid: number | null): void {
    if (this.runs.size >= this.maxRuns) return;
    this.runs.set(runKey(row.address, row.code, sid), {
      first: row,
      startMs: row.atMs,
      repeats: 0,
      lastAtMs: row.atMs,
    });
  }

  /**
   * Closes the runs whose window has ended by `nowMs` (every run with `all`): one summary row for
   * each that had repeats, at its last alert's time, with the first row's detail and `repeats`,
   * `sinceMs` (the first alert's time).
   */
  close(nowMs: number, all = false): JournalRow[] {
    const out: JournalRow[] = [];
    // Runs are kept in the order they opened, which is time order: the first still open ends the walk.
    for (const [key, run] of this.runs) {
      if (!all && nowMs - run.startMs < this.windowMs) break;
      this.runs.delete(key);
      if (run.repeats === 0) continue;
      const detail = { ...parse(run.first.detail), repeats: run.repeats, sinceMs: run.startMs };
      out.push({ ...run.first, atMs: run.lastAtMs, detail: JSON.stringify(detail) });
    }
    return out.sort((a, b) => a.atMs - b.atMs);
  }

  get size(): number {
    return this.runs.size;
  }
}

function runKey(address: string, code: string, sid: number | null): string {
  return `${address}|${code}|${sid ?? ''}`;
}

function parse(text: string | null): Record<string, unknown> {
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
