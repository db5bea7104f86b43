/**
 * GET /v1/dashboard/summary?window=hour|day: the dashboard's charts and top lists from the store
 * (store/ban-stats.ts): bans by source per bucket (5 minutes over an hour, 1 hour over a day), the
 * top scanners and the top signatures. 404 when this API has no store reader (dry-run, a store in
 * memory, the API in the main thread): the page then says "not available".
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NftsentryError, ErrorCodes } from '../../errors.ts';
import type { ApiContext } from '../context.ts';
import { parseQuery } from '../request-schemas.ts';

const WINDOWS = { hour: { spanMs: 3_600_000, bucketMs: 300_000 }, day: { spanMs: 86_400_000, bucketMs: 3_600_000 } };
const summaryQuery = z.object({ window: z.enum(['hour', 'day']).default('hour') });

export function registerDashboardRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/v1/dashboard/summary', async (req) => {
    const q = parseQuery(summaryQuery, req.query);
    const stats = ctx.ops.banStats;
    if (!stats) throw new NftsentryError(ErrorCodes.NOT_FOUND, 'ban statistics are not available in this API');
    const w = WINDOWS[q.window];
    const nowMs = ctx.clock();
    return { window: q.window, ...(await stats.call(ctx.ops, nowMs - w.spanMs, nowMs, w.bucketMs)) };
  });
}
