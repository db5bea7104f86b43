/**
 * The offenders' records as columns of typed arrays, one slot per target: no object and no boxed
 * number per offender. A record as an object with two boxed times cost about 110 bytes of heap
 * per ban besides its key; a slot costs 33 bytes, off the JS heap (docs/engine.md, "Memory").
 * A freed slot is reused. Pure, no IO.
 */
import type { BanSetName } from './ban-target.ts';

/** One offender's record, as read from its slot (a fresh object each read). */
export interface Offender {
  set: BanSetName;
  active: boolean;
  /** null: permanent (when active). */
  expiresMs: number | null;
  durationSec: number | null;
  offences: number;
  lastOffenceMs: number;
  /** Asked for by an operator (API/CLI): never replaced by a cap aggregate nor dropped at the cap. */
  manual: boolean;
  /** Changes with every write of the record: a reader tells an unchanged record by it. */
  change: number;
}

const SETS: readonly BanSetName[] = ['ban4', 'ban6', 'ban6net64', 'bannet4', 'bannet6'];
const SET_BITS = 7;
const ACTIVE = 8;
const MANUAL = 16;

export class OffenderSlots {
  /** Epoch ms; NaN: permanent. */
  private expires = new Float64Array(0);
  private lastOffence = new Float64Array(0);
  /** Seconds; NaN: none. */
  private duration = new Float64Array(0);
  private offences = new Uint32Array(0);
  /** The set's index in SETS, ACTIVE, MANUAL. */
  private flags = new Uint8Array(0);
  private changes = new Uint32Array(0);
  private used = 0;
  private lastChange = 0;
  private readonly free: number[] = [];

  /** A slot for a new record (written next). */
  alloc(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.used === this.flags.length) this.grow(Math.max(1024, this.used * 2));
    return this.used++;
  }

  release(slot: number): void {
    this.flags[slot] = 0;
    this.free.push(slot);
  }

  write(slot: number, o: Omit<Offender, 'change'>): void {
    this.expires[slot] = o.expiresMs ?? NaN;
    this.lastOffence[slot] = o.lastOffenceMs;
    this.duration[slot] = o.durationSec ?? NaN;
    this.offences[slot] = o.offences;
    this.flags[slot] = SETS.indexOf(o.set) | (o.active ? ACTIVE : 0) | (o.manual ? MANUAL : 0);
    this.changes[slot] = ++this.lastChange;
  }

  read(slot: number): Offender {
    const e = this.expires[slot]!;
    const d = this.duration[slot]!;
    const f = this.flags[slot]!;
    return {
      set: SETS[f & SET_BITS]!,
      active: (f & ACTIVE) !== 0,
      expiresMs: Number.isNaN(e) ? null : e,
      durationSec: Number.isNaN(d) ? null : d,
      offences: this.offences[slot]!,
      lastOffenceMs: this.lastOffence[slot]!,
      manual: (f & MANUAL) !== 0,
      change: this.changes[slot]!,
    };
  }

  deactivate(slot: number): void {
    this.flags[slot]! &= ~ACTIVE;
    this.changes[slot] = ++this.lastChange;
  }

  isActive(slot: number): boolean {
    return (this.flags[slot]! & ACTIVE) !== 0;
  }

  isManual(slot: number): boolean {
    return (this.flags[slot]! & MANUAL) !== 0;
  }

  setOf(slot: number): BanSetName {
    return SETS[this.flags[slot]! & SET_BITS]!;
  }

  /** Whether an active ban's time is up at `nowMs` (never for a permanent one). */
  expiredAt(slot: number, nowMs: number): boolean {
    return (this.flags[slot]! & ACTIVE) !== 0 && this.expires[slot]! <= nowMs;
  }

  /** The last change number given: a record written later has a higher one. */
  get lastChangeNumber(): number {
    return this.lastChange;
  }

  /** Slots there are room for (every slot given so far is below). */
  get capacity(): number {
    return this.flags.length;
  }

  changeOf(slot: number): number {
    return this.changes[slot]!;
  }

  offencesOf(slot: number): number {
    return this.offences[slot]!;
  }

  lastOffenceOf(slot: number): number {
    return this.lastOffence[slot]!;
  }

  private grow(capacity: number): void {
    const grown = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(capacity);
      b.set(a);
      return b;
    };
    this.expires = grown(this.expires, (n) => new Float64Array(n));
    this.lastOffence = grown(this.lastOffence, (n) => new Float64Array(n));
    this.duration = grown(this.duration, (n) => new Float64Array(n));
    this.offences = grown(this.offences, (n) => new Uint32Array(n));
    this.flags = grown(this.flags, (n) => new Uint8Array(n));
    this.changes = grown(this.changes, (n) => new Uint32Array(n));
  }
}
