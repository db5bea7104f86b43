/**
 * `nftsentry replay`: alerts from a file through the policy, with the alerts' own times as the
 * clock, in memory only (no nft, no store). Says who would be banned, why and for how long,
 * with the same decisions `run` makes (thresholds, blame, protection, escalation, refreshes).
 */
import type { Config } from '../config/config.ts';
import type { Alert } from '../ingest/alert.ts';
import { formatDurationSec } from '../config/duration.ts';
import { decideAlert, type DecideContext } from './decide.ts';
import { OffenderIndex } from './offender-index.ts';
import { Protection } from './protection.ts';
import { ThresholdTracker } from './threshold-tracker.ts';

export interface ReplayBan {
  timeMs: number;
  target: string;
  offender: string;
  durationSec: number | null;
  offences: number;
  refresh: boolean;
  source: string;
  rule: string;
  sid: number | null;
  signature: string | null;
}

export class Replay {
  readonly bans: ReplayBan[] = [];
  readonly skips: Record<string, number> = {};
  /** Decisions with a note (`hint_mismatch`), by note. */
  readonly notes: Record<string, number> = {};
  alerts = 0;
  private readonly ctx: DecideContext;
  private readonly index: OffenderIndex;

  constructor(config: Readonly<Config>) {
    const p = config.policy;
    this.index = new OffenderIndex(
      p.escalation.forget_after * 1000,
      p.ipv4_aggregate.enabled ? p.ipv4_aggregate.prefix : null,
    );
    this.ctx = {
      policy: p,
      protection: new Protection(config.allowlist, config.home_networks, []),
      tracker: new ThresholdTracker(p.max_tracked_sources),
      state: this.index,
    };
  }

  feed(alert: Alert): ReplayBan | null {
    this.alerts++;
    const nowMs = alert.timeMs;
    for (const t of this.index.expired(nowMs)) this.index.setInactive(t);
    const d = decideAlert(alert, this.ctx, nowMs);
    if (d.note) this.notes[d.note] = (this.notes[d.note] ?? 0) + 1;
    if (d.kind === 'skip') {
      this.skips[d.why] = (this.skips[d.why] ?? 0) + 1;
      return null;
    }
    const prev = this.index.get(d.target.text);
    this.index.setActive(d.target.text, {
      set: d.target.set,
      expiresMs: d.durationSec === null ? null : nowMs + d.durationSec * 1000,
      durationSec: d.durationSec,
      offences: d.offences,
      lastOffenceMs: d.refresh && prev ? prev.lastOffenceMs : nowMs,
    });
    const ban: ReplayBan = {
      timeMs: nowMs,
      target: d.target.text,
      offender: d.offender,
      durationSec: d.durationSec,
      offences: d.offences,
      refresh: d.refresh,
      source: d.source,
      rule: d.reason,
      sid: d.sid,
      signature: d.signature,
    };
    this.bans.push(ban);
    return ban;
  }
}

/** One line of the human-readable report. */
export function formatReplayBan(b: ReplayBan): string {
  const when = new Date(b.timeMs)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  const dur = b.durationSec === null ? 'permanent' : formatDurationSec(b.durationSec);
  const what = b.refresh ? 'extend' : `ban #${b.offences}`;
  const sig = b.signature ? ` "${b.signature}"` : '';
  return `${when}  ${what.padEnd(7)} ${b.target.padEnd(22)} for ${dur.padEnd(8)} rule ${b.rule} (${b.source} sid ${b.sid ?? '-'}${sig})`;
}
