/**
 * The decision core's live context, owned in one place: the policy, who is protected (allowlist,
 * home networks, the gateway's own addresses), the threshold counts, and the ledger's view of
 * who is banned. Every decision (alert, kernel detection, operator ban) goes through here; the
 * decisions themselves are the pure functions of decide.ts.
 */
import type { Config } from '../config/config.ts';
import type { Alert } from '../ingest/alert.ts';
import type { IpAddress, IpPrefix } from '../net/ip.ts';
import type { InterfaceAddress } from '../net/subnet.ts';
import { type CapState, capBan } from './ban-cap.ts';
import type { BanState, Decision, DecideContext } from './decide.ts';
import { decideAlert, decideKernelScan, decideManual } from './decide.ts';
import { inPrefix, type ProtectedWhy, Protection } from './protection.ts';
import { ThresholdTracker } from './threshold-tracker.ts';
import { decideFleet, type FleetBan } from '../fleet/fleet-decision.ts';

export class Decider {
  private ctx: DecideContext;
  private own: readonly InterfaceAddress[] = [];
  private readonly cap: CapState;

  constructor(config: Readonly<Config>, allow: readonly IpPrefix[], state: BanState & CapState) {
    this.ctx = Decider.context(config, allow, [], state);
    this.cap = state;
  }

  private static context(
    config: Readonly<Config>,
    allow: readonly IpPrefix[],
    own: readonly InterfaceAddress[],
    state: BanState,
  ): DecideContext {
    return {
      policy: config.policy,
      protection: new Protection(allow, config.home_networks, own),
      tracker: new ThresholdTracker(config.policy.max_tracked_sources),
      state,
    };
  }

  /** A new config: policy and protection follow; threshold counts start over. */
  reconfigure(config: Readonly<Config>, allow: readonly IpPrefix[]): void {
    this.ctx = Decider.context(config, allow, this.own, this.ctx.state);
  }

  /** The gateway's own addresses with their subnets (read live from the interfaces). */
  setOwn(own: readonly InterfaceAddress[]): void {
    this.own = own;
    this.ctx.protection = this.ctx.protection.withOwn(own);
  }

  /** The effective allowlist (config entries and the API's). */
  setAllow(allow: readonly IpPrefix[]): void {
    this.ctx.protection = this.ctx.protection.withAllow(allow);
  }

  alert(alert: Alert, nowMs: number): Decision {
    return this.capped(decideAlert(alert, this.ctx, nowMs), nowMs);
  }

  kernelScan(address: string, reason: string, nowMs: number): Decision {
    return this.capped(decideKernelScan(address, reason, this.ctx, nowMs), nowMs);
  }

  manual(prefix: IpPrefix, durationSec: number | null, reason: string, nowMs: number): Decision {
    return this.capped(decideManual(prefix, durationSec, reason, this.ctx, nowMs), nowMs);
  }

  /** Another gateway's ban (fleet-decision.ts): protection applies, and the cap. */
  fleet(ban: FleetBan, nowMs: number): Decision {
    return this.capped(decideFleet(ban, this.ctx, nowMs), nowMs);
  }

  /** The allowlist entry that holds (or overlaps) `prefix`, for the log of a refused ban. */
  allowEntryFor(prefix: IpPrefix): string | null {
    const allow = this.ctx.protection.allow;
    const hit = allow.find((p) => inPrefix(p, prefix.network)) ?? allow.find((p) => inPrefix(prefix, p.network));
    return hit?.text ?? null;
  }

  /** policy.max_active_bans applied to a ban (ban-cap.ts); a note stays with a refusal. */
  private capped(d: Decision, nowMs: number): Decision {
    if (d.kind !== 'ban') return d;
    const c = capBan(d, this.ctx, this.cap, nowMs);
    return c.kind === 'skip' && d.note ? { ...c, note: d.note } : c;
  }

  whyProtected(address: IpAddress): ProtectedWhy | null {
    return this.ctx.protection.whyProtected(address);
  }

  whyPrefixProtected(prefix: IpPrefix): ProtectedWhy | null {
    return this.ctx.protection.whyPrefixProtected(prefix);
  }

  /** The allowlist, home or own entry that protects `address` (why it is protected: whyProtected). */
  protectingEntry(address: IpAddress, why: ProtectedWhy): string | null {
    return this.ctx.protection.entryFor(address, why);
  }

  /** Is `address` one of home networks (blame goes to the other side). */
  isHome(address: IpAddress): boolean {
    return this.ctx.protection.isHome(address);
  }

  /**
   * What `alert` would be decided now, on fresh threshold counts: nothing is counted, recorded
   * or queued (explain's "what would one alert do").
   */
  dryAlert(alert: Alert, nowMs: number): Decision {
    return decideAlert(alert, { ...this.ctx, tracker: new ThresholdTracker(16) }, nowMs);
  }

  /** A victim for a synthetic alert: an own address of that family, else a home network's first. */
  victimFor(family: 4 | 6): string | null {
    const own = this.own.find((i) => i.address.family === family);
    if (own) return own.address.text;
    return this.ctx.protection.home.find((p) => p.family === family)?.network.text ?? null;
  }

  /** Forgets the threshold counts of a source (its ban was lifted). */
  forgetSource(text: string): void {
    this.ctx.tracker.forgetSource(text);
  }
}
