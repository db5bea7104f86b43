/** Counters of the decisions taken, for status and metrics. Only numbers; nothing grows. */
import type { Decision } from './decide.ts';

export interface DecisionCounts {
  decisions: number;
  bans: number;
  refreshes: number;
  skips: Record<string, number>;
  /** Decisions with a note beside their outcome, by note (`hint_mismatch`: see decide.ts). */
  notes: Record<string, number>;
  bansBySource: Record<string, number>;
  /** policy.max_active_bans: bans made aggregates of the bans inside, automatic bans refused. */
  capped: { aggregated: number; refused: number };
}

export class DecisionStats {
  private decisions = 0;
  private bans = 0;
  private refreshes = 0;
  private readonly skips: Record<string, number> = {};
  private readonly notes: Record<string, number> = {};
  private readonly bansBySource: Record<string, number> = {};
  private readonly capped = { aggregated: 0, refused: 0 };

  count(d: Decision): void {
    this.decisions++;
    if (d.note) this.notes[d.note] = (this.notes[d.note] ?? 0) + 1;
    if (d.kind === 'skip') {
      this.skips[d.why] = (this.skips[d.why] ?? 0) + 1;
      if (d.why === 'ban_cap') this.capped.refused++;
      return;
    }
    if (d.replaces) this.capped.aggregated++;
    if (d.refresh) this.refreshes++;
    else this.bans++;
    this.bansBySource[d.source] = (this.bansBySource[d.source] ?? 0) + 1;
  }

  snapshot(): DecisionCounts {
    return {
      decisions: this.decisions,
      bans: this.bans,
      refreshes: this.refreshes,
      skips: { ...this.skips },
      notes: { ...this.notes },
      bansBySource: { ...this.bansBySource },
      capped: { ...this.capped },
    };
  }
}
