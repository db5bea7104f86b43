/**
 * /v1/allowlist: list, add (lifts the bans the entry covers), remove. Entries from the config
 * file cannot be removed here (403); adding an entry that exists is a conflict (409).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NftsentryError, ErrorCodes } from '../../errors.ts';
import type { ApiContext } from '../context.ts';
import {
  parseAllowAddress,
  parseBody,
  parseNewAllowAddress,
  parseRequestFlag,
  parseRequestText,
} from '../request-schemas.ts';

function allowJson(e: { prefix: string; origin: string; note: string; addedMs: number }) {
  return { ...e, added: new Date(e.addedMs).toISOString() };
}

export function registerAllowlistRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/v1/allowlist', async () => {
    const items = await ctx.ops.listAllow();
    return { total: items.length, items: items.map(allowJson) };
  });

  app.post('/v1/allowlist', async (req, reply) => {
    const body = parseBody(req.body);
    const force = parseRequestFlag(body.force, 'force');
    const prefix = parseNewAllowAddress(body.address ?? body.prefix, ctx.config.allowlist_min_prefix, force);
    const note = parseRequestText(body.note, 'note', '');
    const existing = (await ctx.ops.listAllow()).find((e) => e.prefix === prefix.text);
    if (existing) {
      throw new NftsentryError(ErrorCodes.CONFLICT, `${prefix.text} is already in the allowlist (${existing.origin})`, {
        details: { prefix: prefix.text, origin: existing.origin },
      });
    }
    const { entry, liftedBans } = await ctx.asActor(req, async (actor) => {
      const added = await ctx.ops.addAllow(prefix, note, actor);
      ctx.log.info({ prefix: prefix.text, liftedBans: added.liftedBans, force, actor }, 'api: allowlist add');
      return added;
    });
    reply.code(201);
    return { entry: allowJson(entry), liftedBans };
  });

  const remove = async (raw: unknown, req: FastifyRequest) => {
    const prefix = parseAllowAddress(raw);
    const removed = await ctx.asActor(req, async (actor) => {
      const r = await ctx.ops.removeAllow(prefix, actor);
      if (r) ctx.log.info({ prefix: prefix.text, actor }, 'api: allowlist remove');
      return r;
    });
    if (!removed) throw new NftsentryError(ErrorCodes.NOT_FOUND, `${prefix.text} is not in the allowlist`);
    return { prefix: prefix.text, removed: true };
  };
  app.delete('/v1/allowlist/*', async (req) => remove((req.params as { '*'?: string })['*'] ?? '', req));
  app.delete('/v1/allowlist', async (req) => remove((req.query as { address?: unknown }).address, req));
}
