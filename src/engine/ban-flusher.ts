/**
 * Turns queued element changes into nft transactions: whatever is decided while nft is busy goes
 * into the next transaction, so a burst of alerts becomes a few transactions, never one process
 * per address. The parts: PendingChanges (what waits, coalesced), one NftLane per `nft -i`
 * session, and the StoreFollower (rows written once the kernel has the elements).
 *
 * The automatic queue goes through the `alerts` lane: removals in their own transaction, after
 * whatever the lanes have in flight, then bans and refreshes in one. With `pipeline: 2` a small
 * batch of bans starts on `alerts-overlap` while the one ahead of it is still in flight. The
 * operator queue goes through the `operator` lane at once, beside the alerts (the kernel
 * serialises the commits); an operator call resolves once nft applied its element (or failed and
 * it was logged) and, for a ban, the store has the row: it waits for its own element only.
 */
import type { Logger } from '../log.ts';
import type { ElementBatch, ElementChange } from '../nft/elements.ts';
import type { BanWrite } from '../store/store.ts';
import type { NftLane } from './nft-lane.ts';
import { PendingChanges, type PendingBan, type QueueName } from './pending-changes.ts';
import type { StoreFollower } from './store-follower.ts';

export interface FlusherStats {
  transactions: number;
  elements: number;
  failures: number;
  refused: number;
  lastDurationMs: number;
  lastBatch: number;
}

export interface FlusherOptions {
  flushIntervalMs: number;
  maxBatch: number;
  /** Largest batch that counts as small (goes through a session; never waits to grow). */
  smallBatch: number;
  burstBatch: number;
  burstWaitMs: number;
  onNftError: (err: unknown) => void;
  /** Every transaction nft applied, with its duration (the metrics histogram). */
  onApplied?: (durationMs: number) => void;
}

export interface FlusherLanes {
  alerts: NftLane;
  /** Present when pipelining (two alerts transactions in flight at most). */
  overlap: NftLane | null;
  operator: NftLane;
}

const bansOf = (taken: readonly PendingBan[]): ElementBatch => ({
  add: taken.filter((p) => !p.refresh).map((p) => p.change),
  refresh: taken.filter((p) => p.refresh).map((p) => p.change),
});

export class BanFlusher {
  private readonly changes = new PendingChanges();
  private readonly lanes: FlusherLanes;
  private readonly all: readonly NftLane[];
  private readonly follower: StoreFollower;
  private readonly log: Logger;
  private readonly opts: FlusherOptions;
  private waiters: Array<() => void> = [];
  private running: Promise<void> | null = null;
  private operatorRunning: Promise<void> | null = null;
  /** Alerts transactions dispatched and not yet finished (pipelining). */
  private readonly dispatched = new Set<Promise<void>>();
  /** Called after each ban transaction reached nft, with its targets (benchmarks). */
  onBansSent: ((targets: readonly string[]) => void) | null = null;
  readonly stats: FlusherStats = {
    transactions: 0,
    elements: 0,
    failures: 0,
    refused: 0,
    lastDurationMs: 0,
    lastBatch: 0,
  };

  constructor(lanes: FlusherLanes, follower: StoreFollower, log: Logger, opts: FlusherOptions) {
    this.lanes = lanes;
    this.all = [lanes.alerts, ...(lanes.overlap ? [lanes.overlap] : []), lanes.operator];
    this.follower = follower;
    this.log = log;
    this.opts = opts;
  }

  /** Changes queued and not yet sent. */
  get pending(): number {
    return this.changes.size;
  }

  /** A ban decided from alerts or the kernel: the automatic queue. */
  queueBan(change: ElementChange, refresh: boolean, write: BanWrite): void {
    this.kickQueue(this.changes.addBan(change, refresh, write, null));
  }

  /** An operator ban: resolves once nft has applied it (or failed and it was logged) and the store has the row. */
  queueOperatorBan(change: ElementChange, refresh: boolean, write: BanWrite): Promise<void> {
    return new Promise((resolve) => this.kickQueue(this.changes.addBan(change, refresh, write, resolve)));
  }

  queueRemove(change: ElementChange): void {
    this.kickQueue(this.changes.addRemove(change, null));
  }

  /** An operator removal: resolves once the transaction that carried it has been applied (or failed and been logged). */
  queueOperatorRemove(change: ElementChange): Promise<void> {
    return new Promise((resolve) => this.kickQueue(this.changes.addRemove(change, resolve)));
  }

  /** Marks these targets inactive in the store (an unban), in order with their rows (see StoreFollower). */
  deactivate(targets: readonly string[]): void {
    const alertLanes = [this.lanes.alerts, this.lanes.overlap].filter((l): l is NftLane => l !== null);
    this.follower.deactivate(targets, (k) => alertLanes.some((l) => l.holds(k)));
  }

  /** One transaction on the alerts lane's session, outside the queues (restore, reconcile, probes). */
  direct(batch: ElementBatch): Promise<void> {
    return this.lanes.alerts.transport.send(batch);
  }

  /** Starts every lane's co-process, with `probe` as its first transaction. */
  async warm(probe: ElementBatch): Promise<void> {
    await Promise.all(this.all.map((l) => l.transport.warm(probe)));
  }

  /** True while every lane's co-process runs. */
  get coprocessesRunning(): boolean {
    return this.all.every((l) => l.transport.running);
  }

  /** Keys with a change queued or in flight: the kernel may not show it yet. */
  unsettled(): Set<string> {
    return this.all.reduce((keys, l) => l.addHeldKeys(keys), this.changes.keys());
  }

  close(): void {
    for (const l of this.all) l.transport.close();
  }

  /** Resolves once everything queued so far has been sent (or failed and been logged). */
  flushed(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.kick();
      this.kickOperator();
    });
  }

  private get idle(): boolean {
    return this.changes.size === 0 && !this.running && !this.operatorRunning && this.dispatched.size === 0;
  }

  private kickQueue(queue: QueueName): void {
    if (queue === 'operator') this.kickOperator();
    else this.kick();
  }

  private kick(): void {
    if (this.running) return;
    if (this.changes.sizeOf('automatic') === 0) {
      this.wakeWaitersIfIdle();
      return;
    }
    this.running = new Promise<void>((resolve) => {
      const start = () => void this.loop().finally(resolve);
      if (this.opts.flushIntervalMs > 0) setTimeout(start, this.opts.flushIntervalMs);
      else setImmediate(start);
    }).then(() => {
      this.running = null;
      this.kick();
    });
  }

  private kickOperator(): void {
    if (this.operatorRunning) return;
    if (this.changes.sizeOf('operator') === 0) {
      this.wakeWaitersIfIdle();
      return;
    }
    // Started after the current synchronous run (a microtask), so that what one operation queues
    // at once (an unban: the ban element and the scanners entries) is one transaction.
    this.operatorRunning = Promise.resolve()
      .then(() => this.operatorLoop())
      .finally(() => {
        this.operatorRunning = null;
        this.kickOperator();
      });
  }

  private wakeWaitersIfIdle(): void {
    if (!this.idle) return;
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  /**
   * During a burst (more pending than a small transaction holds) a transaction costs about the
   * same whatever its size, so the batch grows while decisions keep coming: until `burstBatch`,
   * a pause in the decisions, or `burstWaitMs`. Small batches (the usual case) never wait.
   */
  private async fill(): Promise<void> {
    const started = performance.now();
    let last = this.changes.automaticBans;
    for (let i = 0; i < 10_000; i++) {
      if (last <= this.opts.smallBatch || last >= this.opts.burstBatch) return;
      if (performance.now() - started >= this.opts.burstWaitMs) return;
      await new Promise((r) => setImmediate(r));
      if (this.changes.automaticBans === last) return;
      last = this.changes.automaticBans;
    }
  }

  /** An alerts lane with nothing in flight, waiting for one when every alerts lane is busy. */
  private async freeAlertsLane(): Promise<NftLane> {
    const lanes = [this.lanes.alerts, ...(this.lanes.overlap ? [this.lanes.overlap] : [])];
    for (;;) {
      const free = lanes.find((l) => !l.busy);
      if (free) return free;
      await Promise.race(lanes.map((l) => l.idle()));
    }
  }

  private async loop(): Promise<void> {
    while (this.changes.sizeOf('automatic') > 0) {
      let lane = await this.freeAlertsLane();
      await this.fill();
      const { removes, bans } = this.changes.take('automatic', this.opts.maxBatch);
      if (removes.length > 0) {
        // Removals: after whatever the alerts lanes have in flight, in their own transaction.
        await Promise.all([...this.dispatched]);
        lane = this.lanes.alerts;
        await this.send(lane, { remove: removes.map((r) => r.change) });
      }
      if (bans.length === 0) continue;
      const keys = new Set(bans.map((p) => p.write.target));
      const sent = this.send(lane, bansOf(bans), () =>
        this.follower.applied(
          bans.map((p) => p.write),
          keys,
        ),
      ).then(() => {
        this.onBansSent?.(bans.map((p) => p.change.key));
        this.follower.writeIfDue(this.changes.automaticBans > 0);
      });
      // Pipelined: a small batch is left in flight and the next one may start beside it.
      if (!this.lanes.overlap || bans.length > this.opts.smallBatch) await sent;
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

  private async operatorLoop(): Promise<void> {
    const lane = this.lanes.operator;
    while (this.changes.sizeOf('operator') > 0) {
      const { removes, bans } = this.changes.take('operator', this.opts.maxBatch);
      if (removes.length > 0) {
        await this.send(lane, { remove: removes.map((r) => r.change) });
        for (const r of removes) for (const d of r.done ?? []) d();
      }
      if (bans.length > 0) {
        await this.send(lane, bansOf(bans));
        this.onBansSent?.(bans.map((p) => p.change.key));
        this.follower.writeNow(
          new Set(bans.map((p) => p.write.target)),
          bans.map((p) => p.write),
        );
        for (const p of bans) for (const d of p.done ?? []) d();
      }
    }
  }

  /** One batch on a lane; a failure is counted, logged and handed to self-healing, never thrown. */
  private async send(lane: NftLane, batch: ElementBatch, after?: () => void): Promise<void> {
    const n = (batch.remove?.length ?? 0) + (batch.refresh?.length ?? 0) + (batch.add?.length ?? 0);
    try {
      const outcome = await lane.run(batch, this.all, after);
      this.stats.transactions += outcome.transactions;
      this.stats.elements += n;
      this.stats.refused += outcome.refused.length;
      this.stats.lastDurationMs = outcome.durationMs;
      this.stats.lastBatch = n;
      this.opts.onApplied?.(outcome.durationMs);
    } catch (err) {
      this.stats.failures++;
      this.log.warn(
        { err: (err as Error).message, elements: n, lane: lane.name },
        'nft transaction failed; self-healing will re-apply',
      );
      this.opts.onNftError(err);
    }
  }
}
