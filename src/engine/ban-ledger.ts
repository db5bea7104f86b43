/**
 * The ledger of bans: the memory index of offenders (what decisions read) and the store's ban and
 * grace rows (what survives a restart). It is the only writer of both; everyone else asks it.
 *
 * A ban is recorded in memory when it is decided (`recordBan`), its row is written once the kernel
 * has the element (the flusher's StoreFollower calls `recordBans`, see store-follower.ts). Every
 * write goes through a StoreWriter: what the store cannot take now is kept and written later, in
 * order, so a store fault never throws into the alert path or loses a row.
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { type BanQueries, banViewOf } from '../store/ban-queries.ts';
import type { BanWrite, Store } from '../store/store.ts';
import type { ElementChange } from '../nft/elements.ts';
import type { CapState } from './ban-cap.ts';
import { BanEvents } from './ban-events.ts';
import { type BanSetName, parseBanTarget } from './ban-target.ts';
import type { BanDecision, BanState } from './decide.ts';
import { type Offender, OffenderIndex } from './offender-index.ts';
import type { PolicyConfig } from './engine-schema.ts';
import type { ActiveSweep } from './reconcile.ts';
import type { BanView } from './operations.ts';
import type { BanRowSink } from './store-follower.ts';
import { banViewOfWrite, type StoreHealth, StoreWriter } from './store-writer.ts';

/** A WAL checkpoint syncs the files (a stall of several ms): at most this often. */
const CHECKPOINT_EVERY_MS = 60_000;

/** The reason of a ban adopted from the kernel: source `manual` in the store, automatic for the cap. */
const ADOPTED = 'adopted from kernel';

const OVER_CAP_MSG = 'bans over policy.max_active_bans: the oldest automatic ones ended, operator bans kept';

function indexOptions(p: PolicyConfig): [number, number | null] {
  return [p.escalation.forget_after * 1000, p.ipv4_aggregate.enabled ? p.ipv4_aggregate.prefix : null];
}

export class BanLedger implements BanRowSink {
  private readonly store: Store;
  private readonly writer: StoreWriter;
  private readonly index: OffenderIndex;
  private readonly log: Logger;
  private lastCheckpointMs = 0;
  private readonly clock: Clock;
  private maxActive: number;
  /** Automatic bans the last restore ended for policy.max_active_bans (their kernel elements go too). */
  private overCap: ElementChange[] = [];
  /** Active bans loaded from the store at the last restore. */
  restored = 0;
  /** Bans once the kernel has them, unbans, allowlist changes: for the journal, the API, the fleet. */
  readonly events: BanEvents;

  constructor(store: Store, policy: PolicyConfig, log: Logger, clock: Clock) {
    this.store = store;
    this.writer = new StoreWriter(store, log, clock);
    this.index = new OffenderIndex(...indexOptions(policy));
    this.log = log;
    this.maxActive = policy.max_active_bans;
    this.events = new BanEvents(log);
    this.clock = clock;
  }

  /** What the decider asks about the present. */
  get state(): BanState & CapState {
    return this.index;
  }

  /**
   * A new policy. Returns the oldest automatic bans beyond a lowered policy.max_active_bans: the
   * caller lifts them (memory, store, kernel).
   */
  reconfigure(policy: PolicyConfig): ReadonlySet<string> {
    [this.index.forgetAfterMs, this.index.aggregatePrefix] = indexOptions(policy);
    this.maxActive = policy.max_active_bans;
    const over = new Set(this.oldestAutomaticOverCap());
    if (over.size > 0) this.log.warn({ lifted: over.size, maxActiveBans: this.maxActive }, OVER_CAP_MSG);
    return over;
  }

  /**
   * The automatic bans beyond the cap once every operator ban is counted, oldest offence first:
   * operator bans are never among them.
   */
  private oldestAutomaticOverCap(): string[] {
    const room = Math.max(0, this.maxActive - this.index.manualSize);
    const excess = this.index.activeSize - this.index.manualSize - room;
    if (excess <= 0) return [];
    const automatic: Array<[string, number]> = [];
    for (const [t, o] of this.index.activeEntries()) if (!o.manual) automatic.push([t, o.lastOffenceMs]);
    automatic.sort((a, b) => a[1] - b[1]);
    return automatic.slice(0, excess).map((a) => a[0]);
  }

  /** The kernel elements of the bans the last restore ended for the cap (once: then forgotten). */
  takeOverCap(): ElementChange[] {
    const out = this.overCap;
    this.overCap = [];
    return out;
  }

  /**
   * Loads the store into memory; bans whose time is up are ended (in both), and so are the oldest
   * automatic bans beyond policy.max_active_bans (a lowered cap): operator bans are all kept.
   */
  restore(nowMs: number): { expired: number; overCap: number } {
    const rows = this.store.loadOffenders(nowMs - this.index.forgetAfterMs);
    const expired: string[] = [];
    for (const r of rows) {
      const expiresMs = r.expires_ms === null ? null : Number(r.expires_ms);
      const wasActive = Number(r.active) === 1;
      const active = wasActive && (expiresMs === null || expiresMs > nowMs);
      if (wasActive && !active) expired.push(r.target);
      this.index.setActive(r.target, {
        // The set follows from the target (a row may name the set an older version used).
        set: parseBanTarget(r.target)?.set ?? (r.set_name as BanSetName),
        expiresMs,
        durationSec: r.duration_sec === null ? null : Number(r.duration_sec),
        offences: Number(r.offences),
        lastOffenceMs: Number(r.last_offence_ms),
        manual: r.source === 'manual' && r.reason !== ADOPTED,
      });
      if (!active) this.index.setInactive(r.target);
    }
    const over = this.oldestAutomaticOverCap();
    this.overCap = [];
    for (const t of over) {
      this.overCap.push({ set: this.index.get(t)!.set, key: t });
      this.index.setInactive(t);
    }
    if (over.length > 0) this.log.warn({ dropped: over.length, maxActiveBans: this.maxActive }, OVER_CAP_MSG);
    this.writer.write({ deactivate: [...expired, ...over] });
    for (const g of this.store.loadGrace(nowMs)) this.index.setGrace(g.target, Number(g.until_ms));
    this.restored = this.index.activeSize;
    return { expired: expired.length, overCap: over.length };
  }

  get maxActiveBans(): number {
    return this.maxActive;
  }

  /** Whether one more automatic ban fits under policy.max_active_bans (an element adopted from the kernel). */
  get automaticRoom(): boolean {
    return this.index.activeSize < this.maxActive;
  }

  /** A ban decision in memory; returns the row to write once the kernel has it. */
  recordBan(d: BanDecision, nowMs: number): BanWrite {
    const expiresMs = d.durationSec === null ? null : nowMs + d.durationSec * 1000;
    const prev = this.index.get(d.target.text);
    this.index.setActive(d.target.text, {
      set: d.target.set,
      expiresMs,
      durationSec: d.durationSec,
      offences: d.offences,
      lastOffenceMs: d.refresh && prev ? prev.lastOffenceMs : nowMs,
      manual: d.source === 'manual' || (d.refresh && prev?.manual === true),
    });
    return {
      target: d.target.text,
      family: d.target.family,
      set: d.target.set,
      source: d.source,
      reason: d.reason,
      sid: d.sid,
      signature: d.signature,
      nowMs,
      expiresMs,
      durationSec: d.durationSec,
      offences: d.offences,
    };
  }

  /** A kernel element nobody knew (a crash between nft and the store): a real ban, adopted. */
  adopt(target: string, set: BanSetName, family: 4 | 6, expiresSec: number | null, nowMs: number): BanWrite {
    const expiresMs = expiresSec === null ? null : nowMs + expiresSec * 1000;
    const offences = this.index.get(target)?.offences ?? 1;
    this.index.setActive(target, { set, expiresMs, durationSec: expiresSec, offences, lastOffenceMs: nowMs });
    return {
      target,
      family,
      set,
      source: 'manual',
      reason: ADOPTED,
      sid: null,
      signature: null,
      nowMs,
      expiresMs,
      durationSec: expiresSec,
      offences,
    };
  }

  /** The ban ended in memory (its row is deactivated through the flusher, in order with its writes). */
  lift(target: string): boolean {
    return this.index.setInactive(target);
  }

  /** Alerts from this target are ignored until `untilMs` (after an unban). */
  setGrace(target: string, untilMs: number): void {
    this.index.setGrace(target, untilMs);
    this.writer.write({ grace: [{ target, untilMs }] });
  }

  /** Ends the bans whose time is up (the kernel drops their elements itself); forgets old history. */
  expire(nowMs: number): number {
    const expired = this.index.expired(nowMs);
    for (const t of expired) this.index.setInactive(t);
    this.writer.write({ deactivate: expired });
    this.events.unbans(expired, 'expired', nowMs);
    this.index.forget(nowMs);
    if (nowMs - this.lastCheckpointMs >= CHECKPOINT_EVERY_MS) {
      this.lastCheckpointMs = nowMs;
      this.writer.checkpoint();
    }
    return expired.length;
  }

  // --- BanRowSink: the store follower writes through these ---

  recordBans(rows: readonly BanWrite[]): void {
    this.writer.write({ rows });
  }

  deactivate(targets: readonly string[]): void {
    this.writer.write({ deactivate: targets });
  }

  committed(rows: readonly BanWrite[]): void {
    this.events.bans(rows);
  }

  lifted(targets: readonly string[]): void {
    this.events.unbans(targets, 'lifted', this.clock());
  }

  /** Writes what a store fault left pending, once its retry is due (the retry timer). */
  retryWrites(): void {
    this.writer.retry();
  }

  /** Whether the store takes the writes, what waits, the errors so far. */
  get storeHealth(): StoreHealth {
    return this.writer.health();
  }

  // --- reads ---

  active(target: string): Offender | undefined {
    return this.index.active(target);
  }

  activeEntries(): IterableIterator<[string, Offender]> {
    return this.index.activeEntries();
  }

  /** The active bans as a diff against the kernel meets them, without a copy (reconcile.ts). */
  sweepActive(): ActiveSweep {
    return this.index.sweep();
  }

  /** Active prefix bans (their target texts). */
  prefixTargets(): ReadonlySet<string> {
    return this.index.prefixTargets();
  }

  get activeCount(): number {
    return this.index.activeSize;
  }

  /** Offenders remembered (active or not). */
  get knownCount(): number {
    return this.index.size;
  }

  /** The store's ban reads (the same queries the API worker runs on its own connection). */
  get queries(): BanQueries {
    return this.store.queries;
  }

  countActiveBySource(): Record<string, number> {
    return this.store.queries.countActiveBySource();
  }

  /** The view of `target`'s row: the one waiting to be written (a store fault), else the store's. */
  view(target: string, nowMs: number): BanView | null {
    const waiting = this.writer.pendingRow(target);
    if (!waiting) {
      const row = this.store.queries.get(target);
      return row ? banViewOf(row, nowMs) : null;
    }
    return banViewOfWrite(waiting.row, waiting.active, nowMs);
  }

  close(): void {
    this.writer.finish();
    this.store.close();
    this.log.debug('store closed');
  }
}
