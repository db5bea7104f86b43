/**
 * GET /v1/status: version, ruleset applied and when, each source (connected, lines, alerts, bad,
 * dropped), drops per reason and meterFull (packets a full per-source meter could not take) from
 * the nft named counters, bans by source; and the engine's own
 * status under `engine`.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';
import { observe } from '../observations.ts';
import { withinMs } from '../../deadline.ts';
import { PART_WAIT_MS } from '../observations.ts';

function isoOrNull(ms: number | null | undefined): string | null {
  return typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

export function registerStatusRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/v1/status', async () => {
    const nowMs = ctx.clock();
    const [o, engine] = await Promise.all([
      observe(ctx),
      withinMs(
        ctx.engineStatus(),
        PART_WAIT_MS,
        () => new Error(`the engine's status: no answer within ${PART_WAIT_MS} ms`),
      ).catch((err: unknown) => {
        ctx.log.warn({ err: (err as Error).message }, 'api: engine status failed');
        return null;
      }),
    ]);
    const bySource: Record<string, number> = {};
    for (const b of o.bans ?? []) bySource[b.source] = (bySource[b.source] ?? 0) + b.count;
    return {
      version: ctx.version,
      startedAt: new Date(ctx.startedMs).toISOString(),
      uptimeSec: Math.max(0, Math.round((nowMs - ctx.startedMs) / 1000)),
      ruleset: o.ruleset ? { applied: o.ruleset.applied, appliedAt: isoOrNull(o.ruleset.appliedMs) } : null,
      bans: o.bans ? { total: Object.values(bySource).reduce((a, b) => a + b, 0), bySource } : null,
      drops: o.drops
        ? Object.fromEntries(o.drops.map((d) => [d.reason, { packets: d.packets, bytes: d.bytes }]))
        : null,
      meterFull: o.meterFull,
      sources: o.sources
        ? o.sources.map((s) => ({
            name: s.name,
            type: s.type,
            connected: s.connected,
            lines: s.lines,
            alerts: s.alerts,
            bad: s.badTotal,
            dropped: s.dropped,
            errors: s.errors,
            connections: { evicted: s.evicted, refused: s.refused, idleClosed: s.idleClosed },
            lastLine: isoOrNull(s.lastLineMs),
            lagSec: s.lastLagMs === null ? null : s.lastLagMs / 1000,
          }))
        : null,
      // An `apply --confirm` waiting for `nftsentry confirm` (null: none); from the engine's status.
      pendingConfirm: (engine?.pendingConfirm as unknown) ?? null,
      // The certificate the API serves (null: plain HTTP), so that an admin can check the browser's.
      tls: ctx.tls ? { fingerprint256: ctx.tls.fingerprint256, selfSigned: ctx.tls.selfSigned } : null,
      // GET /v1/events: clients now, clients dropped for reading too slowly, events sent.
      liveEvents: ctx.liveEvents
        ? { clients: ctx.liveEvents.size, dropped: ctx.liveEvents.dropped, events: ctx.liveEvents.events }
        : null,
      engine,
    };
  });
}
