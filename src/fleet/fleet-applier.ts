/**
 * Others' events, checked (fleet-event.ts) and filtered (accept, accept_from, this node's own
 * skipped), become decisions of this node: a ban through the Decider (protection, the cap) and the
 * Enforcer (counted, queued on the flusher like an alert's ban), an unban through the operations'
 * local unban. Applied once per event id; bad entries are counted and logged at a bounded rate.
 *
 * A fleet ban this node refuses is counted where every decision is (Enforcer stats, `skips`, by
 * reason) and logged with the allowlist entry that refused it (`fleet: ban not applied here`).
 */
import type { Clock } from '../clock.ts';
import type { BanTarget } from '../engine/ban-target.ts';
import type { Decider } from '../engine/decider.ts';
import type { Enforcer } from '../engine/enforcer.ts';
import { type Logger, RateLimitedLog } from '../log.ts';
import type { IpPrefix } from '../net/ip.ts';
import type { StreamEntry } from './fleet-consumer.ts';
import { type FleetEvent, parseFleetEntry, type ParsedEvent } from './fleet-event.ts';
import { type FleetConfig, fleetKindOf } from './fleet-schema.ts';

/** Event ids remembered (applying one twice is a no-op anyway: this spares the work). */
const SEEN_MAX = 100_000;

export class FleetApplier {
  private readonly cfg: FleetConfig;
  private readonly decider: Decider;
  private readonly enforcer: Enforcer;
  private readonly unbanLocal: (p: IpPrefix) => Promise<boolean>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly seen = new Set<string>();
  private readonly acceptFrom: ReadonlySet<string>;
  private readonly badLog = new RateLimitedLog(10, 60_000);
  private readonly skipLog = new RateLimitedLog(20, 10_000);
  private readonly counts = { received: 0, applied: 0, unbans: 0, skipped: 0, bad: 0, notAccepted: 0, duplicates: 0 };

  constructor(p: {
    cfg: FleetConfig;
    decider: Decider;
    enforcer: Enforcer;
    unbanLocal: (p: IpPrefix) => Promise<boolean>;
    clock: Clock;
    log: Logger;
  }) {
    this.cfg = p.cfg;
    this.decider = p.decider;
    this.enforcer = p.enforcer;
    this.unbanLocal = p.unbanLocal;
    this.clock = p.clock;
    this.log = p.log;
    this.acceptFrom = new Set(p.cfg.accept_from);
  }

  stats(): Record<string, number> {
    return { ...this.counts };
  }

  /** Whether bans of `node` are taken here. */
  accepts(node: string): boolean {
    return node !== this.cfg.node && (this.acceptFrom.size === 0 || this.acceptFrom.has(node));
  }

  /** Stream entries read after the saved position. */
  entries(entries: readonly StreamEntry[], redisNowMs: number): void {
    for (const [id, fields] of entries) this.one(parseFleetEntry(fields), redisNowMs, id);
  }

  /** Per-ban key values (a resync), parsed; returns the targets of the accepted bans in force. */
  keyEvents(events: readonly ParsedEvent[], redisNowMs: number): Set<string> {
    const present = new Set<string>();
    for (const p of events) if (this.one(p, redisNowMs, 'key') && p.ok) present.add(p.target.text);
    return present;
  }

  /** Returns whether the event was taken (accepted, whatever the decision). */
  private one(p: ParsedEvent, redisNowMs: number, where: string): boolean {
    this.counts.received++;
    if (!p.ok) {
      this.counts.bad++;
      const shown = this.badLog.take(this.clock());
      if (shown)
        this.log.warn({ where, why: p.why, suppressedBefore: shown.suppressedBefore }, 'fleet: bad event skipped');
      return false;
    }
    const e = p.event;
    if (!this.accepts(e.node)) {
      if (e.node !== this.cfg.node) this.counts.notAccepted++;
      return false;
    }
    const kind = fleetKindOf(e.source);
    if (e.type === 'ban' && (kind === null || !this.cfg.accept.includes(kind))) {
      this.counts.notAccepted++;
      return false;
    }
    if (where !== 'key') {
      if (this.seen.has(e.eid)) {
        this.counts.duplicates++;
        return true;
      }
      this.remember(e.eid);
    }
    if (e.type === 'unban') this.unban(p.target.prefix, e);
    else this.ban(p.target, e, redisNowMs);
    return true;
  }

  private ban(target: BanTarget, e: FleetEvent, redisNowMs: number): void {
    const nowMs = this.clock();
    const remainingMs = e.expiresMs === null ? null : e.expiresMs - redisNowMs;
    if (remainingMs !== null && remainingMs <= 0) return;
    const d = this.decider.fleet(
      { target, node: e.node, origin: e.source, reason: e.reason, remainingMs, maxSec: this.cfg.max_duration },
      nowMs,
    );
    this.enforcer.enforce(d, nowMs);
    if (d.kind === 'ban') {
      this.counts.applied++;
      return;
    }
    this.counts.skipped++;
    if (d.why === 'already_banned') return;
    const shown = this.skipLog.take(nowMs);
    if (shown)
      this.log.info(
        {
          target: target.text,
          fromNode: e.node,
          eid: e.eid,
          why: d.why,
          allowEntry: d.why === 'allowlisted' ? this.decider.allowEntryFor(target.prefix) : undefined,
          suppressedBefore: shown.suppressedBefore,
        },
        'fleet: ban not applied here',
      );
  }

  private unban(prefix: IpPrefix, e: FleetEvent): void {
    this.counts.unbans++;
    this.unbanLocal(prefix).then(
      (lifted) => this.log.info({ target: e.target, fromNode: e.node, lifted }, 'fleet: unban'),
      (err) => this.log.warn({ err: (err as Error).message, target: e.target }, 'fleet: unban failed'),
    );
  }

  private remember(eid: string): void {
    this.seen.add(eid);
    if (this.seen.size > SEEN_MAX) {
      const first = this.seen.values().next().value;
      if (first !== undefined) this.seen.delete(first);
    }
  }
}
