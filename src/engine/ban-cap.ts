/**
 * `policy.max_active_bans`: how many bans may be in force at once, so that memory, store and the
 * kernel's ban sets stay bounded whatever an attacker's budget of (spoofed) sources. Pure: a ban
 * decision and the present -> the decision to take.
 *
 * Below the cap a ban is taken as it is. At the cap an automatic ban (alert, kernel detection)
 * becomes the ban of its aggregate (IPv4 /24, IPv6 /48) when automatic bans are already in force
 * inside it: the aggregate replaces them, so the count does not grow. It is refused (`ban_cap`)
 * when nothing inside would be replaced, when the aggregate would cover a protected address, or
 * when the ban is already as wide. Operator bans are never replaced, and are taken up to the ban
 * sets' size (the cap plus room for them, nft/objects.ts banSetSize). A refresh is always taken.
 */
import { type IpPrefix, prefixContaining } from '../net/ip.ts';
import { banSetSize } from '../nft/objects.ts';
import { CAP_AGGREGATE } from './aggregate-index.ts';
import { banTargetOf } from './ban-target.ts';
import type { BanDecision, Decision, DecideContext } from './decide.ts';

/** What the cap asks about the present (answered by the offender index). */
export interface CapState {
  /** Bans in force, every set. */
  readonly activeSize: number;
  /** Automatic bans in force inside a cap aggregate (a /24 or /48), by target text. */
  automaticIn(aggregate: IpPrefix): readonly string[];
}

/** Whole seconds left of a ban (null: permanent). */
function leftSec(expiresMs: number | null, nowMs: number): number | null {
  return expiresMs === null ? null : Math.max(1, Math.ceil((expiresMs - nowMs) / 1000));
}

export function capBan(d: BanDecision, ctx: DecideContext, cap: CapState, nowMs: number): Decision {
  const max = ctx.policy.max_active_bans;
  if (d.refresh) return d;
  if (d.source === 'manual')
    return cap.activeSize < banSetSize(max) ? d : { kind: 'skip', why: 'ban_cap', address: d.target.text };
  if (cap.activeSize < max) return d;
  const refused = { kind: 'skip', why: 'ban_cap', address: d.target.text } as const;
  const p = d.target.prefix;
  const aggLength = CAP_AGGREGATE[p.family];
  if (p.length <= aggLength) return refused;
  const agg = prefixContaining(p.network, aggLength);
  if (ctx.state.active(agg.text)) return { kind: 'skip', why: 'already_banned', address: agg.text };
  const members = cap.automaticIn(agg);
  if (members.length === 0 || ctx.protection.whyPrefixProtected(agg)) return refused;
  // The aggregate lasts as long as the longest ban it replaces, or this offence's, if longer.
  let durationSec = d.durationSec;
  for (const m of members) {
    if (durationSec === null) break;
    const o = ctx.state.active(m);
    if (!o) continue;
    const left = leftSec(o.expiresMs, nowMs);
    if (left === null || left > durationSec) durationSec = left;
  }
  const target = banTargetOf(agg);
  return {
    ...d,
    target,
    durationSec,
    offences: ctx.state.priorOffences(target.text, nowMs) + 1,
    replaces: [...members],
  };
}
