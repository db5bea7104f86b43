/**
 * The API as `nftsentry run` starts it: telemetry read from the daemon (a DaemonView) and the
 * ingest handle; the HTTP server in its own worker thread (api.worker, the default: see
 * worker/api-thread.ts) or in the main thread (startApi). Two lines in the daemon:
 *
 *   const api = await startDaemonApi(config, daemon, { log, sources: () => ingest.stats() });
 *   ...
 *   await api?.close();
 */
import type { Config } from '../config/config.ts';
import type { SourceStatsSnapshot } from '../ingest/source-stats.ts';
import type { Logger } from '../log.ts';
import { VERSION } from '../version.ts';
import type { DaemonView } from './daemon-view.ts';
import { Histogram } from './histogram.ts';
import { BAN_SOURCES } from './request-schemas.ts';
import { startApi, type ApiHandle } from './server.ts';
import { startApiThread } from './worker/api-thread.ts';
import type { TelemetrySnapshot } from './worker/protocol.ts';
import type { AlertResultCount, ApiTelemetry, RulesetState } from './telemetry.ts';
import { EventBatcher, type BanEventFeed } from './live/event-batcher.ts';
import { EventHub } from './live/event-hub.ts';
import { loadOrCreateTls } from './tls.ts';

export interface DaemonApiDeps {
  log: Logger;
  sources: () => readonly unknown[];
  version?: string;
  /** The daemon's ban events (engine/ban-events.ts) for GET /v1/events. */
  events?: BanEventFeed;
}

/** nft apply durations: every batch the daemon applies, observed as it happens. */
function applySampler(daemon: DaemonView): { histogram: Histogram; stop: () => void } {
  const histogram = new Histogram();
  const stop = daemon.onNftApply((ms) => histogram.observe(ms / 1000));
  return { histogram, stop };
}

function rulesetState(daemon: DaemonView): RulesetState {
  const appliedMs = daemon.rulesetAppliedMs();
  return { applied: appliedMs !== null, appliedMs };
}

export function daemonTelemetry(daemon: DaemonView, deps: DaemonApiDeps, applyDurations: Histogram): ApiTelemetry {
  const sources = () => deps.sources() as SourceStatsSnapshot[];
  return {
    sources,
    alertResults: () => {
      const out: AlertResultCount[] = [];
      for (const s of sources()) {
        out.push({ source: s.name, result: 'received', count: s.alerts });
        out.push({ source: s.name, result: 'queue_dropped', count: s.dropped });
      }
      const snap = daemon.decisionStats();
      for (const [source, count] of Object.entries(snap.bansBySource)) out.push({ source, result: 'banned', count });
      for (const [why, count] of Object.entries(snap.skips))
        out.push({ source: 'any', result: `skipped_${why}`, count });
      for (const [note, count] of Object.entries(snap.notes ?? {}))
        out.push({ source: 'any', result: `noted_${note}`, count });
      return out;
    },
    bansActive: () => {
      const by = daemon.countActiveBySource();
      return BAN_SOURCES.map((source) => ({ source, count: by[source] ?? 0 }));
    },
    banCap: () => {
      const { capped, maxActiveBans } = daemon.decisionStats();
      return capped && maxActiveBans !== undefined ? { maxActiveBans, ...capped } : null;
    },
    nftApplyDurations: () => applyDurations.snapshot(),
    dropCounters: daemon.dryRun ? undefined : () => daemon.dropCounters(),
    ruleset: () => rulesetState(daemon),
    store: () => daemon.storeHealth(),
    engineCounters: () => daemon.operations.counters?.() ?? null,
    notReady: () => daemon.notReady(),
  };
}

export async function startDaemonApi(
  config: Readonly<Config>,
  daemon: DaemonView,
  deps: DaemonApiDeps,
): Promise<ApiHandle | null> {
  if (!config.api.enabled) {
    deps.log.info('api: disabled in the config');
    return null;
  }
  const sampler = applySampler(daemon);
  const log = deps.log.child({ component: 'api' });
  let batcher: EventBatcher | null = null;
  try {
    const tls = loadOrCreateTls(config.api, log);
    const telemetry = daemonTelemetry(daemon, deps, sampler.histogram);
    let handle: ApiHandle | null;
    if (config.api.worker) {
      const storePath = daemon.dryRun || config.store.path === ':memory:' ? null : config.store.path;
      const snapshot = (): TelemetrySnapshot => ({
        sources: (telemetry.sources?.() ?? []) as SourceStatsSnapshot[],
        alertResults: [...(telemetry.alertResults?.() ?? [])],
        // The worker counts bans on its own store connection; it needs these only without one.
        bansActive: storePath ? [] : [...(telemetry.bansActive?.() ?? [])],
        nftApply: sampler.histogram.snapshot(),
        banCap: telemetry.banCap?.() ?? null,
        ruleset: rulesetState(daemon),
        store: daemon.storeHealth(),
        engine: daemon.operations.counters?.() ?? null,
        notReady: daemon.notReady(),
      });
      handle = await startApiThread({
        daemon,
        config: config.api,
        storePath,
        log,
        version: deps.version ?? VERSION,
        snapshot,
        tls,
        ...(deps.events ? { events: deps.events } : {}),
      });
    } else {
      // In this thread the batches go straight to the hub.
      const hub = new EventHub({ onWatchers: (count) => batcher?.watchers(count) });
      if (deps.events) batcher = new EventBatcher(deps.events, (batch) => hub.publish(batch));
      handle = await startApi(config.api, daemon.operations, {
        log,
        telemetry,
        version: deps.version ?? VERSION,
        clock: daemon.clock,
        tls,
        liveEvents: hub,
      });
    }
    if (!handle) {
      sampler.stop();
      batcher?.close();
      return null;
    }
    const inner = handle;
    const stopBatcher = batcher;
    return {
      ...inner,
      async close() {
        sampler.stop();
        stopBatcher?.close();
        await inner.close();
      },
    };
  } catch (err) {
    sampler.stop();
    batcher?.close();
    throw err;
  }
}
