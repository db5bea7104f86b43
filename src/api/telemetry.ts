/**
 * What the daemon can tell the API beyond the Operations contract, for /v1/status and /metrics.
 * Every member is optional: the API shows what it is given and leaves the rest out, so that it can
 * be built and tested before (and without) each part of the daemon.
 */
import type { BanSource, EngineCounters } from '../engine/operations.ts';
import type { StoreHealth } from '../engine/store-writer.ts';
import type { SourceStatsSnapshot } from '../ingest/source-stats.ts';
import type { CounterValue } from '../nft/state.ts';
import type { HistogramSnapshot } from './histogram.ts';

export interface AlertResultCount {
  source: string;
  /** What became of the alerts: `banned`, `skipped_allowlisted`, `below_threshold`, ... */
  result: string;
  count: number;
}

export interface BanCount {
  source: BanSource;
  count: number;
}

export interface RulesetState {
  applied: boolean;
  appliedMs: number | null;
}

/** policy.max_active_bans and what it did since start. */
export interface BanCapState {
  maxActiveBans: number;
  aggregated: number;
  refused: number;
}

export interface ApiTelemetry {
  /** Ingestion sources' counters (IngestHandle.stats()). */
  sources?(): readonly SourceStatsSnapshot[];
  /** Alerts by source and result, since start. */
  alertResults?(): readonly AlertResultCount[];
  /** Active bans by source; without it the API asks `listBans` (limit 0) once per source. */
  bansActive?(): readonly BanCount[];
  /** The cap on bans in force and how often it bit. */
  banCap?(): BanCapState | null;
  /** Durations of nft transactions (base ruleset and ban batches). */
  nftApplyDurations?(): HistogramSnapshot;
  /** The named drop counters of table inet nftsentry (see nft/state.ts readCounters). */
  dropCounters?(): Promise<readonly CounterValue[]>;
  ruleset?(): RulesetState;
  /** nft failures and pending elements, heals by kind, the journal's counters. */
  engineCounters?(): EngineCounters | null;
  /** The store: degraded or not, rows waiting, errors by code. */
  store?(): StoreHealth;
  /** Why the daemon is not ready yet (ruleset not applied, warm-up under way); null: ready. Default: ready. */
  notReady?(): string | null | Promise<string | null>;
}
