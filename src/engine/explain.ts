/**
 * `nftsentry explain ADDRESS` and GET /v1/explain/:address: is the address banned (by what,
 * until when, hits in the kernel), and if not, why not: the live protection rules first (they
 * decide now), else the journal's last decision about it, else what a single ET SCAN alert from
 * it would do (the pure decider on a synthetic alert: nothing counted or queued). Its history
 * is the journal's rows about it and its ban targets, newest first.
 */
import type { Config } from '../config/config.ts';
import type { Alert } from '../ingest/alert.ts';
import { type IpAddress, type IpPrefix, prefixContaining } from '../net/ip.ts';
import type { JournalRow } from '../store/journal-table.ts';
import type { Decision } from './decide.ts';
import type { Decider } from './decider.ts';
import type { BanHits, BanView, ExplainEntry, Explanation, Why } from './operations.ts';

export const HISTORY_LIMIT = 50;

export interface ExplainParts {
  getBan(address: IpPrefix): BanView | null;
  history(keys: readonly string[], limit: number): JournalRow[];
  /** What the kernel counted on the ban's element; null when not counted (dry-run, no counter). */
  hits(target: string): Promise<BanHits | null>;
  decider: Decider;
  config: Readonly<Config>;
}

const DECISION_KINDS = new Set(['alert', 'kernel', 'manual', 'unban', 'ban']);

function parseDetail(text: string | null): Record<string, unknown> | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
}

export function entryOf(r: JournalRow): ExplainEntry {
  return {
    atMs: r.atMs,
    at: new Date(r.atMs).toISOString(),
    kind: r.kind,
    code: r.code,
    detail: parseDetail(r.detail),
    actor: r.actor,
    address: r.address,
  };
}

/** One ET SCAN alert from `addr` to one of our own (or home) addresses. */
export function etScanAlert(addr: IpAddress, victim: string | null, nowMs: number): Alert {
  const dest = victim ?? (addr.family === 4 ? '198.18.0.1' : '2001:db8::1');
  return {
    ids: 'suricata',
    timeMs: nowMs,
    src: { ip: addr.text, port: 40_000 },
    dest: { ip: dest, port: 22 },
    proto: 'TCP',
    gid: 1,
    sid: 2_001_219,
    rev: 20,
    signature: 'ET SCAN Potential SSH Scan',
    category: 'Attempted Information Leak',
    severity: 2,
    action: 'allowed',
  };
}

export function whyOfDecision(d: Decision): Why {
  if (d.kind === 'ban')
    return {
      code: 'ban',
      detail: { rule: d.reason, target: d.target.text, durationSec: d.durationSec, offences: d.offences },
    };
  return { code: d.why, detail: { ...(d.detail ?? {}), ...(d.address ? { address: d.address } : {}) } };
}

/** The targets a ban of `addr` could have: itself, its IPv6 prefix, its IPv4 aggregate. */
function journalKeys(addr: IpAddress, config: Readonly<Config>): string[] {
  const keys = [addr.text];
  if (addr.family === 6) keys.push(prefixContaining(addr, config.policy.ipv6_prefix).text);
  const agg = config.policy.ipv4_aggregate;
  if (addr.family === 4 && agg.enabled) keys.push(prefixContaining(addr, agg.prefix).text);
  return keys;
}

export async function explainAddress(addr: IpAddress, parts: ExplainParts, nowMs: number): Promise<Explanation> {
  const { decider, config } = parts;
  const full: IpPrefix = prefixContaining(addr, addr.family === 4 ? 32 : 128);
  const ban = parts.getBan(full);
  const history = parts.history(journalKeys(addr, config), HISTORY_LIMIT).map(entryOf);
  const protectedBy = decider.whyProtected(addr);
  const entry = protectedBy ? decider.protectingEntry(addr, protectedBy) : null;
  const sd = config.scan_detection;
  const kernelMeters =
    sd.enabled && protectedBy !== 'allowlisted' && !(sd.exempt_home_networks && decider.isHome(addr));
  const victim = decider.victimFor(addr.family);
  const single = whyOfDecision(decider.dryAlert(etScanAlert(addr, victim, nowMs), nowMs));
  const hits = ban ? await parts.hits(ban.address) : null;
  let why: Why;
  if (ban) {
    const { source, reason, sid, signature, offences, expiresMs, remainingSec } = ban;
    why = {
      code: 'banned',
      detail: { target: ban.address, source, reason, sid, signature, offences, expiresMs, remainingSec },
    };
  } else if (protectedBy) {
    why = { code: protectedBy, detail: { entry } };
  } else {
    const last = history.find((h) => DECISION_KINDS.has(h.kind));
    why = last
      ? { code: last.code, detail: { ...(last.detail ?? {}), kind: last.kind, atMs: last.atMs, actor: last.actor } }
      : { code: 'never_seen', detail: { kernelMeters, singleEtScanAlert: single } };
  }
  return {
    address: addr.text,
    banned: ban !== null,
    packets: hits?.packets ?? null,
    bytes: hits?.bytes ?? null,
    lastHitMs: hits?.lastHitMs ?? null,
    why,
    ban,
    protection: { code: protectedBy, entry, kernelMeters, singleEtScanAlert: single },
    history,
  };
}
