/**
 * The hand-off between the sources and the consumer (the ban engine): a bounded FIFO of alerts.
 *
 * Semantics:
 * - `offer` never blocks and never grows the queue past `capacity`: when full, the alert is
 *   refused (returns false) and counted in `refused`.
 * - Sources that can wait without losing data (file, stdin) check `hasRoom` before reading more
 *   and `await whenRoom()` otherwise, holding what was refused: the file itself is their buffer.
 *   Sockets cannot wait (the IDS would block or drop on its side), so they keep reading and a
 *   refused alert is dropped, counted in the source's `dropped`.
 * - The consumer takes batches: `take(max)` (non-blocking) or `for await (const batch of queue)`,
 *   which ends after `close()` once the queue is empty.
 */
import type { Alert } from './alert.ts';

export interface IngestedAlert {
  /** The configured name of the source it came from. */
  source: string;
  alert: Alert;
  /** When nftsentry received it (clock time, epoch ms). */
  receivedMs: number;
}

/** What the sources write to; AlertQueue is the implementation, tests may pass their own. */
export interface AlertSink {
  /** False when the sink is full and refused the alert. */
  offer(item: IngestedAlert): boolean;
  /** False when a source that can wait should stop reading until `whenRoom()` resolves. */
  readonly hasRoom: boolean;
  whenRoom(): Promise<void>;
}

export interface AlertQueueStats {
  queued: number;
  capacity: number;
  offered: number;
  /** Offers refused because the queue was full: sources that can wait retry them, sockets drop them. */
  refused: number;
  /** Most alerts queued at once since start. */
  highWater: number;
}

export class AlertQueue implements AlertSink, AsyncIterable<IngestedAlert[]> {
  readonly capacity: number;
  private readonly ring: Array<IngestedAlert | undefined>;
  private head = 0;
  private size = 0;
  private offered = 0;
  private refused = 0;
  private highWater = 0;
  private closed = false;
  private readers: Array<() => void> = [];
  private roomWaiters: Array<() => void> = [];

  constructor(capacity = 10_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.capacity = capacity;
    this.ring = new Array<IngestedAlert | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  /** Waiting sources resume once the queue is at most half full. */
  get hasRoom(): boolean {
    return this.size <= this.capacity / 2 || this.closed;
  }

  offer(item: IngestedAlert): boolean {
    this.offered++;
    if (this.closed || this.size >= this.capacity) {
      this.refused++;
      return false;
    }
    this.ring[(this.head + this.size) % this.capacity] = item;
    this.size++;
    if (this.size > this.highWater) this.highWater = this.size;
    if (this.readers.length > 0) this.wake('readers');
    return true;
  }

  whenRoom(): Promise<void> {
    if (this.hasRoom) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Removes and returns up to `max` alerts, oldest first; empty when there is none. */
  take(max = Infinity): IngestedAlert[] {
    const n = Math.min(max, this.size);
    const out: IngestedAlert[] = new Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.ring[this.head]!;
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
    }
    this.size -= n;
    if (n > 0 && this.roomWaiters.length > 0 && this.hasRoom) this.wake('room');
    return out;
  }

  /** Resolves with the next batch (at most `max`), waiting while empty; [] once closed and empty. */
  async next(max = Infinity): Promise<IngestedAlert[]> {
    while (this.size === 0 && !this.closed) {
      await new Promise<void>((resolve) => this.readers.push(resolve));
    }
    return this.take(max);
  }

  /** No more alerts are accepted; readers drain what is queued, then end. */
  close(): void {
    this.closed = true;
    this.wake('readers');
    this.wake('room');
  }

  async *[Symbol.asyncIterator](): AsyncIterator<IngestedAlert[]> {
    while (true) {
      const batch = await this.next(1024);
      if (batch.length === 0) return;
      yield batch;
    }
  }

  stats(): AlertQueueStats {
    return {
      queued: this.size,
      capacity: this.capacity,
      offered: this.offered,
      refused: this.refused,
      highWater: this.highWater,
    };
  }

  private wake(which: 'readers' | 'room'): void {
    const list = which === 'readers' ? this.readers : this.roomWaiters;
    if (which === 'readers') this.readers = [];
    else this.roomWaiters = [];
    for (const resolve of list) resolve();
  }
}
