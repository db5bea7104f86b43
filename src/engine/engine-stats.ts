/** Counters of the engine's decisions, for status and metrics. Only numbers; nothing grows. */
import type { Decision } from './decide.ts';

export class EngineStats {
  decisions = 0;
  bans = 0;
  refreshes = 0;
  readonly skips: Record<string, number> = {};
  readonly bansBySource: Record<string, number> = {};
  heals = 0;
  lastHealMs: number | null = null;
  restored = 0;
  adopted = 0;
  kernelScanPolls = 0;
  kernelScanErrors = 0;

  count(d: Decision): void {
    this.decisions++;
    if (d.kind === 'skip') {
      this.skips[d.why] = (this.skips[d.why] ?? 0) + 1;
      return;
    }
    if (d.refresh) this.refreshes++;
    else this.bans++;
    this.bansBySource[d.source] = (this.bansBySource[d.source] ?? 0) + 1;
  }

  snapshot(): Record<string, unknown> {
    return {
      decisions: this.decisions,
      bans: this.bans,
      refreshes: this.refreshes,
      skips: { ...this.skips },
      bansBySource: { ...this.bansBySource },
      heals: this.heals,
      lastHealMs: this.lastHealMs,
      restored: this.restored,
      adopted: this.adopted,
      kernelScanPolls: this.kernelScanPolls,
      kernelScanErrors: this.kernelScanErrors,
    };
  }
}
