/** GET /v1/whoami: the presenting token's name and whether it may write (auth.ts authOf). */
import type { FastifyInstance } from 'fastify';
import { authOf } from '../auth.ts';

export function registerWhoamiRoutes(app: FastifyInstance): void {
  app.get('/v1/whoami', async (req) => authOf(req));
}
