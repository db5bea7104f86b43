/**
 * The dashboard's server side through `inject`: login with the form field `token` sets a session
 * cookie (HttpOnly, SameSite=Strict; Secure with TLS), the cookie opens /v1 reads, a write with
 * the cookie needs this origin's Origin, logout ends the session; without the token or the
 * cookie every data route is 401 and the page redirects to the login; every /ui answer has the
 * strict CSP and the pages hold no inline script.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../src/api/app.ts';
import { apiConfigSchema } from '../../src/api/api-schema.ts';
import { UI_CSP } from '../../src/api/ui/ui-routes.ts';
import { EventHub } from '../../src/api/live/event-hub.ts';
import { MemoryOperations } from '../api/memory-operations.ts';

const TOKEN = 'test-token-0123456789abcdef';
const HOST = '127.0.0.1:8765';
const ORIGIN = `http://${HOST}`;
const ASSETS = new Map([
  ['app.js', { type: 'text/javascript; charset=utf-8', body: Buffer.from('console.log(1)') }],
  ['app.css', { type: 'text/css; charset=utf-8', body: Buffer.from('body{}') }],
]);

let ops: MemoryOperations;
let app: FastifyInstance;
let nowMs: number;

beforeEach(() => {
  ops = new MemoryOperations();
  nowMs = ops.nowMs;
  app = buildApi(ops, {
    token: TOKEN,
    config: apiConfigSchema.parse({ auth_failures: 1000 }),
    clock: () => nowMs,
    version: '9.9.9',
    uiAssets: ASSETS,
    liveEvents: new EventHub(),
  });
});
afterEach(() => app.close());

async function login(token = TOKEN) {
  return app.inject({
    method: 'POST',
    url: '/ui/login',
    headers: { host: HOST, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token }).toString(),
  });
}

async function cookie(): Promise<string> {
  const r = await login();
  return String(r.headers['set-cookie']).split(';')[0]!;
}

describe('login, session cookie, logout', () => {
  it('a wrong token goes back to the login page without a cookie', async () => {
    const r = await login('not-the-token-at-all');
    expect(r.statusCode).toBe(303);
    expect(r.headers.location).toBe('/ui/login?failed=1');
    expect(r.headers['set-cookie']).toBeUndefined();
    const page = await app.inject({ method: 'GET', url: '/ui/login?failed=1' });
    expect(page.body).toContain('That token is not right.');
  });

  it('the right token sets an HttpOnly, SameSite=Strict cookie (not Secure over plain HTTP) and opens the page', async () => {
    const r = await login();
    expect(r.statusCode).toBe(303);
    expect(r.headers.location).toBe('/ui/');
    const set = String(r.headers['set-cookie']);
    expect(set).toMatch(/^nftsentry_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/);
    const c = set.split(';')[0]!;
    const page = await app.inject({ method: 'GET', url: '/ui/', headers: { cookie: c } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<script type="module" src="/ui/assets/app.js"></script>');
    const session = await app.inject({ method: 'GET', url: '/ui/session', headers: { cookie: c } });
    expect(session.json()).toMatchObject({ canWrite: true, principal: 'admin', version: '9.9.9' });
  });

  it('a login form posted from another origin is refused', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/ui/login',
      headers: { host: HOST, origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${TOKEN}`,
    });
    expect(r.statusCode).toBe(403);
    expect(r.headers['set-cookie']).toBeUndefined();
  });

  it('logout ends the session: the same cookie is 401 afterwards', async () => {
    const c = await cookie();
    expect((await app.inject({ method: 'GET', url: '/v1/bans', headers: { cookie: c } })).statusCode).toBe(200);
    const out = await app.inject({
      method: 'POST',
      url: '/ui/logout',
      headers: { cookie: c, host: HOST, origin: ORIGIN },
    });
    expect(out.statusCode).toBe(303);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await app.inject({ method: 'GET', url: '/v1/bans', headers: { cookie: c } })).statusCode).toBe(401);
  });

  it('a session expires after api.ui_session', async () => {
    const c = await cookie();
    nowMs += 43_200_000;
    expect((await app.inject({ method: 'GET', url: '/ui/session', headers: { cookie: c } })).statusCode).toBe(401);
  });
});

describe('writes with the cookie need this origin', () => {
  const ban = (headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/v1/bans', headers, payload: { address: '198.51.100.7', duration: '1h' } });

  it('no Origin, or another origin: 403 and nothing reaches the engine', async () => {
    const c = await cookie();
    expect((await ban({ cookie: c, host: HOST })).statusCode).toBe(403);
    expect((await ban({ cookie: c, host: HOST, origin: 'http://evil.example' })).statusCode).toBe(403);
    expect((await ban({ cookie: c, host: HOST, origin: 'null' })).statusCode).toBe(403);
    expect(ops.calls.filter((x) => x.op === 'ban')).toEqual([]);
  });

  it('the same origin: the ban is made', async () => {
    const c = await cookie();
    const r = await ban({ cookie: c, host: HOST, origin: ORIGIN });
    expect(r.statusCode).toBe(201);
    expect(ops.calls.filter((x) => x.op === 'ban')).toHaveLength(1);
    const un = await app.inject({
      method: 'DELETE',
      url: '/v1/bans/198.51.100.7',
      headers: { cookie: c, host: HOST, origin: ORIGIN },
    });
    expect(un.statusCode).toBe(200);
  });
});

describe('without the token or a session', () => {
  it.each([
    '/v1/bans',
    '/v1/bans/198.51.100.7',
    '/v1/status',
    '/v1/allowlist',
    '/v1/events',
    '/v1/dashboard/summary',
    '/ui/session',
  ])('GET %s is 401', async (url) => {
    const r = await app.inject({ method: 'GET', url, headers: { cookie: 'nftsentry_session=forged-value' } });
    expect(r.statusCode).toBe(401);
  });

  it('the page redirects to the login; the login page and the assets are served', async () => {
    const page = await app.inject({ method: 'GET', url: '/ui/' });
    expect(page.statusCode).toBe(302);
    expect(page.headers.location).toBe('/ui/login');
    expect((await app.inject({ method: 'GET', url: '/ui/login' })).statusCode).toBe(200);
    const js = await app.inject({ method: 'GET', url: '/ui/assets/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await app.inject({ method: 'GET', url: '/ui/assets/..%2Fapi.token' })).statusCode).toBe(404);
  });
});

describe('CSP and pages', () => {
  it('every /ui answer has the strict CSP; the pages have no inline script or on* attribute', async () => {
    const c = await cookie();
    for (const [url, headers] of [
      ['/ui/login', {}],
      ['/ui/', { cookie: c }],
      ['/ui/assets/app.css', {}],
    ] as const) {
      const r = await app.inject({ method: 'GET', url, headers });
      expect(r.headers['content-security-policy']).toBe(UI_CSP);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      if (url.endsWith('/') || url.endsWith('login')) {
        expect(r.body).not.toMatch(/<script(?![^>]*\bsrc=)/);
        expect(r.body).not.toMatch(/\son[a-z]+=/i);
        expect(r.body).not.toMatch(/\sstyle=/i);
      }
    }
    expect(UI_CSP).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(UI_CSP).toContain("script-src 'self'");
  });
});

describe('bans search and the dashboard summary', () => {
  const AUTH = { authorization: `Bearer ${TOKEN}` };

  it('GET /v1/bans passes search, sort and order to the engine; a search outside the address alphabet is 400', async () => {
    const r = await app.inject({
      method: 'GET',
      url: '/v1/bans?search=198.51.&sort=expires&order=desc',
      headers: AUTH,
    });
    expect(r.statusCode).toBe(200);
    expect(ops.calls.at(-1)).toEqual({
      op: 'listBans',
      arg: { search: '198.51.', sort: 'expires', order: 'desc', limit: 100, offset: 0 },
    });
    for (const bad of ["1'--", '198.51.100.7%00', 'x', 'sort']) {
      const b = await app.inject({ method: 'GET', url: `/v1/bans?search=${encodeURIComponent(bad)}`, headers: AUTH });
      expect(b.statusCode, bad).toBe(400);
    }
    expect((await app.inject({ method: 'GET', url: '/v1/bans?sort=target;drop', headers: AUTH })).statusCode).toBe(400);
  });

  it('GET /v1/dashboard/summary is 404 when this API has no store reader', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/dashboard/summary?window=day', headers: AUTH });
    expect(r.statusCode).toBe(404);
    expect(
      (await app.inject({ method: 'GET', url: '/v1/dashboard/summary?window=week', headers: AUTH })).statusCode,
    ).toBe(400);
  });
});
