/**
 * Unauthenticated probes and metrics: /healthz (the process answers), /readyz (the daemon says it
 * is ready: ruleset applied, store open), /metrics (Prometheus text). They reveal counts, never
 * addresses.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';
import { ApiError, ApiOnlyCodes } from '../http-errors.ts';
import { observe } from '../observations.ts';
import { metricFamilies } from '../metric-families.ts';
import { renderPrometheus, PROMETHEUS_CONTENT_TYPE } from '../prometheus.ts';

export function registerHealthRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async () => {
    const ready = ctx.telemetry.ready ? await ctx.telemetry.ready() : true;
    if (!ready) throw new ApiError(ApiOnlyCodes.NOT_READY, 'not ready: the ruleset or the store is not up yet');
    return { status: 'ready' };
  });

  app.get('/metrics', async (_req, reply) => {
    const o = await observe(ctx);
    reply.type(PROMETHEUS_CONTENT_TYPE);
    return renderPrometheus(metricFamilies(ctx, o, ctx.clock()));
  });
}
