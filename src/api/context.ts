/**
 * What every route module receives: the operations, the validated api config, the telemetry, the
 * clock and the logger. Built once by buildApi, frozen.
 */
import type { FastifyRequest } from 'fastify';
import type {
  Actor,
  AllowEntry,
  BanHits,
  BanListFilter,
  BanView,
  ExplainEntry,
  Explanation,
  Operations,
} from '../engine/operations.ts';
import type { IpPrefix } from '../net/ip.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { ApiConfig } from './api-schema.ts';
import type { ApiTelemetry } from './telemetry.ts';
import type { Histogram } from './histogram.ts';
import type { EventHub } from './live/event-hub.ts';
import type { TlsInfo } from './tls.ts';
import type { BanStatsSummary } from '../store/ban-stats.ts';

/**
 * Operations as the API calls them: the engine's own (synchronous reads), or a proxy in the API
 * worker thread whose reads may be asynchronous. Every route awaits.
 */
export interface ApiOperations {
  listBans(filter: BanListFilter): { total: number; items: BanView[] } | Promise<{ total: number; items: BanView[] }>;
  getBan(address: IpPrefix): BanView | null | Promise<BanView | null>;
  ban: Operations['ban'];
  unban: Operations['unban'];
  listAllow(): AllowEntry[] | Promise<AllowEntry[]>;
  addAllow: Operations['addAllow'];
  removeAllow: Operations['removeAllow'];
  /** Names the peer of an actor given with a `ref` (auth.ts withActor); absent: such rows keep `unix`. */
  actorFrom?: Operations['actorFrom'];
  status: Operations['status'];
  applyConfirm: Operations['applyConfirm'];
  confirmApply: Operations['confirmApply'];
  /** Why an address is banned or not (engine/explain.ts); absent: the route answers 404. */
  explain?(address: IpPrefix): Explanation | Promise<Explanation>;
  /** Operators' actions from the journal, newest first; absent: the route answers 404. */
  audit?(limit: number): ExplainEntry[] | Promise<ExplainEntry[]>;
  /** What the kernel counted on several bans' elements; absent: lists carry no hits. */
  hitsOf?(targets: readonly string[]): Promise<Record<string, BanHits>>;
  hits?: Operations['hits'];
  /** The dashboard's summary over a window (store/ban-stats.ts); absent: not available. */
  banStats?(sinceMs: number, nowMs: number, bucketMs: number): BanStatsSummary | Promise<BanStatsSummary>;
}

export interface ApiContext {
  readonly ops: ApiOperations;
  readonly config: ApiConfig;
  readonly telemetry: ApiTelemetry;
  readonly clock: Clock;
  readonly log: Logger;
  readonly version: string;
  readonly startedMs: number;
  /** The engine's own status, refreshed in the background at most once a second (it reads nft). */
  readonly engineStatus: () => Promise<Record<string, unknown>>;
  /** API request durations, by route template. */
  readonly requestDurations: Map<string, Histogram>;
  /** API answers by route template and status. */
  readonly requestCounts: Map<string, number>;
  /**
   * Runs an operation as the request's actor (auth.ts withActor): the token's name and the peer;
   * a unix socket peer's uid is looked up beside the operation, not before it.
   */
  readonly asActor: <T>(request: FastifyRequest, op: (actor: Actor) => Promise<T>) => Promise<T>;
  /** The SSE clients of GET /v1/events; absent: live events are not served. */
  readonly liveEvents?: EventHub;
  /** The TLS this API serves; absent: plain HTTP. */
  readonly tls?: TlsInfo;
}
