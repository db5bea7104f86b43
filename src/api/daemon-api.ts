/**
 * The API as `nftsentry run` starts it: telemetry read from the running Engine and the ingest
 * handle; the HTTP server in its own worker thread (api.worker, the default: see
 * worker/api-thread.ts) or in the main thread (startApi). Two lines in the daemon:
 *
 *   const api = await startDaemonApi(config, engine, { log, sources: () => ingest.stats() });
 *   ...
 *   await api?.close();
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/config.ts';
import type { Engine } from '../engine/engine.ts';
import type { BanSource } from '../engine/operations.ts';
import type { SourceStatsSnapshot } from '../ingest/source-stats.ts';
import type { Logger } from '../log.ts';
import { Histogram } from './histogram.ts';
import { startApi, type ApiHandle } from './server.ts';
import { startApiThread } from './worker/api-thread.ts';
import type { TelemetrySnapshot } from './worker/protocol.ts';
import { type AlertResultCount, type ApiTelemetry } from './telemetry.ts';

/** package.json's version: what /v1/status and nftsentry_build_info report unless told otherwise. */
export const PACKAGE_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

export interface DaemonApiDeps {
  log: Logger;
  sources: () => readonly unknown[];
  version?: string;
}

/** nft apply durations: every batch the engine's flusher applies, observed as it happens. */
function applySampler(engine: Engine): { histogram: Histogram; stop: () => void } {
  const histogram = new Histogram();
  const stop = engine.onNftApply((ms) => histogram.observe(ms / 1000));
  return { histogram, stop };
}

export function engineTelemetry(engine: Engine, deps: DaemonApiDeps, applyDurations: Histogram): ApiTelemetry {
  const sources = () => deps.sources() as SourceStatsSnapshot[];
  return {
    sources,
    alertResults: () => {
      const out: AlertResultCount[] = [];
      for (const s of sources()) {
        out.push({ source: s.name, result: 'received', count: s.alerts });
        out.push({ source: s.name, result: 'queue_dropped', count: s.dropped });
      }
      const snap = engine.stats.snapshot() as { bansBySource: Record<string, number>; skips: Record<string, number> };
      for (const [source, count] of Object.entries(snap.bansBySource)) out.push({ source, result: 'banned', count });
      for (const [why, count] of Object.entries(snap.skips)) out.push({ source: 'any', result: `skipped_${why}`, count });
      return out;
    },
    bansActive: () => {
      const by = engine.store.queries.countActiveBySource();
      return (['suricata', 'snort', 'kernel:scan', 'manual'] as BanSource[]).map((source) => ({ source, count: by[source] ?? 0 }));
    },
    nftApplyDurations: () => applyDurations.snapshot(),
    dropCounters: engine.dryRun ? undefined : engine.dropCounters,
    ruleset: () => ({ applied: engine.rulesetAppliedMs !== null, appliedMs: engine.rulesetAppliedMs }),
    ready: () => engine.dryRun || engine.rulesetAppliedMs !== null,
  };
}

export async function startDaemonApi(config: Readonly<Config>, engine: Engine, deps: DaemonApiDeps): Promise<ApiHandle | null> {
  if (!config.api.enabled) {
    deps.log.info('api: disabled in the config');
    return null;
  }
  const sampler = applySampler(engine);
  const log = deps.log.child({ component: 'api' });
  try {
    const telemetry = engineTelemetry(engine, deps, sampler.histogram);
    let handle: ApiHandle | null;
    if (config.api.worker) {
      const storePath = engine.dryRun || config.store.path === ':memory:' ? null : config.store.path;
      const snapshot = (): TelemetrySnapshot => ({
        sources: (telemetry.sources?.() ?? []) as SourceStatsSnapshot[],
        alertResults: [...(telemetry.alertResults?.() ?? [])],
        // The worker counts bans on its own store connection; it needs these only without one.
        bansActive: storePath ? [] : [...(telemetry.bansActive?.() ?? [])],
        nftApply: sampler.histogram.snapshot(),
        ruleset: { applied: engine.rulesetAppliedMs !== null, appliedMs: engine.rulesetAppliedMs },
        ready: engine.dryRun || engine.rulesetAppliedMs !== null,
      });
      handle = await startApiThread({ engine, config: config.api, storePath, log, version: deps.version ?? PACKAGE_VERSION, snapshot });
    } else {
      handle = await startApi(config.api, engine, { log, telemetry, version: deps.version ?? PACKAGE_VERSION });
    }
    if (!handle) {
      sampler.stop();
      return null;
    }
    const inner = handle;
    return {
      ...inner,
      async close() {
        sampler.stop();
        await inner.close();
      },
    };
  } catch (err) {
    sampler.stop();
    throw err;
  }
}
