/**
 * /v1/ruleset: `apply --confirm` through the daemon. POST /v1/ruleset/apply `{confirm, configPath}`
 * applies the daemon's config file and rolls it back after `confirm` (a duration) unless POST
 * /v1/ruleset/confirm comes first; 409 while another apply is pending or for another config file.
 */
import type { FastifyInstance } from 'fastify';
import { ErrorCodes, NftsentryError } from '../../errors.ts';
import type { ApiContext } from '../context.ts';
import { parseBody, parseRequestDuration } from '../request-schemas.ts';

const MAX_PATH = 4096;

export function registerRulesetRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/v1/ruleset/apply', async (req) => {
    const body = parseBody(req.body);
    const confirmSec = body.confirm === undefined ? null : parseRequestDuration(body.confirm, 0);
    if (confirmSec === null)
      throw new NftsentryError(ErrorCodes.DURATION_INVALID, 'confirm must be a duration like "2m" or 120');
    const configPath = body.configPath;
    if (
      typeof configPath !== 'string' ||
      configPath.length === 0 ||
      configPath.length > MAX_PATH ||
      configPath.includes('\0')
    )
      throw new NftsentryError(ErrorCodes.BAD_REQUEST, 'configPath must be the absolute path of the config file');
    const ticket = await ctx.ops.applyConfirm({ confirmSec, configPath });
    ctx.log.warn({ id: ticket.id, confirmSec, client: req.ip }, 'api: apply --confirm');
    return { ...ticket, deadline: new Date(ticket.deadlineMs).toISOString() };
  });

  app.post('/v1/ruleset/confirm', async (req) => {
    const answer = await ctx.ops.confirmApply();
    ctx.log.info({ confirmed: answer.confirmed, client: req.ip }, 'api: confirm');
    return answer;
  });
}
