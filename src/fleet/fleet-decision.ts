/**
 * The decision for another node's ban: pure, `nowMs` a parameter, like decide.ts. Protection
 * applies as for an operator's ban (a fleet ban never bans this node's allowlist, home networks or
 * own addresses); thresholds and escalation do not (the other node decided); an active ban is only
 * ever lengthened (on this kernel re-adding an element with a shorter timeout shortens it).
 */
import { isFullLength } from '../net/ip.ts';
import type { BanTarget } from '../engine/ban-target.ts';
import type { DecideContext, Decision } from '../engine/decide.ts';

/** An active ban ending within this of the fleet's expiry is left alone (no transaction per event). */
export const FLEET_SLACK_MS = 1000;

export interface FleetBan {
  target: BanTarget;
  node: string;
  /** What the publishing node decided it from (its own source), kept in the reason. */
  origin: string;
  reason: string;
  /** Time left (ms) by Redis's clock; null: permanent. */
  remainingMs: number | null;
  /** fleet.max_duration (seconds). */
  maxSec: number;
}

export function decideFleet(b: FleetBan, ctx: Pick<DecideContext, 'protection' | 'state'>, nowMs: number): Decision {
  const { target } = b;
  const prefix = target.prefix;
  const why = isFullLength(prefix)
    ? ctx.protection.whyProtected(prefix.network)
    : ctx.protection.whyPrefixProtected(prefix);
  if (why) return { kind: 'skip', why, address: target.text };
  const remainingMs = Math.min(b.remainingMs ?? Number.POSITIVE_INFINITY, b.maxSec * 1000);
  if (!(remainingMs > 0)) return { kind: 'skip', why: 'bad_address', address: target.text };
  const durationSec = Math.max(1, Math.ceil(remainingMs / 1000));
  const active = ctx.state.active(target.text);
  if (active && (active.expiresMs === null || active.expiresMs >= nowMs + remainingMs - FLEET_SLACK_MS))
    return { kind: 'skip', why: 'already_banned', address: target.text };
  return {
    kind: 'ban',
    target,
    offender: prefix.network.text,
    durationSec,
    offences: active ? active.offences : ctx.state.priorOffences(target.text, nowMs) + 1,
    refresh: Boolean(active),
    source: `fleet:${b.node}`,
    reason: `${b.origin}: ${b.reason}`.slice(0, 128),
    sid: null,
    signature: null,
  };
}
