/** What the daemon's main thread and the API worker thread tell each other (besides RPC). */
import type { ApiConfig } from '../api-schema.ts';
import type { NamedToken } from '../api-tokens.ts';
import type { StoreHealth } from '../../engine/store-writer.ts';
import type { EngineCounters } from '../../engine/operations.ts';
import type { SourceStatsSnapshot } from '../../ingest/source-stats.ts';
import type { HistogramSnapshot } from '../histogram.ts';
import type { AlertResultCount, BanCapState, BanCount, RulesetState } from '../telemetry.ts';
import type { RpcRequest, RpcResponse } from './rpc.ts';
import type { DaemonRpc } from './daemon-rpc.ts';
import type { TlsInfo } from '../tls.ts';
import type { EventBatch } from '../live/event-batcher.ts';

export interface ApiWorkerData {
  config: ApiConfig;
  tokens: NamedToken[];
  version: string;
  /** The store file for the worker's read-only connection; null: reads over RPC. */
  storePath: string | null;
  /** The daemon's monotonic clock anchor (clock.ts); null: the wall clock. */
  clockAnchorMs: number | null;
  /** Ask the main thread for nft's drop counters (false in dry-run). */
  readCounters: boolean;
  logLevel: string;
  snapshot: TelemetrySnapshot;
  /** Serve HTTPS with this; null: plain HTTP. */
  tls: TlsInfo | null;
}

/** Pushed by the main thread every `SNAPSHOT_INTERVAL_MS`. */
export interface TelemetrySnapshot {
  sources: SourceStatsSnapshot[];
  alertResults: AlertResultCount[];
  bansActive: BanCount[];
  nftApply: HistogramSnapshot;
  banCap?: BanCapState | null;
  ruleset: RulesetState;
  store: StoreHealth;
  engine?: EngineCounters | null;
  /** Why the daemon is not ready yet; null: ready. */
  notReady: string | null;
}

export const SNAPSHOT_INTERVAL_MS = 500;

export type ToWorker =
  | RpcResponse
  | { type: 'snapshot'; snapshot: TelemetrySnapshot }
  | { type: 'events'; batch: EventBatch }
  | { type: 'close' };
export type FromWorker =
  | RpcRequest<DaemonRpc>
  /** How many live event clients the worker has: the main thread follows the feed only while > 0. */
  | { type: 'watchers'; count: number }
  | { type: 'listening'; address: string }
  | { type: 'failed'; error: NonNullable<RpcResponse['error']> }
  | { type: 'closed' };
