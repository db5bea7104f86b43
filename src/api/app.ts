/**
 * The fastify app factory: `buildApi(ops, options)` returns an app that is ready for `inject` (in
 * tests) or `listen` (see server.ts). The API is a door into Operations, never a path to nft.
 *
 * - /v1/*: bearer token (constant time); the check is a hook of the /v1 routes' own plugin,
 *   whatever the URL's spelling. Failed attempts are limited per client (429 once locked out);
 *   the right token is always served, whatever the limiter says of its client.
 * - /v1/* also takes the dashboard's session cookie (ui/ui-routes.ts); a write made with it needs
 *   this origin's Origin header and a principal that may write (ui/sessions.ts canWrite).
 * - /ui/: the dashboard (its login page and files need no token); /v1/events: live events (SSE).
 * - /healthz, /readyz, /metrics: no token (counts only, never addresses).
 * - Every error, fastify's own included, answers `{error: {code, message}}` with the status from
 *   the one table in http-errors.ts.
 */
import {
  fastify,
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { ErrorCodes } from '../errors.ts';
import { systemClock, type Clock } from '../clock.ts';
import { silentLogger, type Logger } from '../log.ts';
import { apiConfigSchema, type ApiConfig } from './api-schema.ts';
import type { ApiContext, ApiOperations } from './context.ts';
import type { Actor } from '../engine/operations.ts';
import { ApiError, ApiOnlyCodes, mapError } from './http-errors.ts';
import { UnixPeers } from '../net/unix-peer.ts';
import { AuthLimiter } from './auth-limiter.ts';
import { type NamedToken, TokenSet } from './api-tokens.ts';
import { requireWriteRole, setAuth, withActor } from './auth.ts';
import { Histogram } from './histogram.ts';
import { cachedReader } from '../cached-reader.ts';
import { VERSION } from '../version.ts';
import type { ApiTelemetry } from './telemetry.ts';
import { registerBanRoutes } from './routes/bans.ts';
import { registerAllowlistRoutes } from './routes/allowlist.ts';
import { registerStatusRoutes } from './routes/status.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerRulesetRoutes } from './routes/ruleset.ts';
import { registerExplainRoutes } from './routes/explain.ts';
import { registerWhoamiRoutes } from './routes/whoami.ts';
import { registerEventRoutes } from './routes/events.ts';
import { registerDashboardRoutes } from './routes/dashboard.ts';
import type { EventHub } from './live/event-hub.ts';
import { canWrite, sameOrigin, Sessions } from './ui/sessions.ts';
import { registerUiRoutes, sessionOf } from './ui/ui-routes.ts';
import { loadUiAssets, type UiAsset } from './ui/ui-assets.ts';
import type { TlsInfo } from './tls.ts';

export interface ApiOptions {
  /** The bearer token every /v1 request must present (the token named admin, read-write)... */
  token?: string;
  /** ...or several named tokens, each read-only or read-write (api-tokens.ts). */
  tokens?: readonly NamedToken[];
  /** The parsed `api` config section; defaults apply when absent. */
  config?: ApiConfig;
  telemetry?: ApiTelemetry;
  log?: Logger;
  clock?: Clock;
  version?: string;
  /** The live events' clients (GET /v1/events); without it that route answers 503. */
  liveEvents?: EventHub;
  /** Set when the listener serves TLS (its certificate's fingerprint goes into /v1/status). */
  tls?: TlsInfo;
  /** The dashboard's files; read from ui/bundle/ when absent. */
  uiAssets?: Map<string, UiAsset>;
}

/** The limiter's key: the peer address over TCP; over the unix socket the peer's uid when it can be told. */
async function clientOf(req: FastifyRequest, peers: UnixPeers): Promise<string> {
  if (req.ip) return req.ip;
  const uid = await peers.uid(req.socket);
  return uid === null ? 'unix' : `unix uid ${uid}`;
}

export function buildApi(ops: ApiOperations, options: ApiOptions): FastifyInstance {
  const config = options.config ?? apiConfigSchema.parse(undefined);
  const clock = options.clock ?? systemClock;
  const log = options.log ?? silentLogger();
  const peers = new UnixPeers();
  const ctx: ApiContext = Object.freeze({
    ops,
    config,
    telemetry: options.telemetry ?? {},
    clock,
    log,
    version: options.version ?? VERSION,
    startedMs: clock(),
    engineStatus: cachedReader(() => ops.status(), 1000, clock),
    requestDurations: new Map<string, Histogram>(),
    requestCounts: new Map<string, number>(),
    asActor: <T>(req: FastifyRequest, op: (actor: Actor) => Promise<T>) => withActor(req, peers, ops, op),
    ...(options.liveEvents ? { liveEvents: options.liveEvents } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  const tokens: readonly NamedToken[] =
    options.tokens ?? (options.token ? [{ name: 'admin', token: options.token, role: 'read-write' }] : []);
  const verifier = new TokenSet(tokens);
  const limiter = new AuthLimiter({
    maxFailures: config.auth_failures,
    windowMs: config.auth_window * 1000,
    lockoutMs: config.auth_lockout * 1000,
  });

  const sessions = new Sessions(config.ui_session * 1000);
  const tls = options.tls !== undefined;

  const app = fastify({
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.body_limit_bytes,
    requestTimeout: config.request_timeout * 1000,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
  });

  // JSON only: anything else is 415 rather than a string that reaches a handler. An empty JSON
  // body is no body (curl users send the header on a DELETE too).
  app.removeContentTypeParser(['text/plain', 'application/json']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim().length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new ApiError(ErrorCodes.BAD_REQUEST, 'the body is not valid JSON'), undefined);
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    const key = `${req.method} ${route} ${reply.statusCode}`;
    ctx.requestCounts.set(key, (ctx.requestCounts.get(key) ?? 0) + 1);
    let h = ctx.requestDurations.get(route);
    if (!h) {
      h = new Histogram();
      ctx.requestDurations.set(route, h);
    }
    h.observe(reply.elapsedTime / 1000);
    log.debug(
      { method: req.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      'api: request',
    );
  });

  app.setErrorHandler((err, req, reply) => {
    const mapped = mapError(err);
    if (mapped.internal) log.error({ err, method: req.method, url: req.url.slice(0, 200) }, 'api: request failed');
    if (err instanceof ApiError) for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
    reply.code(mapped.status).send(mapped.body);
  });

  app.setNotFoundHandler((req, reply) => {
    const mapped = mapError(
      new ApiError(ApiOnlyCodes.ROUTE_NOT_FOUND, `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 100)}`),
    );
    reply.code(mapped.status).send(mapped.body);
  });

  /**
   * The token check belongs to the /v1 routes themselves (an encapsulated plugin), not to a URL
   * prefix test: the router decodes percent-escapes, so `/%76%31/bans` is /v1/bans too.
   */
  const authenticate = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    // The token first: a client that shares its key with a guesser (127.0.0.1, the unix socket)
    // is never locked out by the guesser's failures.
    const identity = verifier.verifyHeader(req.headers.authorization);
    if (identity) return setAuth(req, identity);
    const session = req.headers.authorization === undefined ? sessionOf(req, { sessions }, clock()) : null;
    if (session) {
      setAuth(req, { name: session.principal.name, canWrite: canWrite(session.principal) });
      if (req.method === 'GET' || req.method === 'HEAD') return;
      if (!sameOrigin(req.headers.origin, req.headers.host, tls))
        throw new ApiError(
          ErrorCodes.FORBIDDEN,
          'a write with the session cookie must come from the dashboard (Origin)',
        );
      if (!canWrite(session.principal)) throw new ApiError(ErrorCodes.FORBIDDEN, 'this login may not change anything');
      return;
    }
    await failedAuthentication(req, reply);
    throw new ApiError(ErrorCodes.UNAUTHORIZED, 'a valid bearer token is required (Authorization: Bearer TOKEN)');
  };

  /** Counts a failed attempt of this client; throws 429 when it is locked out. */
  async function failedAuthentication(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const client = await clientOf(req, peers);
    const nowMs = clock();
    const lockedMs = limiter.lockedForMs(client, nowMs);
    if (lockedMs > 0) {
      const retry = String(Math.ceil(lockedMs / 1000));
      reply.header('retry-after', retry);
      throw new ApiError(ApiOnlyCodes.RATE_LIMITED, `too many failed authentications; retry in ${retry} s`);
    }
    const triggered = limiter.fail(client, nowMs);
    log.warn({ client, url: req.url.slice(0, 200), lockedOutSec: triggered / 1000 }, 'api: authentication failed');
    reply.header('www-authenticate', 'Bearer realm="nftsentry"');
  }

  registerHealthRoutes(app, ctx);
  registerUiRoutes(app, ctx, {
    sessions,
    assets: options.uiAssets ?? loadUiAssets(),
    tls,
    sessionTtlSec: config.ui_session,
    async tryToken(req, reply, token) {
      const identity = verifier.verify(token);
      if (identity && token.length > 0) return identity;
      await failedAuthentication(req, reply);
      return null;
    },
  });
  app.addHook('preClose', async () => options.liveEvents?.close());
  app.addHook('onClose', async () => peers.close());
  void app.register(async (v1) => {
    v1.addHook('onRequest', authenticate);
    v1.addHook('onRequest', requireWriteRole);
    registerBanRoutes(v1, ctx);
    registerAllowlistRoutes(v1, ctx);
    registerStatusRoutes(v1, ctx);
    registerRulesetRoutes(v1, ctx);
    registerExplainRoutes(v1, ctx);
    registerWhoamiRoutes(v1);
    registerEventRoutes(v1, ctx);
    registerDashboardRoutes(v1, ctx);
  });
  return app;
}
