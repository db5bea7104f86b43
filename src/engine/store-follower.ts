/**
 * The store follows the kernel: a ban's row is written once nft has applied its element, so a
 * crash in between leaves a kernel element the store does not know (the next start adopts it),
 * never a row for a ban the kernel lacks. Alert rows are queued and written together: at once when
 * nothing else waits, and in a burst once the kernel has the burst (or every CHUNK rows).
 *
 * An unban deactivates rows. A row of the same target still queued is written first, and a row
 * still to come from a transaction in flight is deactivated as soon as it is written, so an older
 * row never lands after the deactivation and brings the ban back at the next start.
 *
 * The sink does not throw for a store fault: the ledger keeps what the store refuses and writes
 * it later in the same order (store-writer.ts).
 */
import type { Logger } from '../log.ts';
import type { BanWrite } from '../store/store.ts';

/** Where ban rows go (the ban ledger). */
export interface BanRowSink {
  recordBans(rows: readonly BanWrite[]): void;
  deactivate(targets: readonly string[]): void;
  /** The kernel has these bans' elements (told at once, before their rows are written). */
  committed?(rows: readonly BanWrite[]): void;
  /** These bans were lifted (told once, when the unban is decided). */
  lifted?(targets: readonly string[]): void;
}

/** Rows per write while a burst is still being sent. */
const CHUNK = 250_000;

export class StoreFollower {
  private readonly sink: BanRowSink;
  private readonly log: Logger;
  private queued: BanWrite[] = [];
  /** Targets unbanned while a transaction holding them was in flight. */
  private readonly liftedInFlight = new Set<string>();

  constructor(sink: BanRowSink, log: Logger) {
    this.sink = sink;
    this.log = log;
  }

  /** Rows whose elements nft has just applied; `keys`: the transaction's targets. */
  applied(rows: readonly BanWrite[], keys: ReadonlySet<string>): void {
    for (const r of rows) this.queued.push(r);
    if (rows.length > 0) this.guard(() => this.sink.committed?.(rows));
    this.deactivateLifted(keys);
  }

  /** Writes the queue when nothing more is coming, or when it has grown to a chunk. */
  writeIfDue(moreComing: boolean): void {
    if (!moreComing || this.queued.length >= CHUNK) this.writeQueued();
  }

  /**
   * Writes the queued rows of these targets (older), then `rows` (newer: bans the kernel has just
   * applied, told to the sink as committed), in one SQL transaction.
   */
  writeNow(targets: ReadonlySet<string>, rows: readonly BanWrite[]): void {
    if (rows.length > 0) this.guard(() => this.sink.committed?.(rows));
    const older: BanWrite[] = [];
    if (this.queued.length > 0 && targets.size > 0) {
      const rest: BanWrite[] = [];
      for (const w of this.queued) (targets.has(w.target) ? older : rest).push(w);
      if (older.length > 0) this.queued = rest;
    }
    this.record([...older, ...rows]);
  }

  /**
   * Marks these targets inactive (an unban): their queued rows are written first; `inFlight`
   * tells which are held by a transaction in flight, whose rows are deactivated once written.
   */
  deactivate(targets: readonly string[], inFlight: (key: string) => boolean): void {
    this.writeNow(new Set(targets), []);
    for (const t of targets) if (inFlight(t)) this.liftedInFlight.add(t);
    this.guard(() => this.sink.deactivate(targets));
    if (targets.length > 0) this.guard(() => this.sink.lifted?.(targets));
  }

  private deactivateLifted(keys: ReadonlySet<string>): void {
    if (this.liftedInFlight.size === 0) return;
    const lifted = new Set([...this.liftedInFlight].filter((k) => keys.has(k)));
    if (lifted.size === 0) return;
    for (const k of lifted) this.liftedInFlight.delete(k);
    this.writeNow(lifted, []);
    this.guard(() => this.sink.deactivate([...lifted]));
  }

  private writeQueued(): void {
    if (this.queued.length === 0) return;
    const rows = this.queued;
    this.queued = [];
    this.record(rows);
  }

  private record(rows: readonly BanWrite[]): void {
    if (rows.length > 0) this.guard(() => this.sink.recordBans(rows));
  }

  private guard(write: () => void): void {
    try {
      write();
    } catch (err) {
      this.log.error({ err }, 'store write failed; bans are in the kernel and in memory');
    }
  }
}
