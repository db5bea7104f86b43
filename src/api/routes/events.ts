/**
 * GET /v1/events: server-sent events, one `data:` frame per ban, unban and allowlist change, as
 * JSON with `type` (ban, unban, allow, unallow) and `address` (engine/ban-events.ts has the rest).
 * Authenticated like every /v1 route (bearer token or the dashboard's session cookie). The
 * connection is handed to the EventHub, which drops it when it reads too slowly.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';
import { ApiError, ApiOnlyCodes } from '../http-errors.ts';

export function registerEventRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/v1/events', async (req, reply) => {
    const hub = ctx.liveEvents;
    if (!hub) throw new ApiError(ApiOnlyCodes.NOT_READY, 'live events are not available in this API');
    const res = reply.raw;
    if (!hub.add(res)) throw new ApiError(ApiOnlyCodes.NOT_READY, 'too many live event clients');
    reply.hijack();
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-accel-buffering': 'no',
    });
    // The browser's reconnect delay, and a first frame so that the client knows it is connected.
    res.write('retry: 2000\n: connected\n\n');
    const gone = () => hub.remove(res);
    req.raw.once('close', gone);
    res.once('close', gone);
    res.once('error', gone);
  });
}
