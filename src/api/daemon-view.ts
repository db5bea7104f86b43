/**
 * What the API needs of the running daemon, and no more: the Operations its routes and the
 * worker's RPC handlers call, and the few readings that /v1/status, /readyz and /metrics show.
 * The composition root (cli/commands/run.ts) builds one from its engine; tests build one from
 * an in-memory Operations.
 */
import type { Clock } from '../clock.ts';
import type { Operations } from '../engine/operations.ts';
import type { StoreHealth } from '../engine/store-writer.ts';
import type { CounterValue } from '../nft/state.ts';

export interface DaemonView {
  readonly operations: Operations;
  readonly dryRun: boolean;
  /** The daemon's clock (what ban times are measured on). */
  readonly clock: Clock;
  /**
   * The wall-clock anchor of a monotonic clock (clock.ts anchoredClock), so that the API worker
   * reads the same clock; null: the worker reads the wall clock.
   */
  readonly clockAnchorMs: number | null;
  /** nft's named drop counters (each read costs an nft process: the daemon caches them). */
  dropCounters(): Promise<readonly CounterValue[]>;
  /** Calls `listener` with the duration of every nft transaction; returns the unsubscribe. */
  onNftApply(listener: (durationMs: number) => void): () => void;
  /**
   * Decisions since start: bans by source, skips by why, notes (hint_mismatch) by note, bans
   * aggregated or refused at policy.max_active_bans, and that cap.
   */
  decisionStats(): {
    bansBySource: Record<string, number>;
    skips: Record<string, number>;
    notes?: Record<string, number>;
    capped?: { aggregated: number; refused: number };
    maxActiveBans?: number;
  };
  /** Active bans by source, from the store. */
  countActiveBySource(): Record<string, number>;
  /** When the base ruleset was last applied; null: not yet. */
  rulesetAppliedMs(): number | null;
  /** Whether the store takes the writes, how many rows wait, its errors by code. */
  storeHealth(): StoreHealth;
  /** Why alerts are not handled at full speed yet (ruleset, warm-up): /readyz; null: ready. */
  notReady(): string | null;
}
