/**
 * /v1/bans: list (filter by source, reason and the start of the address; sorted; paginated), look up, ban, unban. An address in the
 * path may be a prefix with its slash URL-encoded (`203.0.113.0%2F24`) or plain (`.../24`).
 * Look-up, ban and unban read the address alike (parseBanAddress): an address no ban can take is
 * the same 400 from each, never a 404 from one and a 400 from another.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { prefixKey } from '../../net/ip.ts';
import { NftsentryError, ErrorCodes } from '../../errors.ts';
import type { ApiContext } from '../context.ts';
import { banJson } from '../ban-json.ts';
import {
  banListQuery,
  parseBanAddress,
  parseBody,
  parseQuery,
  parseRequestDuration,
  parseRequestText,
} from '../request-schemas.ts';

/** The address part of `/v1/bans/*`: fastify has already percent-decoded it once. */
export function pathAddress(req: FastifyRequest): string {
  const raw = (req.params as { '*'?: string })['*'] ?? '';
  return raw;
}

export function registerBanRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const listQuery = banListQuery(ctx.config.max_page_size);

  app.get('/v1/bans', async (req) => {
    const q = parseQuery(listQuery, req.query);
    const page = await ctx.ops.listBans({
      source: q.source,
      reason: q.reason,
      ...(q.search ? { search: q.search } : {}),
      ...(q.sort ? { sort: q.sort } : {}),
      ...(q.order ? { order: q.order } : {}),
      limit: q.limit,
      offset: q.offset,
    });
    const items: Array<ReturnType<typeof banJson> & { packets?: number | null; bytes?: number | null }> =
      page.items.map(banJson);
    if (q.hits === '1' && ctx.ops.hitsOf && items.length > 0) {
      if (q.limit > 200) throw new NftsentryError(ErrorCodes.BAD_REQUEST, 'hits=1 takes pages of at most 200 (limit)');
      const hits = await ctx.ops.hitsOf(items.map((b) => b.address));
      for (const b of items) {
        const h = hits[b.address];
        b.packets = h?.packets ?? null;
        b.bytes = h?.bytes ?? null;
      }
    }
    return { total: page.total, limit: q.limit, offset: q.offset, items };
  });

  app.get('/v1/bans/*', async (req) => {
    const address = parseBanAddress(pathAddress(req));
    const ban = await ctx.ops.getBan(address);
    if (!ban) throw new NftsentryError(ErrorCodes.NOT_FOUND, `${prefixKey(address)} is not banned`);
    // `?hits=1`: also what the element dropped (one read of the ban's set on the main thread).
    if ((req.query as { hits?: unknown }).hits !== '1' || !ctx.ops.hits) return banJson(ban);
    const hits = await ctx.ops.hits(ban.address);
    return { ...banJson(ban), packets: hits?.packets ?? null, bytes: hits?.bytes ?? null };
  });

  app.post('/v1/bans', async (req, reply) => {
    const body = parseBody(req.body);
    const address = parseBanAddress(body.address);
    const durationSec = parseRequestDuration(body.duration, ctx.config.default_ban_duration);
    const reason = parseRequestText(body.reason, 'reason', 'manual');
    const existed = (await ctx.ops.getBan(address)) !== null;
    const ban = await ctx.asActor(req, async (actor) => {
      const b = await ctx.ops.ban({ address, durationSec, reason, actor });
      ctx.log.info({ address: prefixKey(address), durationSec, reason, actor, refreshed: existed }, 'api: ban');
      return b;
    });
    reply.code(existed ? 200 : 201);
    return banJson(ban);
  });

  app.delete('/v1/bans/*', async (req, reply) => {
    const address = parseBanAddress(pathAddress(req));
    // ?fleet=true: every gateway of the fleet lifts it too (docs/fleet.md).
    const fleet = (req.query as Record<string, unknown> | undefined)?.fleet === 'true';
    const removed = await ctx.asActor(req, async (actor) => {
      const r = await ctx.ops.unban(address, { fleet, actor });
      if (r)
        ctx.log.info(
          { address: prefixKey(address), actor, graceSec: ctx.config.unban_grace, ...(fleet ? { fleet } : {}) },
          'api: unban',
        );
      return r;
    });
    if (!removed) throw new NftsentryError(ErrorCodes.NOT_FOUND, `${prefixKey(address)} is not banned`);
    reply.code(200);
    return {
      address: prefixKey(address),
      unbanned: true,
      graceSec: ctx.config.unban_grace,
      ...(fleet ? { fleet } : {}),
    };
  });
}
