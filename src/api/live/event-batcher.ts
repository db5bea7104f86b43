/**
 * The main thread's side of the live events: while someone watches (the API says how many
 * watchers it has), each ban event from the daemon's feed (engine/ban-events.ts) is pushed onto an
 * array, and the array is handed over at most every `intervalMs` (50 ms) as one batch. The feed's
 * listener runs on the flusher's path, so it only pushes; nobody watching costs nothing at all
 * (the listener is not subscribed).
 *
 * Bounded: at most `maxPending` events wait; beyond that the oldest are dropped and the next
 * batch says how many (a client then reloads instead of trusting a gap).
 */
import type { BanEvent, BanEventListener } from '../../engine/ban-events.ts';

export interface BanEventFeed {
  subscribe(listener: BanEventListener): () => void;
}

export interface EventBatch {
  events: BanEvent[];
  /** Events dropped before this batch because too many waited. */
  lost: number;
}

export interface EventBatcherOptions {
  intervalMs?: number;
  maxPending?: number;
}

export class EventBatcher {
  private readonly feed: BanEventFeed;
  private readonly deliver: (batch: EventBatch) => void;
  private readonly intervalMs: number;
  private readonly maxPending: number;
  private pending: BanEvent[] = [];
  private lost = 0;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(feed: BanEventFeed, deliver: (batch: EventBatch) => void, options: EventBatcherOptions = {}) {
    this.feed = feed;
    this.deliver = deliver;
    this.intervalMs = options.intervalMs ?? 50;
    this.maxPending = options.maxPending ?? 20_000;
  }

  /** Follows the feed while `watchers` > 0, not otherwise. */
  watchers(count: number): void {
    if (count > 0 && !this.unsubscribe) this.unsubscribe = this.feed.subscribe((e) => this.take(e));
    else if (count === 0 && this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = null;
      this.pending = [];
      this.lost = 0;
    }
  }

  get following(): boolean {
    return this.unsubscribe !== null;
  }

  private take(e: BanEvent): void {
    if (this.pending.length >= this.maxPending) {
      this.pending.shift();
      this.lost++;
    }
    this.pending.push(e);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Hands over what waits now (also on close). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0 && this.lost === 0) return;
    const batch = { events: this.pending, lost: this.lost };
    this.pending = [];
    this.lost = 0;
    this.deliver(batch);
  }

  close(): void {
    this.watchers(0);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
