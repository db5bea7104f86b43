/**
 * Coalesces ban decisions into batches: whatever is decided while nft is busy goes into the next
 * transaction, so a burst of alerts becomes a few transactions, never one process per address.
 * Order of one flush: unbans (their own transaction), then bans and refreshes (one transaction),
 * then the store (one SQL transaction; in a burst, once the kernel has the burst). nft first: a
 * crash in between leaves kernel elements the store does not know, which the next start adopts;
 * a failed nft transaction is repaired by the self-healing from memory.
 *
 * Two lanes. The backlog lane carries what alerts, kernel detections and expiry decide. Manual
 * operations (API, CLI: `queueManualBan`/`queueManualRemove`) take the manual lane: their own
 * small transactions through their own `nft -i` co-process, sent at once, concurrently with a
 * backlog transaction in flight (the kernel serialises the two commits; measured, a backlog
 * transaction under 50k alerts/s is what a manual write used to wait for). The returned promise
 * resolves once nft has applied the element (or failed and it was logged, like `flushed()`) and,
 * for a ban, the store has its row: a caller waits for its own element, never for the backlog.
 *
 * Ordering between the lanes, per element key: a decision still pending in one lane is replaced
 * or cancelled by a newer one in the other (the latest decision wins), and a transaction never
 * starts while the other lane has one in flight that holds the same key: it waits for that one
 * (rare: only when an address is unbanned or banned by hand while the backlog is sending it).
 * The manual lane writes the backlog's queued store rows of its keys before its own, so a
 * burst's older row never lands over a newer manual one.
 *
 * Pipelining (`pipeline: 2`, the engine's default): the backlog has two co-processes, and a new
 * small batch of bans starts while the previous one is still in flight (the same per-key rule
 * applies between them). At 1k alerts/s a ban otherwise waited for the transaction ahead of it
 * about as long as for its own. Removals still wait until the backlog has nothing in flight.
 */
import type { Logger } from '../log.ts';
import type { ElementBatch, ElementChange } from '../nft/elements.ts';
import type { Store, BanWrite } from '../store/store.ts';
import type { BanBackend } from './ban-backend.ts';

type Done = () => void;

interface PendingBan {
  change: ElementChange;
  refresh: boolean;
  write: BanWrite;
  /** Manual operations waiting for this element (they put it in the manual lane). */
  done?: Done[];
}

interface PendingRemove {
  change: ElementChange;
  done?: Done[];
}

export interface FlusherStats {
  transactions: number;
  elements: number;
  failures: number;
  refused: number;
  lastDurationMs: number;
  lastBatch: number;
}

const STORE_CHUNK = 250_000;

export type Lane = 'backlog' | 'backlog2' | 'manual';
const LANES: readonly Lane[] = ['backlog', 'backlog2', 'manual'];
const BACKLOG_LANES = ['backlog', 'backlog2'] as const;

interface InFlight {
  keys: ReadonlySet<string>;
  /** Resolves once the transaction is done and its store rows are queued (or written). */
  done: Promise<void>;
}

export class BanFlusher {
  private readonly backend: BanBackend;
  private readonly store: Store;
  private readonly log: Logger;
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly onNftError: (err: unknown) => void;
  private readonly onApplied: (durationMs: number) => void;
  /** Backlog lane: pending bans keyed by target (a target lives in exactly one ban set), removals by set|key. */
  private bans = new Map<string, PendingBan>();
  private removes = new Map<string, PendingRemove>();
  /** Manual lane: the same, each with its waiters. */
  private manualBans = new Map<string, PendingBan>();
  private manualRemoves = new Map<string, PendingRemove>();
  private storeQueue: BanWrite[] = [];
  private waiters: Array<() => void> = [];
  private running: Promise<void> | null = null;
  private manualRunning: Promise<void> | null = null;
  private readonly inFlight: Record<Lane, InFlight | null> = { backlog: null, backlog2: null, manual: null };
  /** Backlog transactions dispatched and not yet finished (pipelining). */
  private readonly dispatched = new Set<Promise<void>>();
  private readonly pipeline: number;
  /** Targets unbanned while a backlog transaction holding them was in flight (see `deactivate`). */
  private readonly liftedInFlight = new Set<string>();
  /** Called after each ban transaction reached nft, with its targets (benchmarks, metrics). */
  onBansSent: ((targets: readonly string[]) => void) | null = null;
  readonly stats: FlusherStats = { transactions: 0, elements: 0, failures: 0, refused: 0, lastDurationMs: 0, lastBatch: 0 };

  private readonly smallBatch: number;
  private readonly burstBatch: number;
  private readonly burstWaitMs: number;

  constructor(
    backend: BanBackend, store: Store, log: Logger,
    opts: {
      flushIntervalMs: number; maxBatch: number; smallBatch: number; burstBatch: number; burstWaitMs: number;
      onNftError: (err: unknown) => void;
      /** Backlog transactions in flight at most (1 or 2; see above). Default 1. */
      pipeline?: number;
      /** Every batch nft applied, with its duration (the metrics histogram). */
      onApplied?: (durationMs: number) => void;
    },
  ) {
    this.smallBatch = opts.smallBatch;
    this.burstBatch = opts.burstBatch;
    this.burstWaitMs = opts.burstWaitMs;
    this.backend = backend;
    this.store = store;
    this.log = log;
    this.flushIntervalMs = opts.flushIntervalMs;
    this.maxBatch = opts.maxBatch;
    this.onNftError = opts.onNftError;
    this.onApplied = opts.onApplied ?? (() => undefined);
    this.pipeline = Math.min(2, Math.max(1, opts.pipeline ?? 1));
  }

  get pending(): number {
    return this.bans.size + this.removes.size + this.manualBans.size + this.manualRemoves.size;
  }

  /** A ban decided from alerts or the kernel: the backlog lane. */
  queueBan(change: ElementChange, refresh: boolean, write: BanWrite): void {
    this.enqueueBan(change, refresh, write, null);
  }

  /**
   * A manual ban: sent at once through the manual lane. Resolves once that transaction has been
   * applied by nft (or failed and been logged) and the store has the row.
   */
  queueManualBan(change: ElementChange, refresh: boolean, write: BanWrite): Promise<void> {
    return new Promise((resolve) => this.enqueueBan(change, refresh, write, resolve));
  }

  queueRemove(change: ElementChange): void {
    this.enqueueRemove(change, null);
  }

  /** A manual removal: resolves once the transaction that carried it has been applied (or failed and been logged). */
  queueManualRemove(change: ElementChange): Promise<void> {
    return new Promise((resolve) => this.enqueueRemove(change, resolve));
  }

  /**
   * Marks these targets inactive in the store (an unban). Their queued rows are written first,
   * and a row still to come from a backlog transaction in flight is deactivated as soon as it is
   * written, so that no older row of a burst lands after the deactivation and brings the ban back
   * at the next start.
   */
  deactivate(keys: readonly string[]): void {
    this.writeRowsOf(new Set(keys), []);
    for (const lane of BACKLOG_LANES) {
      const f = this.inFlight[lane];
      if (f) for (const k of keys) if (f.keys.has(k)) this.liftedInFlight.add(k);
    }
    this.store.deactivate(keys);
  }

  private enqueueBan(change: ElementChange, refresh: boolean, write: BanWrite, done: Done | null): void {
    const rk = `${change.set}|${change.key}`;
    let waiting: Done[] | undefined;
    // Whoever waited for a removal of this element now waits for the element that replaces it.
    for (const m of [this.removes, this.manualRemoves]) {
      const r = m.get(rk);
      if (r) {
        m.delete(rk);
        if (r.done) waiting = [...(waiting ?? []), ...r.done];
      }
    }
    const prev = this.manualBans.get(change.key) ?? this.bans.get(change.key);
    if (prev?.done) waiting = [...(waiting ?? []), ...prev.done];
    if (done) waiting = [...(waiting ?? []), done];
    // A new ban still pending stays a plain add; otherwise the latest decision wins.
    const entry: PendingBan = { change, refresh: prev ? prev.refresh && refresh : refresh, write, done: waiting };
    if (waiting) {
      this.bans.delete(change.key);
      this.manualBans.set(change.key, entry);
      this.kickManual();
    } else {
      this.bans.set(change.key, entry);
      this.kick();
    }
  }

  private enqueueRemove(change: ElementChange, done: Done | null): void {
    const rk = `${change.set}|${change.key}`;
    let waiting = [...(this.manualRemoves.get(rk)?.done ?? []), ...(this.removes.get(rk)?.done ?? [])];
    for (const m of [this.bans, this.manualBans]) {
      const pending = m.get(change.key);
      if (pending && pending.change.set === change.set) {
        m.delete(change.key);
        // The ban never reaches nft: its waiters are answered with the removal.
        if (pending.done) waiting.push(...pending.done);
      }
    }
    if (done) waiting.push(done);
    this.removes.delete(rk);
    this.manualRemoves.delete(rk);
    if (waiting.length > 0) {
      this.manualRemoves.set(rk, { change, done: waiting });
      this.kickManual();
    } else {
      this.removes.set(rk, { change });
      this.kick();
    }
  }

  /** Resolves once everything queued so far has been sent (or failed and been logged). */
  flushed(): Promise<void> {
    if (this.pending === 0 && !this.running && !this.manualRunning && this.dispatched.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.kick();
      this.kickManual();
    });
  }

  private kick(): void {
    if (this.running) return;
    if (this.bans.size + this.removes.size === 0) {
      this.wakeWaitersIfIdle();
      return;
    }
    this.running = new Promise<void>((resolve) => {
      const start = () => void this.loop().finally(resolve);
      if (this.flushIntervalMs > 0) setTimeout(start, this.flushIntervalMs);
      else setImmediate(start);
    }).then(() => {
      this.running = null;
      this.kick();
    });
  }

  private kickManual(): void {
    if (this.manualRunning) return;
    if (this.manualBans.size + this.manualRemoves.size === 0) {
      this.wakeWaitersIfIdle();
      return;
    }
    // Started after the current synchronous run (a microtask), so that what one operation queues
    // at once (an unban: the ban element and the scanners entries) is one transaction.
    this.manualRunning = Promise.resolve()
      .then(() => this.manualLoop())
      .finally(() => {
        this.manualRunning = null;
        this.kickManual();
      });
  }

  private wakeWaitersIfIdle(): void {
    if (this.pending > 0 || this.running || this.manualRunning || this.dispatched.size > 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  /**
   * During a burst (more pending than a small transaction holds), a transaction costs ~15 ms
   * whatever its size, so let the batch grow while decisions keep coming: until `burstBatch`,
   * a pause in the decisions, or `burstWaitMs`. Small batches (the usual case) never wait.
   */
  private async fill(): Promise<void> {
    const started = performance.now();
    let last = this.bans.size;
    for (let i = 0; i < 10_000; i++) {
      if (this.bans.size <= this.smallBatch || this.bans.size >= this.burstBatch) return;
      if (performance.now() - started >= this.burstWaitMs) return;
      await new Promise((r) => setImmediate(r));
      if (this.bans.size === last) return;
      last = this.bans.size;
    }
  }

  /** A backlog lane with nothing in flight, waiting for one when `pipeline` are busy. */
  private async freeBacklogLane(): Promise<'backlog' | 'backlog2'> {
    for (;;) {
      const lanes = BACKLOG_LANES.slice(0, this.pipeline);
      const free = lanes.find((l) => this.inFlight[l] === null);
      if (free) return free;
      await Promise.race(lanes.map((l) => this.inFlight[l]!.done));
    }
  }

  private async loop(): Promise<void> {
    while (this.bans.size + this.removes.size > 0) {
      let lane = await this.freeBacklogLane();
      await this.fill();
      const removes = [...this.removes.values()];
      this.removes.clear();
      const taken: PendingBan[] = [];
      for (const [k, p] of this.bans) {
        if (taken.length >= this.maxBatch) break;
        taken.push(p);
        this.bans.delete(k);
      }
      if (removes.length > 0) {
        // Removals: after whatever the backlog has in flight, in their own transaction.
        await Promise.all([...this.dispatched]);
        lane = 'backlog';
        await this.send(lane, { remove: removes.map((r) => r.change) });
      }
      if (taken.length > 0) {
        const keys = new Set(taken.map((p) => p.write.target));
        const sent = this.send(lane, {
          add: taken.filter((p) => !p.refresh).map((p) => p.change),
          refresh: taken.filter((p) => p.refresh).map((p) => p.change),
        }, () => {
          for (const p of taken) this.storeQueue.push(p.write);
          this.deactivateLifted(keys);
        }).then(() => {
          this.onBansSent?.(taken.map((p) => p.change.key));
          // The store follows the kernel: at once when nothing else waits (the usual case), and
          // in a burst after the kernel has the bans (or every STORE_CHUNK rows).
          if (this.bans.size === 0 || this.storeQueue.length >= STORE_CHUNK) this.writeStore();
        });
        // Pipelined: a small batch is left in flight and the next one may start beside it.
        if (this.pipeline === 1 || taken.length > this.smallBatch) await sent;
        else {
          this.dispatched.add(sent);
          void sent.finally(() => {
            this.dispatched.delete(sent);
            this.kick();
            this.wakeWaitersIfIdle();
          });
        }
      }
    }
  }

  /** Rows of these targets unbanned while their transaction was in flight: written, then deactivated. */
  private deactivateLifted(keys: ReadonlySet<string>): void {
    if (this.liftedInFlight.size === 0) return;
    const lifted = new Set([...this.liftedInFlight].filter((k) => keys.has(k)));
    if (lifted.size === 0) return;
    for (const k of lifted) this.liftedInFlight.delete(k);
    this.writeRowsOf(lifted, []);
    try {
      this.store.deactivate([...lifted]);
    } catch (err) {
      this.log.error({ err }, 'store write failed');
    }
  }

  private async manualLoop(): Promise<void> {
    while (this.manualBans.size + this.manualRemoves.size > 0) {
      const removes = [...this.manualRemoves.values()];
      this.manualRemoves.clear();
      const taken = [...this.manualBans.values()].slice(0, this.maxBatch);
      for (const p of taken) this.manualBans.delete(p.change.key);
      if (removes.length > 0) {
        await this.send('manual', { remove: removes.map((r) => r.change) });
        for (const r of removes) for (const d of r.done ?? []) d();
      }
      if (taken.length > 0) {
        await this.send('manual', {
          add: taken.filter((p) => !p.refresh).map((p) => p.change),
          refresh: taken.filter((p) => p.refresh).map((p) => p.change),
        });
        this.onBansSent?.(taken.map((p) => p.change.key));
        this.writeRowsOf(new Set(taken.map((p) => p.write.target)), taken.map((p) => p.write));
        for (const p of taken) for (const d of p.done ?? []) d();
      }
    }
  }

  /** Writes the backlog's queued rows of these targets (older), then `rows` (newer), in one SQL transaction. */
  private writeRowsOf(targets: ReadonlySet<string>, rows: BanWrite[]): void {
    const older: BanWrite[] = [];
    if (this.storeQueue.length > 0 && targets.size > 0) {
      const rest: BanWrite[] = [];
      for (const w of this.storeQueue) (targets.has(w.target) ? older : rest).push(w);
      if (older.length > 0) this.storeQueue = rest;
    }
    this.recordRows([...older, ...rows]);
  }

  private writeStore(): void {
    if (this.storeQueue.length === 0) return;
    const rows = this.storeQueue;
    this.storeQueue = [];
    this.recordRows(rows);
  }

  private recordRows(rows: BanWrite[]): void {
    if (rows.length === 0) return;
    try {
      this.store.recordBans(rows);
    } catch (err) {
      this.log.error({ err }, 'store write failed; bans are in the kernel and in memory');
    }
  }

  /**
   * One batch through the lane's transaction path. The lane is marked at once (its keys count
   * as in flight from here), then the batch waits for the other lanes' transactions marked
   * before it that hold one of the same keys: only earlier ones, taken in the same synchronous
   * step as the mark, so two batches never wait for each other. `after` runs once nft answered,
   * before the lane's in-flight mark clears.
   */
  private async send(lane: Lane, batch: ElementBatch, after?: () => void): Promise<void> {
    const all = [...(batch.remove ?? []), ...(batch.refresh ?? []), ...(batch.add ?? [])];
    const keys = new Set(all.map((c) => c.key));
    const earlier: Array<Promise<void>> = [];
    for (const l of LANES) {
      const other = this.inFlight[l];
      if (l !== lane && other && all.some((c) => other.keys.has(c.key))) earlier.push(other.done);
    }
    let finish!: () => void;
    const mark: InFlight = { keys, done: new Promise<void>((r) => (finish = r)) };
    this.inFlight[lane] = mark;
    try {
      if (earlier.length > 0) await Promise.all(earlier);
      const outcome = await this.backend.apply(batch, lane);
      this.stats.transactions += outcome.transactions;
      this.stats.elements += all.length;
      this.stats.refused += outcome.refused.length;
      this.stats.lastDurationMs = outcome.durationMs;
      this.stats.lastBatch = all.length;
      this.onApplied(outcome.durationMs);
    } catch (err) {
      this.stats.failures++;
      this.log.warn({ err: (err as Error).message, elements: all.length, lane }, 'nft transaction failed; self-healing will re-apply');
      this.onNftError(err);
    } finally {
      after?.();
      if (this.inFlight[lane] === mark) this.inFlight[lane] = null;
      finish();
    }
  }
}
