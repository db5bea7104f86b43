/**
 * Coalesces ban decisions into batches: whatever is decided while nft is busy goes into the next
 * transaction, so a burst of alerts becomes a few transactions, never one process per address.
 * Order of one flush: unbans (their own transaction), then bans and refreshes (one transaction),
 * then the store (one SQL transaction; in a burst, once the kernel has the burst). nft first: a
 * crash in between leaves kernel elements the store does not know, which the next start adopts;
 * a failed nft transaction is repaired by the self-healing from memory.
 *
 * Manual operations (API, CLI) queue through `queueManualBan`/`queueManualRemove`: their element
 * goes into the next transaction ahead of any alert backlog (a small one of its own, through the
 * `nft -i` co-process), and the returned promise resolves once the transaction that carried it
 * has been applied by nft (or failed and been logged, like `flushed()`) and, for a ban, the store
 * has its row. A caller waits for its own element, never for the whole backlog.
 */
import type { Logger } from '../log.ts';
import type { ElementChange } from '../nft/elements.ts';
import type { Store, BanWrite } from '../store/store.ts';
import type { BanBackend } from './ban-backend.ts';

type Done = () => void;

interface PendingBan {
  change: ElementChange;
  refresh: boolean;
  write: BanWrite;
  /** Manual operations waiting for this element (they also make it urgent). */
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

export class BanFlusher {
  private readonly backend: BanBackend;
  private readonly store: Store;
  private readonly log: Logger;
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly onNftError: (err: unknown) => void;
  private bans = new Map<string, PendingBan>();
  private storeQueue: BanWrite[] = [];
  private removes = new Map<string, PendingRemove>();
  /** Targets of pending bans someone waits for: sent before the backlog, in a transaction of their own. */
  private urgent = new Set<string>();
  private waiters: Array<() => void> = [];
  private running: Promise<void> | null = null;
  /** Called after each ban transaction reached nft, with its targets (benchmarks, metrics). */
  onBansSent: ((targets: readonly string[]) => void) | null = null;
  readonly stats: FlusherStats = { transactions: 0, elements: 0, failures: 0, refused: 0, lastDurationMs: 0, lastBatch: 0 };

  private readonly smallBatch: number;
  private readonly burstBatch: number;
  private readonly burstWaitMs: number;

  constructor(
    backend: BanBackend, store: Store, log: Logger,
    opts: { flushIntervalMs: number; maxBatch: number; smallBatch: number; burstBatch: number; burstWaitMs: number; onNftError: (err: unknown) => void },
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
  }

  get pending(): number {
    return this.bans.size + this.removes.size;
  }

  /** Pending bans are keyed by target (a target lives in exactly one ban set). */
  queueBan(change: ElementChange, refresh: boolean, write: BanWrite): void {
    this.enqueueBan(change, refresh, write, null);
  }

  /**
   * A manual ban: sent in the next transaction, ahead of the alert backlog. Resolves once that
   * transaction has been applied by nft (or failed and been logged) and the store has the row.
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

  private enqueueBan(change: ElementChange, refresh: boolean, write: BanWrite, done: Done | null): void {
    let waiting: Done[] | undefined;
    if (this.removes.size > 0) {
      const rk = `${change.set}|${change.key}`;
      const r = this.removes.get(rk);
      if (r) {
        this.removes.delete(rk);
        // Whoever waited for the removal now waits for the element that replaces it.
        if (r.done) waiting = [...r.done];
      }
    }
    const prev = this.bans.get(change.key);
    if (prev?.done) waiting = [...(waiting ?? []), ...prev.done];
    if (done) waiting = [...(waiting ?? []), done];
    // A new ban still pending stays a plain add; otherwise the latest decision wins.
    this.bans.set(change.key, { change, refresh: prev ? prev.refresh && refresh : refresh, write, done: waiting });
    if (waiting) this.urgent.add(change.key);
    if (!this.running) this.kick();
  }

  private enqueueRemove(change: ElementChange, done: Done | null): void {
    const rk = `${change.set}|${change.key}`;
    let waiting = this.removes.get(rk)?.done;
    const pending = this.bans.get(change.key);
    if (pending && pending.change.set === change.set) {
      this.bans.delete(change.key);
      this.urgent.delete(change.key);
      // The ban never reaches nft: its waiters are answered with the removal.
      if (pending.done) waiting = [...(waiting ?? []), ...pending.done];
    }
    if (done) waiting = [...(waiting ?? []), done];
    this.removes.set(rk, { change, done: waiting });
    this.kick();
  }

  /** Resolves once everything queued so far has been sent (or failed and been logged). */
  flushed(): Promise<void> {
    if (this.pending === 0 && !this.running) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.kick();
    });
  }

  private kick(): void {
    if (this.running) return;
    this.running = new Promise<void>((resolve) => {
      const start = () => void this.loop().finally(resolve);
      if (this.flushIntervalMs > 0) setTimeout(start, this.flushIntervalMs);
      else setImmediate(start);
    }).then(() => {
      this.running = null;
      if (this.pending > 0) this.kick();
      else this.wakeWaiters();
    });
  }

  private wakeWaiters(): void {
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
      if (this.urgent.size > 0) return;
      if (this.bans.size <= this.smallBatch || this.bans.size >= this.burstBatch) return;
      if (performance.now() - started >= this.burstWaitMs) return;
      await new Promise((r) => setImmediate(r));
      if (this.bans.size === last) return;
      last = this.bans.size;
    }
  }

  private async loop(): Promise<void> {
    while (this.pending > 0) {
      await this.fill();
      const removes = [...this.removes.values()];
      this.removes.clear();
      const taken: PendingBan[] = [];
      if (this.urgent.size > 0) {
        // Manual bans first, alone: a small transaction, not behind the backlog.
        for (const k of this.urgent) {
          const p = this.bans.get(k);
          if (!p) continue;
          if (taken.length >= this.maxBatch) break;
          taken.push(p);
          this.bans.delete(k);
          this.urgent.delete(k);
        }
        if (taken.length === 0) this.urgent.clear();
      } else {
        for (const [k, p] of this.bans) {
          if (taken.length >= this.maxBatch) break;
          taken.push(p);
          this.bans.delete(k);
        }
      }
      if (removes.length > 0) {
        await this.send({ remove: removes.map((r) => r.change) });
        for (const r of removes) if (r.done) for (const d of r.done) d();
      }
      let answered = false;
      if (taken.length > 0) {
        await this.send({
          add: taken.filter((p) => !p.refresh).map((p) => p.change),
          refresh: taken.filter((p) => p.refresh).map((p) => p.change),
        });
        this.onBansSent?.(taken.map((p) => p.change.key));
        for (const p of taken) {
          this.storeQueue.push(p.write);
          if (p.done) answered = true;
        }
      }
      // The store follows the kernel: at once when nothing else waits (the usual case) or someone
      // waits for a row just sent, and in a burst after the kernel has the bans (or every
      // STORE_CHUNK rows).
      if (answered || this.bans.size === 0 || this.storeQueue.length >= STORE_CHUNK) this.writeStore();
      if (answered) for (const p of taken) if (p.done) for (const d of p.done) d();
    }
  }

  private writeStore(): void {
    if (this.storeQueue.length === 0) return;
    const rows = this.storeQueue;
    this.storeQueue = [];
    try {
      this.store.recordBans(rows);
    } catch (err) {
      this.log.error({ err }, 'store write failed; bans are in the kernel and in memory');
    }
  }

  private async send(batch: { add?: ElementChange[]; refresh?: ElementChange[]; remove?: ElementChange[] }): Promise<void> {
    const n = (batch.add?.length ?? 0) + (batch.refresh?.length ?? 0) + (batch.remove?.length ?? 0);
    try {
      const outcome = await this.backend.apply(batch);
      this.stats.transactions += outcome.transactions;
      this.stats.elements += n;
      this.stats.refused += outcome.refused.length;
      this.stats.lastDurationMs = outcome.durationMs;
      this.stats.lastBatch = n;
    } catch (err) {
      this.stats.failures++;
      this.log.warn({ err: (err as Error).message, elements: n }, 'nft transaction failed; self-healing will re-apply');
      this.onNftError(err);
    }
  }
}
