/**
 * GET /v1/explain/:address: why an address is banned or not (engine/explain.ts). Any valid
 * address answers 200, banned or not; one that does not parse is 400 E_ADDRESS_INVALID.
 * GET /v1/audit?limit=N: operators' actions from the journal (who banned, unbanned, allowed what,
 * from where), newest first; `limit` 1-1000, default 20.
 */
import type { FastifyInstance } from 'fastify';
import { ErrorCodes, NftsentryError } from '../../errors.ts';
import { parseIp, prefixContaining } from '../../net/ip.ts';
import type { ApiContext } from '../context.ts';

export function registerExplainRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/v1/explain/*', async (req) => {
    const raw = (req.params as { '*'?: string })['*'] ?? '';
    const ip = raw.length <= 64 ? parseIp(raw.trim()) : null;
    if (!ip) throw new NftsentryError(ErrorCodes.ADDRESS_INVALID, `not an IPv4 or IPv6 address: ${raw.slice(0, 64)}`);
    if (!ctx.ops.explain) throw new NftsentryError(ErrorCodes.NOT_FOUND, 'explain is not offered here');
    return ctx.ops.explain(prefixContaining(ip, ip.family === 4 ? 32 : 128));
  });
  app.get('/v1/audit', async (req) => {
    const raw = (req.query as { limit?: unknown }).limit ?? '20';
    const limit = typeof raw === 'string' && /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(limit >= 1 && limit <= 1000)) {
      throw new NftsentryError(ErrorCodes.BAD_REQUEST, 'limit must be a whole number from 1 to 1000');
    }
    if (!ctx.ops.audit) throw new NftsentryError(ErrorCodes.NOT_FOUND, 'this daemon keeps no journal to audit from');
    return { items: await ctx.ops.audit(limit) };
  });
}
