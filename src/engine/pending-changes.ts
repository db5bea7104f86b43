/**
 * The element changes decided and not yet sent, in two queues: `automatic` (what alerts, kernel
 * detections, expiry and reconcile decide) and `operator` (API and CLI operations, whose callers
 * wait for their own element). Pure and synchronous: no IO, no timers.
 *
 * Coalescing, per element key: a target lives in exactly one ban set, so pending bans are keyed by
 * target; removals by `set|key`. The latest decision wins, across both queues: a ban replaces a
 * pending removal of the same element and a removal cancels a pending ban of it. A new ban still
 * pending stays a plain add when it is decided again (a refresh only of a sent element). Whoever
 * waits for a change that is replaced waits for its replacement, which then goes to the operator
 * queue (a waiter is never left behind the automatic backlog).
 */
import type { ElementChange } from '../nft/elements.ts';
import type { BanWrite } from '../store/store.ts';

export type Done = () => void;

export interface PendingBan {
  change: ElementChange;
  refresh: boolean;
  /** The store row written once the kernel has the element. */
  write: BanWrite;
  /** Operator calls waiting for this element. */
  done?: Done[];
}

export interface PendingRemove {
  change: ElementChange;
  done?: Done[];
}

export type QueueName = 'automatic' | 'operator';

/**
 * What one transaction takes from a queue: every removal, else up to maxBatch bans. Removals go
 * alone (a sender waits for the lanes before it sends them): a ban taken with them would wait
 * outside both the queue and the lanes, where a lift could neither cancel it nor find it in flight.
 */
export interface Taken {
  removes: PendingRemove[];
  bans: PendingBan[];
}

class Queue {
  readonly bans = new Map<string, PendingBan>();
  readonly removes = new Map<string, PendingRemove>();

  get size(): number {
    return this.bans.size + this.removes.size;
  }

  take(maxBatch: number): Taken {
    const removes = [...this.removes.values()];
    this.removes.clear();
    const bans: PendingBan[] = [];
    if (removes.length > 0) return { removes, bans };
    for (const [k, p] of this.bans) {
      if (bans.length >= maxBatch) break;
      bans.push(p);
      this.bans.delete(k);
    }
    return { removes, bans };
  }
}

const removeKey = (c: ElementChange) => `${c.set}|${c.key}`;

export class PendingChanges {
  private readonly automatic = new Queue();
  private readonly operator = new Queue();

  /** Every pending change, both queues. */
  get size(): number {
    return this.automatic.size + this.operator.size;
  }

  sizeOf(queue: QueueName): number {
    return this[queue].size;
  }

  /** Pending automatic bans (what a burst batch grows with). */
  get automaticBans(): number {
    return this.automatic.bans.size;
  }

  /** Queues a ban; `done` makes it an operator change. Returns the queue it went to. */
  addBan(change: ElementChange, refresh: boolean, write: BanWrite, done: Done | null): QueueName {
    const rk = removeKey(change);
    const waiting: Done[] = [];
    for (const q of [this.automatic, this.operator]) {
      const r = q.removes.get(rk);
      if (r) {
        q.removes.delete(rk);
        if (r.done) waiting.push(...r.done);
      }
    }
    const prev = this.operator.bans.get(change.key) ?? this.automatic.bans.get(change.key);
    if (prev?.done) waiting.push(...prev.done);
    if (done) waiting.push(done);
    const entry: PendingBan = { change, refresh: prev ? prev.refresh && refresh : refresh, write };
    if (waiting.length > 0) {
      entry.done = waiting;
      this.automatic.bans.delete(change.key);
      this.operator.bans.set(change.key, entry);
      return 'operator';
    }
    this.automatic.bans.set(change.key, entry);
    return 'automatic';
  }

  /** Queues a removal (cancelling a pending ban of the same element); `done` makes it an operator change. */
  addRemove(change: ElementChange, done: Done | null): QueueName {
    const rk = removeKey(change);
    const waiting = [...(this.operator.removes.get(rk)?.done ?? []), ...(this.automatic.removes.get(rk)?.done ?? [])];
    for (const q of [this.automatic, this.operator]) {
      const pending = q.bans.get(change.key);
      if (pending && pending.change.set === change.set) {
        q.bans.delete(change.key);
        // The ban never reaches nft: its waiters are answered with the removal.
        if (pending.done) waiting.push(...pending.done);
      }
    }
    if (done) waiting.push(done);
    this.automatic.removes.delete(rk);
    this.operator.removes.delete(rk);
    if (waiting.length > 0) {
      this.operator.removes.set(rk, { change, done: waiting });
      return 'operator';
    }
    this.automatic.removes.set(rk, { change });
    return 'automatic';
  }

  /** The keys of every pending change (bans and removals, both queues). */
  keys(): Set<string> {
    const out = new Set<string>();
    for (const q of [this.automatic, this.operator]) {
      for (const k of q.bans.keys()) out.add(k);
      for (const r of q.removes.values()) out.add(r.change.key);
    }
    return out;
  }

  /** Takes every pending removal and up to `maxBatch` bans of a queue, oldest first. */
  take(queue: QueueName, maxBatch: number): Taken {
    return this[queue].take(maxBatch);
  }
}
