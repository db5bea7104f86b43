/**
 * What the engine keeps in memory about offenders: per target, the present ban (if any) and the
 * offence count that escalation reads. Small records only (offender-slots.ts: typed-array
 * columns); the details (reason, signature, times) stay in the store. Implements the decider's
 * BanState and the cap's CapState. No IO; times are parameters.
 */
import { type IpPrefix, prefixContaining, parseIp } from '../net/ip.ts';
import { AggregateIndex } from './aggregate-index.ts';
import type { CapState } from './ban-cap.ts';
import { PREFIX_BAN_SETS } from './ban-target.ts';
import type { BanState } from './decide.ts';
import { IndexSweep } from './index-sweep.ts';
import { type Offender, OffenderSlots } from './offender-slots.ts';
import type { ActiveSweep } from './reconcile.ts';

export type { Offender } from './offender-slots.ts';

/**
 * A copy of a target text that holds no other string. V8 makes a substring of 13 characters or
 * more a slice of its parent, so an address cut out of an alert line keeps the whole line alive
 * for as long as it is kept: the index's keys are copied with this. ASCII only.
 */
function flatKey(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

export class OffenderIndex implements BanState, CapState {
  /** Target text -> its slot. */
  private readonly slotOf = new Map<string, number>();
  /** Slot -> the target text kept as the key (the other indexes share that string). */
  private readonly keyOf: string[] = [];
  private readonly slots = new OffenderSlots();
  private readonly grace = new Map<string, number>();
  /** Active single IPv4 bans per aggregation prefix (only when aggregation is on). */
  private readonly perPrefix = new Map<string, number>();
  /** Active prefix bans (ban6net64/bannet4/bannet6): few, scanned to find the ban holding an address. */
  private readonly activePrefixes = new Set<string>();
  /** Automatic active bans by cap aggregate (IPv4 /24, IPv6 /48). */
  private readonly aggregates = new AggregateIndex();
  private activeCount = 0;
  private manualCount = 0;
  /** Records forgotten so far (a sweep under way treats what it cannot find as changed after one). */
  private forgotten = 0;
  forgetAfterMs: number;
  aggregatePrefix: number | null;

  constructor(forgetAfterMs: number, aggregatePrefix: number | null) {
    this.forgetAfterMs = forgetAfterMs;
    this.aggregatePrefix = aggregatePrefix;
  }

  get size(): number {
    return this.slotOf.size;
  }

  get activeSize(): number {
    return this.activeCount;
  }

  /** Active operator bans. */
  get manualSize(): number {
    return this.manualCount;
  }

  automaticIn(aggregate: IpPrefix): readonly string[] {
    return this.aggregates.members(aggregate);
  }

  get(target: string): Offender | undefined {
    const slot = this.slotOf.get(target);
    return slot === undefined ? undefined : this.slots.read(slot);
  }

  /** Records a ban (new or refreshed). */
  setActive(target: string, o: Omit<Offender, 'active' | 'manual' | 'change'> & { manual?: boolean }): void {
    let slot = this.slotOf.get(target);
    if (slot === undefined) {
      slot = this.slots.alloc();
      // The key lives as long as the offender: a copy of its own, not a slice of an alert line.
      const key = flatKey(target);
      this.keyOf[slot] = key;
      this.slotOf.set(key, slot);
    } else if (this.slots.isActive(slot)) {
      this.countActive(slot, -1);
    }
    this.slots.write(slot, { ...o, active: true, manual: o.manual === true });
    this.countActive(slot, +1);
  }

  /** The ban ended (unban or expiry); the history stays for escalation. */
  setInactive(target: string): boolean {
    const slot = this.slotOf.get(target);
    if (slot === undefined || !this.slots.isActive(slot)) return false;
    this.countActive(slot, -1);
    this.slots.deactivate(slot);
    return true;
  }

  /** Active bans whose time is up. */
  expired(nowMs: number): string[] {
    const out: string[] = [];
    for (const [t, slot] of this.slotOf) if (this.slots.expiredAt(slot, nowMs)) out.push(t);
    return out;
  }

  /** Drops inactive history older than `forgetAfterMs`. */
  forget(nowMs: number): number {
    let n = 0;
    const before = nowMs - this.forgetAfterMs;
    for (const [t, slot] of this.slotOf) {
      if (!this.slots.isActive(slot) && this.slots.lastOffenceOf(slot) < before) {
        this.slotOf.delete(t);
        this.keyOf[slot] = '';
        this.slots.release(slot);
        n++;
      }
    }
    this.forgotten += n;
    for (const [t, until] of this.grace) if (until <= nowMs) this.grace.delete(t);
    return n;
  }

  setGrace(target: string, untilMs: number): void {
    this.grace.set(target, untilMs);
  }

  // --- BanState ---

  active(target: string): Offender | undefined {
    const slot = this.slotOf.get(target);
    return slot !== undefined && this.slots.isActive(slot) ? this.slots.read(slot) : undefined;
  }

  priorOffences(target: string, nowMs: number): number {
    const slot = this.slotOf.get(target);
    if (slot === undefined || this.slots.lastOffenceOf(slot) < nowMs - this.forgetAfterMs) return 0;
    return this.slots.offencesOf(slot);
  }

  graceUntilMs(target: string): number {
    return this.grace.get(target) ?? 0;
  }

  activeInPrefix(prefixText: string): number {
    return this.perPrefix.get(prefixText) ?? 0;
  }

  /** Every active ban (for restore, reconcile and self-healing). */
  *activeEntries(): IterableIterator<[string, Offender]> {
    for (const [t, slot] of this.slotOf) if (this.slots.isActive(slot)) yield [t, this.slots.read(slot)];
  }

  /** A sweep of the active bans for a diff against the kernel (reconcile.ts). */
  sweep(): ActiveSweep {
    return new IndexSweep(this.slotOf, this.slots, () => this.forgotten);
  }

  /** Active prefix bans (their target texts). */
  prefixTargets(): ReadonlySet<string> {
    return this.activePrefixes;
  }

  /** Counts the active ban in `slot` in (+1) or out (-1) of the counts and indexes. */
  private countActive(slot: number, delta: number): void {
    const target = this.keyOf[slot]!;
    const set = this.slots.setOf(slot);
    this.activeCount += delta;
    if (this.slots.isManual(slot)) this.manualCount += delta;
    else if (delta > 0) this.aggregates.add(target);
    else this.aggregates.remove(target);
    if (PREFIX_BAN_SETS.includes(set)) {
      if (delta > 0) this.activePrefixes.add(target);
      else this.activePrefixes.delete(target);
    }
    if (this.aggregatePrefix === null || set !== 'ban4') return;
    const addr = parseIp(target);
    if (!addr) return;
    const key = prefixContaining(addr, this.aggregatePrefix).text;
    const n = (this.perPrefix.get(key) ?? 0) + delta;
    if (n <= 0) this.perPrefix.delete(key);
    else this.perPrefix.set(key, n);
  }
}
