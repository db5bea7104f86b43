/**
 * GET /v1/explain/:address: why an address is banned or not (engine/explain.ts). Any valid
 * address answers 200, banned or not; one that does not parse is 400 E_ADDRESS_INVALID.
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
}
