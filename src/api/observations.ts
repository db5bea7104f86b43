/**
 * Reads what the daemon knows, once per request, for /v1/status and /metrics: bans by source,
 * drops by reason and meter_full (from the nft named counters), sources, ruleset. A part that fails is reported
 * as missing (and logged), never as a failed status request.
 */
import type { BanSource } from '../engine/operations.ts';
import type { SourceStatsSnapshot } from '../ingest/source-stats.ts';
import { METER_FULL_COUNTER } from '../nft/objects.ts';
import type { CounterValue } from '../nft/state.ts';
import type { ApiContext } from './context.ts';
import type { BanCount, RulesetState } from './telemetry.ts';
import { BAN_SOURCES } from './request-schemas.ts';
import { withinMs } from '../deadline.ts';

export interface Observations {
  bans: readonly BanCount[] | null;
  /** Counter name without `drop_` -> packets and bytes. */
  drops: ReadonlyArray<{ reason: string; packets: number; bytes: number }> | null;
  /**
   * Packets that a full per-source kernel meter could not take, counted by hash bucket instead (the
   * meter_full counter); null when the counters could not be read or the table has no such counter.
   */
  meterFull: number | null;
  sources: readonly SourceStatsSnapshot[] | null;
  ruleset: RulesetState | null;
}

async function bansFromList(ctx: ApiContext): Promise<BanCount[]> {
  return Promise.all(
    BAN_SOURCES.map(async (source: BanSource) => ({
      source,
      count: (await ctx.ops.listBans({ source, limit: 0, offset: 0 })).total,
    })),
  );
}

function dropsFrom(counters: readonly CounterValue[]) {
  return counters
    .filter((c) => c.name.startsWith('drop_'))
    .map((c) => ({ reason: c.name.slice('drop_'.length), packets: c.packets, bytes: c.bytes }));
}

/**
 * How long status and metrics wait for a slow part (the engine's status, nft's counters): past
 * it they answer without that part rather than hang an operator's `nftsentry status` or a
 * Prometheus scrape. The read itself goes on; its cached reader keeps the value for the next call.
 */
export const PART_WAIT_MS = 3000;

/** One part, null when it fails or takes longer than PART_WAIT_MS (logged either way). */
async function attempt<T>(ctx: ApiContext, what: string, f: () => T | Promise<T>): Promise<T | null> {
  try {
    return await withinMs(
      Promise.resolve(f()),
      PART_WAIT_MS,
      () => new Error(`${what}: no answer within ${PART_WAIT_MS} ms`),
    );
  } catch (err) {
    ctx.log.warn({ err: (err as Error).message, what }, 'api: cannot read for status/metrics');
    return null;
  }
}

export async function observe(ctx: ApiContext): Promise<Observations> {
  const t = ctx.telemetry;
  const [bans, counters] = await Promise.all([
    attempt(ctx, 'bans', () => (t.bansActive ? t.bansActive() : bansFromList(ctx))),
    t.dropCounters ? attempt(ctx, 'drop counters', () => t.dropCounters!()) : Promise.resolve(null),
  ]);
  return {
    bans,
    drops: counters ? dropsFrom(counters) : null,
    meterFull: counters?.find((c) => c.name === METER_FULL_COUNTER)?.packets ?? null,
    sources: t.sources ? await attempt(ctx, 'sources', () => t.sources!()) : null,
    ruleset: t.ruleset ? await attempt(ctx, 'ruleset', () => t.ruleset!()) : null,
  };
}
