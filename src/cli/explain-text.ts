/**
 * `nftsentry explain` for a person: the verdict first (banned, or why not), then the ban's hits,
 * the protection rules that apply, and the journal, newest first. Pure: the answer and `nowMs`.
 */
import type { ExplainEntry, Explanation, Why } from '../engine/operations.ts';
import { formatRemaining } from './output.ts';

const HISTORY_SHOWN = 20;

function time(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** One reason in words, with what it knew. */
export function whyText(w: Why): string {
  const d = w.detail;
  switch (w.code) {
    case 'banned':
      return `banned by ${String(d.source)} (${String(d.reason)}${d.sid ? `, sid ${String(d.sid)}` : ''}), offence ${String(d.offences)}`;
    case 'ban':
      return `would be banned by rule ${String(d.rule)} for ${formatRemaining(num(d.durationSec))}`;
    case 'below_threshold':
      return `below threshold: ${String(d.alerts)}/${String(d.threshold)} alerts within ${String(d.windowSec)}s (rule ${String(d.rule)})`;
    case 'allowlisted':
    case 'home':
    case 'own_address':
    case 'own_subnet_edge':
      return `protected: ${w.code}${d.entry ? ` by ${String(d.entry)}` : ''}`;
    case 'grace':
      return `in grace after an unban until ${num(d.untilMs) !== null ? time(num(d.untilMs)!) : '?'} UTC`;
    case 'already_banned':
      return `already banned${num(d.expiresMs) !== null ? ` until ${time(num(d.expiresMs)!)} UTC` : ' (permanent)'}`;
    case 'no_rule':
      return 'no policy rule matches its alerts';
    case 'never_seen':
      return 'no alert or ban recorded for it';
    default:
      return w.code;
  }
}

function entryText(h: ExplainEntry): string {
  const actor = h.actor ? ` by ${h.actor}` : '';
  const why = h.kind === 'alert' || h.kind === 'kernel' ? whyText({ code: h.code, detail: h.detail ?? {} }) : h.code;
  // A coalesced run (engine/journal-repeats.ts): this row stands for `repeats` more alerts since `sinceMs`.
  const repeats = h.detail?.repeats;
  const since = h.detail?.sinceMs;
  const times =
    typeof repeats === 'number' && typeof since === 'number' ? ` (x${repeats} more since ${time(since)})` : '';
  return `  ${time(h.atMs)}  ${h.kind.padEnd(7)} ${why}${times}${actor}${h.address.includes('/') ? ` [${h.address}]` : ''}`;
}

export function explainText(e: Explanation, nowMs: number): string {
  const lines = [`${e.address}: ${e.banned ? 'BANNED' : 'not banned'}: ${whyText(e.why)}`];
  if (e.ban) {
    const b = e.ban;
    const left =
      b.expiresMs === null ? 'permanent' : `${formatRemaining(Math.round((b.expiresMs - nowMs) / 1000))} left`;
    lines.push(`  ban: ${b.address}, since ${time(b.firstSeenMs)} UTC, ${left}`);
    const hits = e.packets === null ? 'not counted' : `${e.packets} packets, ${e.bytes} bytes dropped`;
    lines.push(`  hits: ${hits}${e.lastHitMs ? `, last ${time(e.lastHitMs)} UTC` : ''}`);
  }
  const p = e.protection;
  lines.push(`  protection: ${p.code ? `${p.code}${p.entry ? ` (${p.entry})` : ''}` : 'none'}`);
  lines.push(`  kernel scan meters: ${p.kernelMeters ? 'count it' : 'do not count it'}`);
  lines.push(`  one ET SCAN alert now: ${whyText(p.singleEtScanAlert)}`);
  if (e.history.length === 0) lines.push('  history: none in the journal');
  else {
    lines.push(
      `  history (newest first${e.history.length > HISTORY_SHOWN ? `, ${HISTORY_SHOWN} of ${e.history.length}` : ''}):`,
    );
    for (const h of e.history.slice(0, HISTORY_SHOWN)) lines.push(entryText(h));
  }
  return lines.join('\n');
}
