/**
 * Which policy rules an alert matches. Pure: a rule's match block against one alert, nothing else.
 * Thresholds (counting per source over time) live in threshold-tracker.ts.
 */
import type { Alert } from '../ingest/alert.ts';
import type { PolicyRule } from './engine-schema.ts';

function inRanges(sid: number, ranges: ReadonlyArray<readonly [number, number]>): boolean {
  for (const [from, to] of ranges) if (sid >= from && sid <= to) return true;
  return false;
}

function oneOf(value: string, list: readonly string[]): boolean {
  const v = value.toLowerCase();
  for (const w of list) if (w.toLowerCase() === v) return true;
  return false;
}

/** True when the alert satisfies every key of the rule's match block. */
export function ruleMatches(rule: PolicyRule, alert: Alert): boolean {
  const m = rule.match;
  if (m.sids && !inRanges(alert.sid, m.sids)) return false;
  if (m.signature_prefix && !m.signature_prefix.some((p) => alert.signature.startsWith(p))) return false;
  if (m.signature_pattern && !m.signature_pattern.test(alert.signature)) return false;
  if (m.category && !oneOf(alert.category, m.category)) return false;
  if (m.max_severity !== undefined && (alert.severity === null || alert.severity > m.max_severity)) return false;
  if (m.proto && !oneOf(alert.proto, m.proto)) return false;
  if (m.action && !oneOf(alert.action, m.action)) return false;
  return true;
}

/** Indexes of the rules the alert matches, in policy order. */
export function matchingRules(rules: readonly PolicyRule[], alert: Alert): number[] {
  const out: number[] = [];
  for (let i = 0; i < rules.length; i++) if (ruleMatches(rules[i]!, alert)) out.push(i);
  return out;
}

/**
 * Ban duration of an offence (fail2ban's bantime.increment with a multiplier): the first offence
 * gets `baseSec`, the n-th `baseSec * factor^(n-1)`, never more than `maxSec` (unless the base
 * itself is longer). `offences` counts this one.
 */
export function escalatedDurationSec(
  baseSec: number,
  offences: number,
  escalation: { enabled: boolean; factor: number; max: number },
): number {
  if (!escalation.enabled || offences <= 1) return baseSec;
  const cap = Math.max(baseSec, escalation.max);
  const sec = baseSec * escalation.factor ** (offences - 1);
  return Math.min(cap, Math.round(sec));
}
