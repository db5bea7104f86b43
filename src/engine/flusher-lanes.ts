/**
 * The flusher's lanes as the config asks for them: `alerts`, `operator`, and `alerts-overlap` when
 * pipelining; each an `nft -i` session (or nft processes only, `coprocess_max_elements: 0`), or
 * the dry-run transport that logs and sends nothing.
 */
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { Nft } from '../nft/nft.ts';
import type { FlusherLanes } from './ban-flusher.ts';
import { DryRunTransport, NftTransport } from './lane-transport.ts';
import { NftLane } from './nft-lane.ts';
import { sharedRefreshProbe } from '../nft/refresh-probe.ts';

export function buildLanes(config: Readonly<Config>, nft: Nft, log: Logger): FlusherLanes {
  const e = config.engine;
  const probe = sharedRefreshProbe();
  const transport = () =>
    e.dry_run
      ? new DryRunTransport(log)
      : new NftTransport(
          nft,
          e.coprocess_max_elements > 0 ? nft.openSession() : null,
          e.coprocess_max_elements,
          log,
          probe,
        );
  const pipelined = e.pipeline > 1 && (e.dry_run || e.coprocess_max_elements > 0);
  return {
    alerts: new NftLane('alerts', transport()),
    overlap: pipelined ? new NftLane('alerts-overlap', transport()) : null,
    operator: new NftLane('operator', transport()),
  };
}

/** The flusher's batching settings from the config (the daemon adds its callbacks). */
export function flusherSettings(config: Readonly<Config>) {
  const e = config.engine;
  return {
    flushIntervalMs: e.flush_interval_ms,
    maxBatch: e.max_batch,
    smallBatch: e.coprocess_max_elements,
    burstBatch: e.burst_batch,
    burstWaitMs: e.burst_wait_ms,
  };
}
