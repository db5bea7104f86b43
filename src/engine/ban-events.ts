/**
 * The daemon's feed of what changed, for whoever follows it (the decision journal, the API's
 * live events, the fleet's publisher): a ban once the kernel has its element, an unban (lifted by
 * an operator or a sync, or its time up), an allowlist entry added or removed.
 *
 * Listeners run synchronously on the flusher's path, so each must be cheap (queue and batch its
 * own work); one that throws is logged and never stops the others or the flusher.
 */
import type { Logger } from '../log.ts';
import type { BanWrite } from '../store/store.ts';

export type BanEvent =
  | {
      type: 'ban';
      address: string;
      /** Where the decision came from: suricata, snort, kernel:scan, manual, fleet:<node>... */
      source: string;
      reason: string;
      sid: number | null;
      /** Absolute expiry (ms since the epoch), null for a permanent ban. */
      expiresMs: number | null;
      offences: number;
      atMs: number;
    }
  | { type: 'unban'; address: string; cause: 'lifted' | 'expired'; atMs: number }
  | { type: 'allow' | 'unallow'; address: string; atMs: number };

export type BanEventListener = (event: BanEvent) => void;

export class BanEvents {
  private readonly listeners = new Set<BanEventListener>();
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  /** Adds a listener; returns what removes it. */
  subscribe(listener: BanEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get listening(): boolean {
    return this.listeners.size > 0;
  }

  emit(event: BanEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.log.error({ err, event: event.type }, 'ban event listener failed');
      }
    }
  }

  /** Ban events of rows whose elements the kernel has. */
  bans(rows: readonly BanWrite[]): void {
    if (this.listeners.size === 0) return;
    for (const r of rows) {
      this.emit({
        type: 'ban',
        address: r.target,
        source: r.source,
        reason: r.reason,
        sid: r.sid,
        expiresMs: r.expiresMs,
        offences: r.offences,
        atMs: r.nowMs,
      });
    }
  }

  unbans(targets: readonly string[], cause: 'lifted' | 'expired', atMs: number): void {
    if (this.listeners.size === 0) return;
    for (const address of targets) this.emit({ type: 'unban', address, cause, atMs });
  }
}
