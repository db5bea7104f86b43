/**
 * The alert path's last step: a decision taken (by the Decider) is counted, recorded in the
 * ledger and queued for the kernel. Alerts and kernel detections take the flusher's automatic
 * queue; operator bans its operator queue, and their caller waits for their own element.
 */
import type { Clock } from '../clock.ts';
import type { Alert } from '../ingest/alert.ts';
import type { IngestedAlert } from '../ingest/alert-queue.ts';
import { type Logger, RateLimitedLog } from '../log.ts';
import type { BanFlusher } from './ban-flusher.ts';
import type { BanLedger } from './ban-ledger.ts';
import type { BanDecision, Decision } from './decide.ts';
import type { Decider } from './decider.ts';
import { DecisionStats } from './decision-stats.ts';

/** Who follows the decisions of the alert path (the journal). */
export interface DecisionObserver {
  alert(d: Decision, alert: Alert, nowMs: number): void;
  kernelScan(d: Decision, address: string, reason: string, nowMs: number): void;
}

export class Enforcer {
  readonly stats = new DecisionStats();
  private readonly decider: Decider;
  private readonly ledger: BanLedger;
  private readonly flusher: BanFlusher;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly dryRun: boolean;
  /** Ban log lines: at most 50 per 10 s, the rest counted in the next line shown. */
  private readonly banLog = new RateLimitedLog(50, 10_000);
  /** policy.max_active_bans biting (an aggregate, a refusal): at most one line per 10 s. */
  private readonly capLog = new RateLimitedLog(1, 10_000);
  private readonly replaced: (targets: readonly string[]) => void;
  private observer: DecisionObserver | null = null;

  constructor(parts: {
    decider: Decider;
    ledger: BanLedger;
    flusher: BanFlusher;
    log: Logger;
    clock: Clock;
    dryRun: boolean;
    /** Ends the bans a cap aggregate replaces (KernelSync.liftReplaced). */
    replaced: (targets: readonly string[]) => void;
  }) {
    this.replaced = parts.replaced;
    this.decider = parts.decider;
    this.ledger = parts.ledger;
    this.flusher = parts.flusher;
    this.log = parts.log;
    this.clock = parts.clock;
    this.dryRun = parts.dryRun;
  }

  /**
   * Sees every decision taken for an alert or a kernel detection (the decision journal). Called
   * on the alert path after the ban is queued: it must only queue its own work.
   */
  observe(observer: DecisionObserver | null): void {
    this.observer = observer;
  }

  handleAlerts(batch: readonly IngestedAlert[]): void {
    for (const item of batch) this.handleAlert(item.alert);
  }

  /** Decides one alert and, for a ban, queues it. `nowMs`: receive time (the clock by default). */
  handleAlert(alert: Alert, nowMs = this.clock()): Decision {
    const d = this.take(this.decider.alert(alert, nowMs), nowMs);
    this.observer?.alert(d, alert, nowMs);
    return d;
  }

  /** A kernel detection (scanners set) -> the same model. */
  handleKernelScan(address: string, reason: string, nowMs = this.clock()): Decision {
    const d = this.take(this.decider.kernelScan(address, reason, nowMs), nowMs);
    this.observer?.kernelScan(d, address, reason, nowMs);
    return d;
  }

  /** A decision taken elsewhere (a fleet ban): counted and, for a ban, queued like an alert's. */
  enforce(d: Decision, nowMs = this.clock()): Decision {
    return this.take(d, nowMs);
  }

  /** An operator's ban decision: resolves once nft has applied it and the store has the row. */
  enforceOperatorBan(d: BanDecision, nowMs: number): Promise<void> {
    this.stats.count(d);
    const write = this.record(d, nowMs);
    return this.flusher.queueOperatorBan(
      { set: d.target.set, key: d.target.text, timeoutSec: d.durationSec },
      d.refresh,
      write,
    );
  }

  private take(d: Decision, nowMs: number): Decision {
    this.stats.count(d);
    if ((d.kind === 'skip' && d.why === 'ban_cap') || (d.kind === 'ban' && d.replaces)) this.capBit(d, nowMs);
    if (d.kind === 'ban') {
      if (d.replaces) this.replaced(d.replaces);
      const write = this.record(d, nowMs);
      this.flusher.queueBan({ set: d.target.set, key: d.target.text, timeoutSec: d.durationSec }, d.refresh, write);
    }
    return d;
  }

  private capBit(d: Decision, nowMs: number): void {
    const shown = this.capLog.take(nowMs);
    if (!shown) return;
    const c = this.stats.snapshot().capped;
    this.log.warn(
      {
        action: d.kind === 'ban' ? 'aggregated' : 'refused',
        target: d.kind === 'ban' ? d.target.text : d.address,
        replaced: d.kind === 'ban' ? d.replaces?.length : undefined,
        active: this.ledger.activeCount,
        aggregatedTotal: c.aggregated,
        refusedTotal: c.refused,
        suppressedBefore: shown.suppressedBefore,
      },
      'policy.max_active_bans reached: automatic bans aggregated or refused',
    );
  }

  private record(d: BanDecision, nowMs: number) {
    const write = this.ledger.recordBan(d, nowMs);
    const shown = this.banLog.take(nowMs);
    if (shown) {
      this.log.info(
        {
          target: d.target.text,
          offender: d.offender,
          durationSec: d.durationSec,
          offences: d.offences,
          refresh: d.refresh,
          source: d.source,
          reason: d.reason,
          sid: d.sid,
          signature: d.signature,
          dryRun: this.dryRun,
          suppressedBefore: shown.suppressedBefore,
        },
        'ban',
      );
    }
    return write;
  }
}
