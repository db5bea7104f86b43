/**
 * Unauthenticated probes and metrics: /healthz (the process answers), /readyz (the daemon says it
 * is ready: ruleset applied, alert path warmed up; 503 with the reason before), /metrics (Prometheus text). They reveal counts, never
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
    const why = ctx.telemetry.notReady ? await ctx.telemetry.notReady() : null;
    if (why !== null) throw new ApiError(ApiOnlyCodes.NOT_READY, `not ready: ${why}`);
    return { status: 'ready' };
  });

  app.get('/metrics', async (_req, reply) => {
    const o = await observe(ctx);
    reply.type(PROMETHEUS_CONTENT_TYPE);
    return renderPrometheus(metricFamilies(ctx, o, ctx.clock()));
  });
}
