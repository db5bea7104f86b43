/**
 * The API as `nftsentry run` starts it: telemetry read from the running Engine and the ingest
 * handle, then startApi. Two lines in the daemon:
 *
 *   const api = await startDaemonApi(config, engine, { log, sources: () => ingest.stats() });
 *   ...
 *   await api?.close();
 */
import type { Config } from '../config/config.ts';
import type { Engine } from '../engine/engine.ts';
import type { BanSource } from '../engine/operations.ts';
import type { SourceStatsSnapshot } from '../ingest/source-stats.ts';
import type { Logger } from '../log.ts';
import { readCounters } from '../nft/state.ts';
import { Histogram } from './histogram.ts';
import { startApi, type ApiHandle } from './server.ts';
import { cachedReader, type AlertResultCount, type ApiTelemetry } from './telemetry.ts';

export interface DaemonApiDeps {
  log: Logger;
  sources: () => readonly unknown[];
  version?: string;
  /** How often nft's counters may be read at most (per /metrics or /v1/status). Default 1 s. */
  countersTtlMs?: number;
}

/**
 * nft apply durations: the engine keeps the last one only, so a sampler observes it each time
 * the transaction count moves (a burst of several transactions between samples counts once).
 */
function applySampler(engine: Engine): { histogram: Histogram; stop: () => void } {
  const histogram = new Histogram();
  let seen = -1;
  const tick = () => {
    const s = engine.flusher.stats;
    if (s.transactions !== seen) {
      if (seen >= 0 && s.lastDurationMs > 0) histogram.observe(s.lastDurationMs / 1000);
      seen = s.transactions;
    }
  };
  const timer = setInterval(tick, 100);
  timer.unref();
  return { histogram, stop: () => clearInterval(timer) };
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
      const by = engine.store.countActiveBySource();
      return (['suricata', 'snort', 'kernel:scan', 'manual'] as BanSource[]).map((source) => ({ source, count: by[source] ?? 0 }));
    },
    nftApplyDurations: () => applyDurations.snapshot(),
    dropCounters: engine.dryRun ? undefined : cachedReader(() => readCounters(engine.runner), deps.countersTtlMs ?? 1000),
    ruleset: () => ({ applied: engine.rulesetAppliedMs !== null, appliedMs: engine.rulesetAppliedMs }),
    ready: () => engine.dryRun || engine.rulesetAppliedMs !== null,
  };
}

export async function startDaemonApi(config: Readonly<Config>, engine: Engine, deps: DaemonApiDeps): Promise<ApiHandle | null> {
  const sampler = applySampler(engine);
  try {
    const handle = await startApi(config.api, engine, {
      log: deps.log.child({ component: 'api' }),
      telemetry: engineTelemetry(engine, deps, sampler.histogram),
      version: deps.version,
    });
    if (!handle) {
      sampler.stop();
      return null;
    }
    return {
      ...handle,
      async close() {
        sampler.stop();
        await handle.close();
      },
    };
  } catch (err) {
    sampler.stop();
    throw err;
  }
}
