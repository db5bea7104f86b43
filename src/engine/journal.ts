/**
 * The decision journal: for every alert that reached the policy and every kernel detection, what
 * was decided and why; bans once in the kernel, unbans, allowlist changes (ban-events.ts); and
 * operators' bans, unbans and allowlist changes with their actor. Kept in the store's `journal`
 * table (store/journal-table.ts), bounded by `journal.max_entries` and `journal.max_age`.
 *
 * Off the hot path: the alert path only pushes a reference to its decision on an array; the rows
 * are built and written in one transaction every FLUSH_EVERY_MS, or soon after FLUSH_AT are
 * queued. A full queue drops (counted); a store that fails drops the batch (counted, logged at a
 * bounded rate). Nothing here ever holds up a ban.
 */
import type { Clock } from '../clock.ts';
import type { Alert } from '../ingest/alert.ts';
import { type Logger, RateLimitedLog } from '../log.ts';
import { parseIp } from '../net/ip.ts';
import { type JournalBounds, type JournalRow, JournalTable } from '../store/journal-table.ts';
import type { Store } from '../store/store.ts';
import type { BanEvent } from './ban-events.ts';
import { JournalRepeats } from './journal-repeats.ts';
import type { Decision } from './decide.ts';
import type { DecisionObserver } from './enforcer.ts';
import type { Actor } from './operations.ts';
import type { ProtectedWhy } from './protection.ts';

export const FLUSH_EVERY_MS = 1000;
export const FLUSH_AT = 4096;
export const MAX_QUEUED = 200_000;
/** How long an operator's rows wait for their actor's `from` (Actor.ref) before they are written as they are. */
export const ACTOR_WAIT_MS = 5000;
/** Actors waited for at once; beyond, rows are written at once with the `from` they came with. */
const MAX_HELD = 256;

const PROTECTED = new Set(['allowlisted', 'home', 'own_address', 'own_subnet_edge', 'broadcast']);

/** What waits to be written: the alert path's own values, turned into rows at the flush. */
type Pending =
  | { t: 'alert'; d: Decision; alert: Alert; atMs: number }
  | { t: 'kernel'; d: Decision; address: string; reason: string; atMs: number }
  | { t: 'event'; e: BanEvent }
  | { t: 'row'; row: JournalRow };

export interface JournalStats {
  written: number;
  dropped: number;
  errors: number;
  /** Alerts counted in a repeated skip's run instead of a row of their own (journal-repeats.ts). */
  coalesced: number;
  pending: number;
}

export interface JournalParts {
  store: Store;
  log: Logger;
  clock: Clock;
  bounds: () => JournalBounds;
  /** The entry that protects an address (Decider.protectingEntry), named in allowlisted/home skips. */
  protectingEntry: (address: string, why: ProtectedWhy) => string | null;
}

export function actorText(actor: Actor | undefined): string {
  return actor ? `${actor.token}@${actor.from}` : 'unknown';
}

export class Journal implements DecisionObserver {
  readonly table: JournalTable;
  private readonly p: JournalParts;
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private soon = false;
  private readonly errorLog = new RateLimitedLog(1, 60_000);
  private readonly counts = { written: 0, dropped: 0, errors: 0 };
  private readonly repeats = new JournalRepeats();
  /** Operators' rows waiting for their actor's `from`, by Actor.ref. */
  private readonly held = new Map<number, { token: string; rows: JournalRow[]; timer: NodeJS.Timeout }>();

  constructor(parts: JournalParts) {
    this.p = parts;
    this.table = new JournalTable(parts.store);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  /** Stops the timer and writes what is queued (before the store closes). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const ref of [...this.held.keys()]) this.release(ref, null);
    this.flush(true);
  }

  get stats(): JournalStats {
    return { ...this.counts, coalesced: this.repeats.coalesced, pending: this.queue.length };
  }

  alert(d: Decision, alert: Alert, atMs: number): void {
    this.push({ t: 'alert', d, alert, atMs });
  }

  kernelScan(d: Decision, address: string, reason: string, atMs: number): void {
    this.push({ t: 'kernel', d, address, reason, atMs });
  }

  /** A ban-events listener (daemon.ledger.events.subscribe). */
  readonly event = (e: BanEvent): void => this.push({ t: 'event', e });

  /** An operator's action, with who did it and from where. */
  operator(code: string, address: string, actor: Actor | undefined, detail: object, atMs: number): void {
    const row = { atMs, address, kind: 'manual', code, detail: JSON.stringify(detail), actor: actorText(actor) };
    const ref = actor?.ref;
    const held = ref === undefined ? undefined : this.held.get(ref);
    if (held) held.rows.push(row);
    else if (actor && ref !== undefined && this.held.size < MAX_HELD) {
      const timer = setTimeout(() => this.release(ref, null), ACTOR_WAIT_MS);
      timer.unref();
      this.held.set(ref, { token: actor.token, rows: [row], timer });
    } else this.push({ t: 'row', row });
  }

  /** The `from` of a held actor (the peer's uid found): its rows are queued with it. */
  actorFrom(ref: number, from: string): void {
    this.release(ref, from);
  }

  /** Queues the rows held for `ref`, with `from` when it was found, else as they are. */
  private release(ref: number, from: string | null): void {
    const held = this.held.get(ref);
    if (!held) return;
    this.held.delete(ref);
    clearTimeout(held.timer);
    for (const row of held.rows)
      this.push({ t: 'row', row: from === null ? row : { ...row, actor: actorText({ token: held.token, from }) } });
  }

  private push(p: Pending): void {
    if (this.queue.length >= MAX_QUEUED) {
      this.counts.dropped++;
      return;
    }
    this.queue.push(p);
    if (this.queue.length >= FLUSH_AT && !this.soon) {
      this.soon = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Writes everything queued in one transaction: a repeated skip counted into its run instead of
   * a row (journal-repeats.ts), and the summary rows of the runs whose window ended (all at stop).
   */
  flush(all = false): void {
    this.soon = false;
    if (!this.p.store.isOpen) return;
    const batch = this.queue;
    this.queue = [];
    const nowMs = this.p.clock();
    const rows: JournalRow[] = [];
    for (const x of batch) {
      if (x.t === 'alert' && x.d.kind === 'skip' && JournalRepeats.coalesces(x.d.why)) {
        const address = x.d.address ?? x.alert.src.ip;
        if (this.repeats.repeat(address, x.d.why, x.alert.sid, x.atMs)) continue;
        const row = this.rowOf(x);
        this.repeats.open(row, x.alert.sid);
        rows.push(row);
      } else rows.push(this.rowOf(x));
    }
    rows.push(...this.repeats.close(nowMs, all));
    if (rows.length === 0) return;
    try {
      this.table.append(rows, this.p.bounds(), nowMs);
      this.counts.written += rows.length;
    } catch (err) {
      this.counts.errors++;
      this.counts.dropped += rows.length;
      const shown = this.errorLog.take(nowMs);
      if (shown) this.p.log.warn({ err: (err as Error).message, lost: rows.length, ...shown }, 'journal: write failed');
    }
  }

  private rowOf(x: Pending): JournalRow {
    switch (x.t) {
      case 'row':
        return x.row;
      case 'event':
        return eventRow(x.e);
      case 'alert':
        return this.decisionRow('alert', x.d, x.alert.src.ip, x.atMs, {
          sid: x.alert.sid,
          signature: x.alert.signature || null,
          src: x.alert.src.ip,
          dest: x.alert.dest.ip,
        });
      case 'kernel':
        return this.decisionRow('kernel', x.d, x.address, x.atMs, { reason: x.reason });
    }
  }

  private decisionRow(kind: string, d: Decision, fallback: string, atMs: number, about: object): JournalRow {
    if (d.kind === 'ban') {
      const detail = {
        ...about,
        rule: d.reason,
        source: d.source,
        offender: d.offender,
        durationSec: d.durationSec,
        offences: d.offences,
        refresh: d.refresh,
      };
      return { atMs, address: d.target.text, kind, code: 'banned', detail: JSON.stringify(detail), actor: null };
    }
    const address = d.address ?? fallback;
    let entry: string | null = null;
    if (PROTECTED.has(d.why)) entry = this.p.protectingEntry(address, d.why as ProtectedWhy);
    const detail = { ...about, ...d.detail, ...(entry ? { entry } : {}), ...(d.note ? { note: d.note } : {}) };
    return { atMs, address, kind, code: d.why, detail: JSON.stringify(detail), actor: null };
  }
}

function eventRow(e: BanEvent): JournalRow {
  switch (e.type) {
    case 'ban': {
      const { source, reason, sid, expiresMs, offences } = e;
      const detail = JSON.stringify({ source, reason, sid, expiresMs, offences });
      return { atMs: e.atMs, address: e.address, kind: 'ban', code: 'in_kernel', detail, actor: null };
    }
    case 'unban':
      return { atMs: e.atMs, address: e.address, kind: 'unban', code: e.cause, detail: null, actor: null };
    default:
      return { atMs: e.atMs, address: e.address, kind: e.type, code: e.type, detail: null, actor: null };
  }
}

/** The journal's keys for an address: itself, canonical. */
export function journalKey(text: string): string {
  return parseIp(text)?.text ?? text;
}
