/**
 * The offender index's ActiveSweep (reconcile.ts): which active bans a reading of the kernel met,
 * as one byte per slot, and the index's change number when the sweep began: a record written
 * since then (banned, refreshed, lifted, expired, its slot reused) is the ledger's newer word and
 * stays out of the diff, and so is a target without a record once the index forgot any record
 * meanwhile (the next check looks again). No copy of the bans is made. Pure, no IO.
 */
import type { BanSetName } from './ban-target.ts';
import type { Offender, OffenderSlots } from './offender-slots.ts';
import type { ActiveSweep } from './reconcile.ts';

export class IndexSweep implements ActiveSweep {
  private readonly slotOf: ReadonlyMap<string, number>;
  private readonly slots: OffenderSlots;
  private readonly mark: number;
  /** 1: the slot's ban was met. Slots given after the sweep began are beyond its end. */
  private readonly seen: Uint8Array;

  /** How many records the index has forgotten: the count now, and when the sweep began. */
  private readonly forgotten: () => number;
  private readonly forgottenAtStart: number;

  constructor(slotOf: ReadonlyMap<string, number>, slots: OffenderSlots, forgotten: () => number) {
    this.slotOf = slotOf;
    this.slots = slots;
    this.forgotten = forgotten;
    this.forgottenAtStart = forgotten();
    this.mark = slots.lastChangeNumber;
    this.seen = new Uint8Array(slots.capacity);
  }

  see(set: BanSetName, key: string): Offender | 'changed' | undefined {
    const slot = this.slotOf.get(key);
    // A record forgotten meanwhile may be this one (ended while the sets were read).
    if (slot === undefined) return this.forgotten() === this.forgottenAtStart ? undefined : 'changed';
    if (this.slots.changeOf(slot) > this.mark) return 'changed';
    if (!this.slots.isActive(slot) || this.slots.setOf(slot) !== set) return undefined;
    this.seen[slot] = 1;
    return this.slots.read(slot);
  }

  unchanged(key: string): Offender | undefined {
    const slot = this.slotOf.get(key);
    if (slot === undefined || !this.slots.isActive(slot) || this.slots.changeOf(slot) > this.mark) return undefined;
    return this.slots.read(slot);
  }

  *unseen(sets: readonly BanSetName[]): IterableIterator<[string, Offender]> {
    for (const [key, slot] of this.slotOf) {
      if (this.seen[slot] === 1 || !this.slots.isActive(slot) || this.slots.changeOf(slot) > this.mark) continue;
      if (sets.includes(this.slots.setOf(slot))) yield [key, this.slots.read(slot)];
    }
  }
}
