/**
 * The decision core: an alert (or a kernel detection), what is known about the offender, and
 * `nowMs` -> a Decision value. Never throws for a refusal: a skip is `{ kind: 'skip', why }`.
 *
 * Steps for an alert: which rules match -> who to blame (alert.source/target when they name one
 * of the flow's two addresses, else the home networks) -> may that address be banned at all -> what to ban (IPv4 address, IPv6 prefix,
 * IPv4 aggregate) -> does it cross a rule's threshold -> how long (escalation from history).
 */
import type { Alert } from '../ingest/alert.ts';
import type { BanSource } from './operations.ts';
import { parseIp, prefixContaining, isFullLength, type IpAddress, type IpPrefix } from '../net/ip.ts';
import type { PolicyConfig } from './engine-schema.ts';
import { matchingRules, escalatedDurationSec } from './policy.ts';
import type { Protection, ProtectedWhy } from './protection.ts';
import type { ThresholdTracker } from './threshold-tracker.ts';
import { banTargetOf, type BanTarget } from './ban-target.ts';

/** Why a decision is not a ban: the decider's own reasons, or why the address is protected. */
export type SkipWhy =
  | 'no_rule'
  | 'below_threshold'
  | 'both_home'
  | 'direction_unknown'
  | 'bad_address'
  | 'grace'
  | 'already_banned'
  | 'ban_cap'
  | ProtectedWhy;

/**
 * Something about a decision that is not its outcome, counted beside it (decision-stats.ts).
 * `hint_mismatch`: the alert's `alert.source`/`alert.target` named an address that is neither of
 * the flow's two, so the hints were ignored and the usual blame decided.
 */
export type DecisionNote = 'hint_mismatch';

export interface BanDecision {
  kind: 'ban';
  target: BanTarget;
  /** The address that caused it (inside `target`). */
  offender: string;
  /** null: permanent. */
  durationSec: number | null;
  /** This offence included. */
  offences: number;
  /** The target is already banned: extend the timeout rather than count a new offence. */
  refresh: boolean;
  source: BanSource;
  /** Rule name, or the kernel's reason (nft/objects.ts SCAN_REASONS: trap_port, fast_scan...). */
  reason: string;
  sid: number | null;
  signature: string | null;
  note?: DecisionNote;
  /**
   * At policy.max_active_bans this ban is the aggregate of these automatic bans in force inside
   * it (ban-cap.ts): they are lifted as it is taken.
   */
  replaces?: readonly string[];
}

/** What a skip knew, for the journal: the threshold's progress, the end of a grace or a ban. */
export type SkipDetail =
  | { rule: string; alerts: number; threshold: number; windowSec: number }
  | { untilMs: number }
  | { expiresMs: number | null };

export interface SkipDecision {
  kind: 'skip';
  why: SkipWhy;
  address?: string;
  note?: DecisionNote;
  detail?: SkipDetail;
}

export type Decision = BanDecision | SkipDecision;

/** What the decider may ask about the present (answered from memory by the engine). */
export interface BanState {
  /** The active ban of this target, if any. */
  active(targetText: string): { expiresMs: number | null; durationSec: number | null; offences: number } | undefined;
  /** Earlier offences of this target still remembered (not forgotten by `forget_after`). */
  priorOffences(targetText: string, nowMs: number): number;
  /** Until when alerts from this target are ignored after an unban (0: none). */
  graceUntilMs(targetText: string): number;
  /** Active single-address IPv4 bans inside this prefix (for aggregation). */
  activeInPrefix(prefixText: string): number;
}

export interface DecideContext {
  policy: PolicyConfig;
  protection: Protection;
  tracker: ThresholdTracker;
  state: BanState;
}

/**
 * The side of the flow an IDS hint names: `src`, `dest`, or null for a third address (or one
 * that does not parse). Compared as text first (the parsers print addresses canonically).
 */
function sideOf(ip: string, alert: Alert, src: IpAddress, dest: IpAddress): 'src' | 'dest' | null {
  if (ip === alert.src.ip) return 'src';
  if (ip === alert.dest.ip) return 'dest';
  const a = parseIp(ip);
  if (a?.text === src.text) return 'src';
  if (a?.text === dest.text) return 'dest';
  return null;
}

/**
 * The attacker the alert's hints name (`alert.source`; `alert.target` alone names the victim),
 * null without hints, or `mismatch` when a hint names an address that is neither of the flow's
 * two (or both name the same side): such hints are ignored and the usual blame applies.
 */
export function hintedAttacker(alert: Alert, src: IpAddress, dest: IpAddress): IpAddress | null | 'mismatch' {
  const { attacker, target } = alert;
  if (!attacker && !target) return null;
  const a = attacker ? sideOf(attacker.ip, alert, src, dest) : undefined;
  const t = target ? sideOf(target.ip, alert, src, dest) : undefined;
  if (a === null || t === null) return 'mismatch';
  if (a !== undefined && a === t && src.text !== dest.text) return 'mismatch';
  if (a !== undefined) return a === 'src' ? src : dest;
  return t === 'src' ? dest : src;
}

/**
 * Which address of the alert is the outside party, or why none can be blamed. `src`/`dest` are
 * the alert's addresses, parsed once by the caller; `hinted` is what hintedAttacker found.
 */
export function blame(
  src: IpAddress,
  dest: IpAddress,
  hinted: IpAddress | null,
  ctx: Pick<DecideContext, 'protection' | 'policy'>,
): IpAddress | SkipDecision {
  if (hinted) return hinted;
  const srcHome = ctx.protection.isHome(src);
  const destHome = ctx.protection.isHome(dest);
  if (srcHome && destHome) return { kind: 'skip', why: 'both_home', address: src.text };
  if (srcHome) return dest;
  if (destHome) return src;
  return ctx.policy.unknown_direction === 'source'
    ? src
    : { kind: 'skip', why: 'direction_unknown', address: src.text };
}

/** The target for an offender, or why it may not be banned. IPv6 by prefix, IPv4 maybe aggregated. */
export function targetFor(addr: IpAddress, ctx: DecideContext): BanTarget | SkipDecision {
  const why = ctx.protection.whyProtected(addr);
  if (why) return { kind: 'skip', why, address: addr.text };
  let prefix: IpPrefix =
    addr.family === 4
      ? { family: 4, network: addr, length: 32, text: `${addr.text}/32` }
      : prefixContaining(addr, ctx.policy.ipv6_prefix);
  // A prefix that would cover something protected falls back to the single address.
  if (!isFullLength(prefix) && ctx.protection.whyPrefixProtected(prefix)) prefix = prefixContaining(addr, 128);
  const agg = ctx.policy.ipv4_aggregate;
  if (addr.family === 4 && agg.enabled) {
    const net = prefixContaining(addr, agg.prefix);
    if (ctx.state.activeInPrefix(net.text) + 1 >= agg.min_addresses && !ctx.protection.whyPrefixProtected(net))
      prefix = net;
  }
  return banTargetOf(prefix);
}

function finish(
  target: BanTarget,
  offender: IpAddress,
  baseSec: number,
  nowMs: number,
  ctx: DecideContext,
  what: Pick<BanDecision, 'source' | 'reason' | 'sid' | 'signature'>,
): Decision {
  const graceUntilMs = ctx.state.graceUntilMs(target.text);
  if (graceUntilMs > nowMs)
    return { kind: 'skip', why: 'grace', address: target.text, detail: { untilMs: graceUntilMs } };
  const active = ctx.state.active(target.text);
  if (active) {
    // Already banned: extend only when less than half of the ban is left (no nft call per alert).
    const dur = active.durationSec;
    if (dur === null || active.expiresMs === null || active.expiresMs - nowMs > (dur * 1000) / 2)
      return { kind: 'skip', why: 'already_banned', address: target.text, detail: { expiresMs: active.expiresMs } };
    return {
      kind: 'ban',
      target,
      offender: offender.text,
      durationSec: dur,
      offences: active.offences,
      refresh: true,
      ...what,
    };
  }
  const offences = ctx.state.priorOffences(target.text, nowMs) + 1;
  const durationSec = escalatedDurationSec(baseSec, offences, ctx.policy.escalation);
  return { kind: 'ban', target, offender: offender.text, durationSec, offences, refresh: false, ...what };
}

export function decideAlert(alert: Alert, ctx: DecideContext, nowMs: number): Decision {
  const rules = matchingRules(ctx.policy.rules, alert);
  if (rules.length === 0) return { kind: 'skip', why: 'no_rule' };
  const src = parseIp(alert.src.ip);
  const dest = parseIp(alert.dest.ip);
  if (!src || !dest) return { kind: 'skip', why: 'bad_address', address: alert.src.ip };
  const hinted = hintedAttacker(alert, src, dest);
  if (hinted === 'mismatch')
    return { ...decideBlamed(alert, rules, src, dest, null, ctx, nowMs), note: 'hint_mismatch' };
  return decideBlamed(alert, rules, src, dest, hinted, ctx, nowMs);
}

/** The rest of decideAlert once the hints are read: blame, protection, thresholds, duration. */
function decideBlamed(
  alert: Alert,
  rules: readonly number[],
  src: IpAddress,
  dest: IpAddress,
  hinted: IpAddress | null,
  ctx: DecideContext,
  nowMs: number,
): Decision {
  const who = blame(src, dest, hinted, ctx);
  if ('kind' in who) return who;
  const target = targetFor(who, ctx);
  if ('kind' in target) return target;
  const victimPort = who === dest ? alert.src.port : alert.dest.port;
  let first: SkipDetail | undefined;
  for (const i of rules) {
    const rule = ctx.policy.rules[i]!;
    const progress = ctx.tracker.observe(i, rule, target.text, { sid: alert.sid, port: victimPort }, nowMs);
    if (!progress.crossed) {
      const th = rule.threshold;
      first ??= { rule: rule.name, alerts: progress.alerts, threshold: th.alerts, windowSec: th.window };
      continue;
    }
    const source: BanSource = alert.ids === 'snort' ? 'snort' : 'suricata';
    return finish(target, who, rule.ban, nowMs, ctx, {
      source,
      reason: rule.name,
      sid: alert.sid,
      signature: alert.signature || null,
    });
  }
  return { kind: 'skip', why: 'below_threshold', address: target.text, ...(first ? { detail: first } : {}) };
}

/** A scanner the kernel meters caught (read from scanners4/6 with its reason). */
export function decideKernelScan(address: string, reason: string, ctx: DecideContext, nowMs: number): Decision {
  const addr = parseIp(address);
  if (!addr) return { kind: 'skip', why: 'bad_address', address };
  const target = targetFor(addr, ctx);
  if ('kind' in target) return target;
  return finish(target, addr, ctx.policy.kernel_scan_ban, nowMs, ctx, {
    source: 'kernel:scan',
    reason,
    sid: null,
    signature: null,
  });
}

/** A ban asked for by a person (API/CLI): protection applies, thresholds do not. */
export function decideManual(
  prefix: IpPrefix,
  durationSec: number | null,
  reason: string,
  ctx: DecideContext,
  nowMs: number,
): Decision {
  const why = isFullLength(prefix)
    ? ctx.protection.whyProtected(prefix.network)
    : ctx.protection.whyPrefixProtected(prefix);
  if (why) return { kind: 'skip', why, address: prefix.text };
  const target = banTargetOf(prefix);
  const active = ctx.state.active(target.text);
  const offences = active ? active.offences : ctx.state.priorOffences(target.text, nowMs) + 1;
  return {
    kind: 'ban',
    target,
    offender: prefix.network.text,
    durationSec,
    offences,
    refresh: Boolean(active),
    source: 'manual',
    reason,
    sid: null,
    signature: null,
  };
}
