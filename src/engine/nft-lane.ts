/**
 * One lane: one `nft -i` session and the transaction it has in flight. The flusher has up to
 * three: `alerts` (what alerts, kernel detections and expiry decide), `alerts-overlap` (the
 * second alerts session, for a small batch that starts while the one ahead of it is in flight)
 * and `operator` (API and CLI operations, never queued behind the alerts).
 *
 * A transaction marks its lane with the keys it holds before it waits for anything, then waits
 * for the other lanes' transactions marked before it that hold one of the same keys: only earlier
 * ones, found in the same synchronous step as the mark, so two transactions never wait for each
 * other and one key is never in flight twice.
 */
import type { ElementBatch } from '../nft/elements.ts';
import type { ApplyOutcome, LaneTransport } from './lane-transport.ts';

export type LaneName = 'alerts' | 'alerts-overlap' | 'operator';

interface InFlight {
  keys: ReadonlySet<string>;
  done: Promise<void>;
}

/** Every key of a batch (removals, refreshes, adds). */
export function batchKeys(batch: ElementBatch): Set<string> {
  const keys = new Set<string>();
  for (const list of [batch.remove, batch.refresh, batch.add]) for (const c of list ?? []) keys.add(c.key);
  return keys;
}

export class NftLane {
  readonly name: LaneName;
  readonly transport: LaneTransport;
  private inFlight: InFlight | null = null;

  constructor(name: LaneName, transport: LaneTransport) {
    this.name = name;
    this.transport = transport;
  }

  get busy(): boolean {
    return this.inFlight !== null;
  }

  /** Resolves when the transaction in flight (if any) has finished. */
  idle(): Promise<void> {
    return this.inFlight?.done ?? Promise.resolve();
  }

  holdsAny(keys: ReadonlySet<string>): boolean {
    const f = this.inFlight;
    if (!f) return false;
    for (const k of keys) if (f.keys.has(k)) return true;
    return false;
  }

  holds(key: string): boolean {
    return this.inFlight?.keys.has(key) ?? false;
  }

  /** Adds the keys of the transaction in flight to `into`; returns it. */
  addHeldKeys(into: Set<string>): Set<string> {
    for (const k of this.inFlight?.keys ?? []) into.add(k);
    return into;
  }

  /**
   * Runs one batch on this lane: marks it, waits for `others` holding the same keys, applies it.
   * `after` runs once nft answered (or failed), before the mark clears.
   */
  async run(batch: ElementBatch, others: readonly NftLane[], after?: () => void): Promise<ApplyOutcome> {
    const keys = batchKeys(batch);
    const earlier = others.filter((l) => l !== this && l.holdsAny(keys)).map((l) => l.idle());
    let finish!: () => void;
    const mark: InFlight = { keys, done: new Promise<void>((r) => (finish = r)) };
    this.inFlight = mark;
    try {
      if (earlier.length > 0) await Promise.all(earlier);
      return await this.transport.apply(batch);
    } finally {
      after?.();
      if (this.inFlight === mark) this.inFlight = null;
      finish();
    }
  }
}
