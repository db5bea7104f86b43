/**
 * /ui/: the dashboard, on the API's own listener and token.
 *
 * - GET /ui/login and the files under /ui/assets/ are served to anyone; /ui/ itself and
 *   GET /ui/session need the session cookie (the page redirects to the login, the JSON is 401).
 * - POST /ui/login takes the API token in the form field `token` (urlencoded or JSON) and sets
 *   the session cookie: HttpOnly, SameSite=Strict, Secure when the API serves TLS. Failed attempts
 *   count against the same per-client limiter as bearer tokens. POST /ui/logout ends the session.
 * - Every answer carries a strict CSP (scripts, styles, connections: this origin only; no inline
 *   script or style, no eval, no framing).
 * - Writes made with the cookie (the /v1 routes, app.ts) need the same Origin; so do the login and
 *   logout forms.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCodes } from '../../errors.ts';
import type { ApiContext } from '../context.ts';
import { ApiError } from '../http-errors.ts';
import { APP_PAGE, loginPage, type UiAsset } from './ui-assets.ts';
import type { TokenIdentity } from '../api-tokens.ts';
import { canWrite, cookieValue, sameOrigin, SESSION_COOKIE, type Session, type Sessions } from './sessions.ts';

export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export interface UiDeps {
  sessions: Sessions;
  assets: Map<string, UiAsset>;
  /** True when the API serves TLS: the cookie is Secure, origins are https. */
  tls: boolean;
  sessionTtlSec: number;
  /** Checks a presented token against the limiter and the verifier: true when right; throws 429 when locked out. */
  tryToken(req: FastifyRequest, reply: FastifyReply, token: string): Promise<TokenIdentity | null>;
}

/** The live session of a request's cookie, or null. */
export function sessionOf(req: FastifyRequest, deps: Pick<UiDeps, 'sessions'>, nowMs: number): Session | null {
  return deps.sessions.get(cookieValue(req.headers.cookie, SESSION_COOKIE), nowMs);
}

function securityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', UI_CSP);
  reply.header('x-content-type-options', 'nosniff');
  // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on POST, and the
  // writes' Origin check needs the real one.
  reply.header('referrer-policy', 'same-origin');
  reply.header('x-frame-options', 'DENY');
  reply.header('cross-origin-opener-policy', 'same-origin');
}

function formToken(body: unknown): string {
  const t = (body as { token?: unknown } | undefined)?.token;
  return typeof t === 'string' ? t.trim() : '';
}

export function registerUiRoutes(app: FastifyInstance, ctx: ApiContext, deps: UiDeps): void {
  const cookie = (value: string, maxAgeSec: number) =>
    `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeSec}; HttpOnly; SameSite=Strict${deps.tls ? '; Secure' : ''}`;
  const checkOrigin = (req: FastifyRequest) => {
    if (!sameOrigin(req.headers.origin, req.headers.host, deps.tls))
      throw new ApiError(ErrorCodes.FORBIDDEN, 'a dashboard write must come from the dashboard itself (Origin)');
  };

  void app.register(async (ui) => {
    ui.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });
    ui.addHook('onSend', async (_req, reply, payload) => {
      securityHeaders(reply);
      return payload;
    });

    ui.get('/ui/', async (req, reply) => {
      if (!sessionOf(req, deps, ctx.clock())) return reply.redirect('/ui/login', 302);
      if (!deps.assets.has('app.js')) {
        return reply.code(503).type('text/plain').send('the dashboard is not built (npm run build-ui)');
      }
      return reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(APP_PAGE);
    });

    ui.get('/ui/login', async (req, reply) => {
      const failed = (req.query as { failed?: unknown }).failed !== undefined;
      return reply
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(loginPage(failed ? 'That token is not right.' : null));
    });

    ui.post('/ui/login', async (req, reply) => {
      // A form of another site cannot log a browser in with an attacker's token.
      if (req.headers.origin !== undefined) checkOrigin(req);
      const who = await deps.tryToken(req, reply, formToken(req.body));
      if (!who) return reply.redirect('/ui/login?failed=1', 303);
      const s = deps.sessions.create({ kind: 'token', name: who.name, write: who.canWrite }, ctx.clock());
      ctx.log.info({ client: req.ip, principal: s.principal.name }, 'api: dashboard login');
      return reply.header('set-cookie', cookie(s.id, deps.sessionTtlSec)).redirect('/ui/', 303);
    });

    ui.post('/ui/logout', async (req, reply) => {
      checkOrigin(req);
      deps.sessions.delete(cookieValue(req.headers.cookie, SESSION_COOKIE));
      return reply.header('set-cookie', cookie('', 0)).redirect('/ui/login', 303);
    });

    ui.get('/ui/session', async (req) => {
      const s = sessionOf(req, deps, ctx.clock());
      if (!s) throw new ApiError(ErrorCodes.UNAUTHORIZED, 'not logged in');
      return {
        principal: s.principal.name,
        canWrite: canWrite(s.principal),
        expires: new Date(s.expiresMs).toISOString(),
        version: ctx.version,
      };
    });

    ui.get('/ui/assets/:name', async (req, reply) => {
      const a = deps.assets.get((req.params as { name: string }).name);
      if (!a) throw new ApiError(ErrorCodes.NOT_FOUND, 'no such asset');
      return reply.header('cache-control', 'no-cache').type(a.type).send(a.body);
    });
  });
}
