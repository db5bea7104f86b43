/**
 * Coalesces ban decisions into batches: whatever is decided while nft is busy goes into the next
 * transaction, so a burst of alerts becomes a few transactions, never one process per address.
 * Order of one flush: unbans (their own transaction), then bans and refreshes (one transaction),
 * then the store (one SQL transaction; in a burst, once the kernel has the burst). nft first: a
 * crash in between leaves kernel elements the store does not know, which the next start adopts;
 * a failed nft transaction is repaired by the self-healing from memory.
 */
import type { Logger } from '../log.ts';
import type { ElementChange } from '../nft/elements.ts';
import type { Store, BanWrite } from '../store/store.ts';
import type { BanBackend } from './ban-backend.ts';

interface PendingBan {
  change: ElementChange;
  refresh: boolean;
  write: BanWrite;
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
  private removes = new Map<string, ElementChange>();
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
    if (this.removes.size > 0) this.removes.delete(`${change.set}|${change.key}`);
    const prev = this.bans.get(change.key);
    // A new ban still pending stays a plain add; otherwise the latest decision wins.
    this.bans.set(change.key, { change, refresh: prev ? prev.refresh && refresh : refresh, write });
    if (!this.running) this.kick();
  }

  queueRemove(change: ElementChange): void {
    const pending = this.bans.get(change.key);
    if (pending && pending.change.set === change.set) this.bans.delete(change.key);
    this.removes.set(`${change.set}|${change.key}`, change);
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
      for (const [k, p] of this.bans) {
        if (taken.length >= this.maxBatch) break;
        taken.push(p);
        this.bans.delete(k);
      }
      if (removes.length > 0) await this.send({ remove: removes });
      if (taken.length > 0) {
        await this.send({
          add: taken.filter((p) => !p.refresh).map((p) => p.change),
          refresh: taken.filter((p) => p.refresh).map((p) => p.change),
        });
        this.onBansSent?.(taken.map((p) => p.change.key));
        for (const p of taken) this.storeQueue.push(p.write);
      }
      // The store follows the kernel: at once when nothing else waits (the usual case), and in a
      // burst after the kernel has the bans (or every STORE_CHUNK rows).
      if (this.bans.size === 0 || this.storeQueue.length >= STORE_CHUNK) this.writeStore();
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
