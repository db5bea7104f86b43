/**
 * What the engine keeps in memory about offenders: per target, the present ban (if any) and the
 * offence count that escalation reads. Small records only; the details (reason, signature, times)
 * stay in the store. Implements the decider's BanState. No IO; times are parameters.
 */
import { type IpPrefix, prefixContaining, parseIp } from '../net/ip.ts';
import { AggregateIndex } from './aggregate-index.ts';
import type { CapState } from './ban-cap.ts';
import { PREFIX_BAN_SETS, type BanSetName } from './ban-target.ts';
import type { BanState } from './decide.ts';

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
}

export class OffenderIndex implements BanState, CapState {
  private readonly offenders = new Map<string, Offender>();
  private readonly grace = new Map<string, number>();
  /** Active single IPv4 bans per aggregation prefix (only when aggregation is on). */
  private readonly perPrefix = new Map<string, number>();
  /** Active prefix bans (ban6net64/bannet4/bannet6): few, scanned to find the ban holding an address. */
  private readonly activePrefixes = new Set<string>();
  /** Automatic active bans by cap aggregate (IPv4 /24, IPv6 /48). */
  private readonly aggregates = new AggregateIndex();
  private activeCount = 0;
  private manualCount = 0;
  forgetAfterMs: number;
  aggregatePrefix: number | null;

  constructor(forgetAfterMs: number, aggregatePrefix: number | null) {
    this.forgetAfterMs = forgetAfterMs;
    this.aggregatePrefix = aggregatePrefix;
  }

  get size(): number {
    return this.offenders.size;
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
    return this.offenders.get(target);
  }

  /** Records a ban (new or refreshed). */
  setActive(target: string, o: Omit<Offender, 'active' | 'manual'> & { manual?: boolean }): void {
    const prev = this.offenders.get(target);
    if (prev?.active) this.countActive(target, prev, -1);
    const next: Offender = {
      set: o.set,
      active: true,
      expiresMs: o.expiresMs,
      durationSec: o.durationSec,
      offences: o.offences,
      lastOffenceMs: o.lastOffenceMs,
      manual: o.manual === true,
    };
    this.countActive(target, next, +1);
    this.offenders.set(target, next);
  }

  /** The ban ended (unban or expiry); the history stays for escalation. */
  setInactive(target: string): boolean {
    const o = this.offenders.get(target);
    if (!o?.active) return false;
    o.active = false;
    this.countActive(target, o, -1);
    return true;
  }

  /** Active bans whose time is up. */
  expired(nowMs: number): string[] {
    const out: string[] = [];
    for (const [t, o] of this.offenders) if (o.active && o.expiresMs !== null && o.expiresMs <= nowMs) out.push(t);
    return out;
  }

  /** Drops inactive history older than `forgetAfterMs`. */
  forget(nowMs: number): number {
    let n = 0;
    for (const [t, o] of this.offenders) {
      if (!o.active && o.lastOffenceMs < nowMs - this.forgetAfterMs) {
        this.offenders.delete(t);
        n++;
      }
    }
    for (const [t, until] of this.grace) if (until <= nowMs) this.grace.delete(t);
    return n;
  }

  setGrace(target: string, untilMs: number): void {
    this.grace.set(target, untilMs);
  }

  // --- BanState ---

  active(target: string): Offender | undefined {
    const o = this.offenders.get(target);
    return o?.active ? o : undefined;
  }

  priorOffences(target: string, nowMs: number): number {
    const o = this.offenders.get(target);
    if (!o || o.lastOffenceMs < nowMs - this.forgetAfterMs) return 0;
    return o.offences;
  }

  graceUntilMs(target: string): number {
    return this.grace.get(target) ?? 0;
  }

  activeInPrefix(prefixText: string): number {
    return this.perPrefix.get(prefixText) ?? 0;
  }

  /** Every active ban (for restore, reconcile and self-healing). */
  *activeEntries(): IterableIterator<[string, Offender]> {
    for (const e of this.offenders) if (e[1].active) yield e;
  }

  /** Active prefix bans (their target texts). */
  prefixTargets(): ReadonlySet<string> {
    return this.activePrefixes;
  }

  private countActive(target: string, o: Pick<Offender, 'set' | 'manual'>, delta: number): void {
    const set = o.set;
    this.activeCount += delta;
    if (o.manual) this.manualCount += delta;
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
