/**
 * Counters of one source, read by the status API as a plain snapshot object. Only counters and
 * times: cheap to update on the hot path, nothing that grows.
 */
import type { BadReason } from './alert.ts';

export type SourceType = 'unix_stream' | 'unix_dgram' | 'file' | 'stdin' | 'redis';

export const BAD_REASONS: readonly BadReason[] = [
  'too_long',
  'not_utf8',
  'nul_byte',
  'not_json',
  'not_object',
  'missing_field',
  'wrong_type',
  'bad_address',
  'bad_port',
  'bad_time',
  'truncated',
];

export interface SourceStatsSnapshot {
  name: string;
  type: SourceType;
  /** Open connections (unix_stream); 1 or 0 for the others (bound / file open / stdin open). */
  connected: number;
  /** Connections accepted since start (unix_stream), files opened (file). */
  opened: number;
  /** Complete lines seen (blank ones included), and bytes received. */
  lines: number;
  bytes: number;
  alerts: number;
  /** Well-formed lines that are not alerts (flow, dns, stats...). */
  nonAlerts: number;
  blank: number;
  /** Alerts on non-IP packets (Snort ARP), skipped. */
  noAddress: number;
  bad: Record<BadReason, number>;
  badTotal: number;
  /** Alerts the queue refused because it was full. */
  dropped: number;
  /** IO errors of the source (accept, read, stat...). */
  errors: number;
  /** unix_stream: clients closed to make room for a new one at the cap, and new ones refused there. */
  evicted: number;
  refused: number;
  /** unix_stream: clients closed for sending nothing within the idle timeout. */
  idleClosed: number;
  /** Event time of the last alert, and how late it arrived (receive time - event time). */
  lastEventMs: number | null;
  lastLagMs: number | null;
  /** Receive time of the last line. */
  lastLineMs: number | null;
}

export class SourceStats {
  readonly name: string;
  readonly type: SourceType;
  connected = 0;
  opened = 0;
  lines = 0;
  bytes = 0;
  alerts = 0;
  nonAlerts = 0;
  blank = 0;
  noAddress = 0;
  badTotal = 0;
  dropped = 0;
  errors = 0;
  evicted = 0;
  refused = 0;
  idleClosed = 0;
  lastEventMs: number | null = null;
  lastLagMs: number | null = null;
  lastLineMs: number | null = null;
  readonly bad: Record<BadReason, number>;

  constructor(name: string, type: SourceType) {
    this.name = name;
    this.type = type;
    this.bad = Object.fromEntries(BAD_REASONS.map((r) => [r, 0])) as Record<BadReason, number>;
  }

  countBad(reason: BadReason): void {
    this.bad[reason]++;
    this.badTotal++;
  }

  snapshot(): SourceStatsSnapshot {
    return {
      name: this.name,
      type: this.type,
      connected: this.connected,
      opened: this.opened,
      lines: this.lines,
      bytes: this.bytes,
      alerts: this.alerts,
      nonAlerts: this.nonAlerts,
      blank: this.blank,
      noAddress: this.noAddress,
      bad: { ...this.bad },
      badTotal: this.badTotal,
      dropped: this.dropped,
      errors: this.errors,
      evicted: this.evicted,
      refused: this.refused,
      idleClosed: this.idleClosed,
      lastEventMs: this.lastEventMs,
      lastLagMs: this.lastLagMs,
      lastLineMs: this.lastLineMs,
    };
  }
}
