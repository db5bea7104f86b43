/**
 * Named API tokens: `api.token_file` is `admin` (read-write), `api.tokens` adds tokens by name and
 * role. A read-only token reads and gets 403 E_READ_ONLY_TOKEN on every write route; each write
 * carries its actor (token name and peer) to the operations; authOf(request) tells the dashboard
 * who is logged in, and a dashboard login keeps its token's role. Token files are read with
 * api.token_file's own checks.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { apiConfigSchema } from '../../src/api/api-schema.ts';
import { loadApiTokens, type NamedToken } from '../../src/api/api-tokens.ts';
import { buildApi } from '../../src/api/app.ts';
import type { Actor, ExplainEntry } from '../../src/engine/operations.ts';
import type { IpPrefix } from '../../src/net/ip.ts';
import { MemoryOperations } from './memory-operations.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
const OPS = 'ops-token-0123456789abcdef-ops';
const TOKENS: NamedToken[] = [
  { name: 'admin', token: ADMIN, role: 'read-write' },
  { name: 'viewer', token: VIEWER, role: 'read-only' },
  { name: 'ops', token: OPS, role: 'read-write' },
];
const dir = mkdtempSync(join(tmpdir(), 'nftsentry-tokens-'));
const apps: FastifyInstance[] = [];

/** Records the actor each write brought. */
class ActorOperations extends MemoryOperations {
  readonly actors: (Actor | undefined)[] = [];
  override async ban(r: { address: IpPrefix; durationSec: number | null; reason: string; actor?: Actor }) {
    this.actors.push(r.actor);
    return super.ban(r);
  }
  override async unban(address: IpPrefix, options: { fleet?: boolean; actor?: Actor } = {}) {
    this.actors.push(options.actor);
    return super.unban(address, options);
  }
  /** The actions seen, newest first, as the journal's audit gives them. */
  async audit(limit: number): Promise<ExplainEntry[]> {
    return this.actors
      .map((a, i) => ({
        atMs: i,
        at: new Date(i).toISOString(),
        kind: 'manual',
        code: 'ban',
        detail: null,
        actor: a ? `${a.token}@${a.from}` : null,
        address: '198.51.100.8',
      }))
      .reverse()
      .slice(0, limit);
  }
}

function make(): { app: FastifyInstance; ops: ActorOperations } {
  const ops = new ActorOperations();
  const uiAssets = new Map([['app.js', { type: 'text/javascript; charset=utf-8', body: Buffer.from('') }]]);
  const app = buildApi(ops, { tokens: TOKENS, clock: () => ops.nowMs, uiAssets });
  apps.push(app);
  return { app, ops };
}

const auth = (t: string) => ({ authorization: `Bearer ${t}` });

afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('named tokens and roles', () => {
  it('a read-only token reads, and every write route answers 403 E_READ_ONLY_TOKEN without reaching the engine', async () => {
    const { app, ops } = make();
    ops.seed({ address: '198.51.100.7' });
    expect((await app.inject({ url: '/v1/bans', headers: auth(VIEWER) })).statusCode).toBe(200);
    const writes = [
      { method: 'POST' as const, url: '/v1/bans', payload: { address: '198.51.100.8' } },
      { method: 'DELETE' as const, url: '/v1/bans/198.51.100.7' },
      { method: 'POST' as const, url: '/v1/allowlist', payload: { address: '192.0.2.0/24' } },
      { method: 'DELETE' as const, url: '/v1/allowlist/192.0.2.0%2F24' },
      { method: 'POST' as const, url: '/v1/ruleset/apply', payload: { confirm: 60 } },
      { method: 'POST' as const, url: '/v1/ruleset/confirm' },
    ];
    const before = ops.calls.length;
    for (const w of writes) {
      const res = await app.inject({ ...w, headers: auth(VIEWER) });
      expect(res.statusCode, `${w.method} ${w.url}`).toBe(403);
      expect(res.json().error).toMatchObject({ code: 'E_READ_ONLY_TOKEN', details: { token: 'viewer' } });
    }
    expect(ops.calls.length).toBe(before);
    expect(ops.bans.has('198.51.100.7')).toBe(true);
  });

  it('writes carry the token name and the peer address to the operations; GET /v1/whoami (authOf) names the token', async () => {
    const { app, ops } = make();
    const ban = await app.inject({
      method: 'POST',
      url: '/v1/bans',
      headers: auth(OPS),
      payload: { address: '198.51.100.8' },
      remoteAddress: '127.0.0.9',
    });
    expect(ban.statusCode).toBe(201);
    const unban = await app.inject({ method: 'DELETE', url: '/v1/bans/198.51.100.8', headers: auth(ADMIN) });
    expect(unban.statusCode).toBe(200);
    expect(ops.actors).toEqual([
      { token: 'ops', from: '127.0.0.9' },
      { token: 'admin', from: '127.0.0.1' },
    ]);
    expect((await app.inject({ url: '/v1/whoami', headers: auth(VIEWER) })).json()).toEqual({
      name: 'viewer',
      canWrite: false,
    });
    expect((await app.inject({ url: '/v1/whoami', headers: auth(ADMIN) })).json()).toEqual({
      name: 'admin',
      canWrite: true,
    });
    expect((await app.inject({ url: '/v1/bans', headers: auth('not-a-token-at-all-0000') })).statusCode).toBe(401);
    // GET /v1/audit: who did what, readable by a read-only token; limit checked; 401 without a token.
    const audit = await app.inject({ url: '/v1/audit?limit=1', headers: auth(VIEWER) });
    expect(audit.statusCode).toBe(200);
    expect(audit.json().items).toEqual([expect.objectContaining({ code: 'ban', actor: 'admin@127.0.0.1' })]);
    for (const bad of ['0', '1001', 'abc', '-1', '1.5']) {
      const r = await app.inject({ url: `/v1/audit?limit=${bad}`, headers: auth(VIEWER) });
      expect([bad, r.statusCode, r.json().error.code]).toEqual([bad, 400, 'E_BAD_REQUEST']);
    }
    expect((await app.inject({ url: '/v1/audit' })).statusCode).toBe(401);
    const plain = buildApi(new MemoryOperations(), { tokens: TOKENS, clock: () => ops.nowMs });
    apps.push(plain);
    expect((await plain.inject({ url: '/v1/audit', headers: auth(ADMIN) })).statusCode).toBe(404);
  });

  it('the dashboard: a read-only token logs in read-only (canWrite false), its cookie reads and may not write', async () => {
    const { app, ops } = make();
    ops.seed({ address: '198.51.100.7' });
    const host = '127.0.0.1:8765';
    const origin = `http://${host}`;
    const loginAs = async (token: string) => {
      const r = await app.inject({
        method: 'POST',
        url: '/ui/login',
        headers: { host, origin, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ token }).toString(),
      });
      return String(r.headers['set-cookie']).split(';')[0]!;
    };
    const viewer = await loginAs(VIEWER);
    const session = await app.inject({ method: 'GET', url: '/ui/session', headers: { cookie: viewer } });
    expect(session.json()).toMatchObject({ principal: 'viewer', canWrite: false });
    expect((await app.inject({ url: '/v1/whoami', headers: { cookie: viewer } })).json()).toEqual({
      name: 'viewer',
      canWrite: false,
    });
    expect((await app.inject({ url: '/v1/bans', headers: { cookie: viewer } })).statusCode).toBe(200);
    const write = await app.inject({
      method: 'DELETE',
      url: '/v1/bans/198.51.100.7',
      headers: { cookie: viewer, host, origin },
    });
    expect(write.statusCode).toBe(403);
    expect(ops.bans.has('198.51.100.7')).toBe(true);
    const ops2 = await loginAs(OPS);
    const del = await app.inject({
      method: 'DELETE',
      url: '/v1/bans/198.51.100.7',
      headers: { cookie: ops2, host, origin },
    });
    expect(del.statusCode).toBe(200);
    expect(ops.actors.at(-1)).toEqual({ token: 'ops', from: '127.0.0.1' });
  });

  it('loads admin from token_file and each api.tokens file with the same checks; config refuses admin and duplicates', () => {
    const write = (name: string, text: string, mode = 0o600) => {
      const p = join(dir, name);
      writeFileSync(p, `${text}\n`);
      chmodSync(p, mode);
      return p;
    };
    chmodSync(dir, 0o700);
    const config = apiConfigSchema.parse({
      token_file: join(dir, 'admin.token'),
      tokens: [{ name: 'viewer', token_file: write('viewer.token', VIEWER), role: 'read-only' }],
    });
    const { tokens, generated } = loadApiTokens(config);
    expect(generated).toBe(true);
    expect(tokens.map((t) => [t.name, t.role])).toEqual([
      ['admin', 'read-write'],
      ['viewer', 'read-only'],
    ]);
    expect(tokens[1]!.token).toBe(VIEWER);
    const loose = apiConfigSchema.parse({
      token_file: join(dir, 'admin.token'),
      tokens: [{ name: 'loose', token_file: write('loose.token', OPS, 0o644), role: 'read-only' }],
    });
    expect(() => loadApiTokens(loose)).toThrow(expect.objectContaining({ code: 'E_TOKEN_FILE_UNSAFE' }));
    const missing = apiConfigSchema.parse({
      token_file: join(dir, 'admin.token'),
      tokens: [{ name: 'gone', token_file: join(dir, 'gone.token'), role: 'read-only' }],
    });
    expect(() => loadApiTokens(missing)).toThrow(expect.objectContaining({ code: 'E_NOT_FOUND' }));
    const t = { token_file: '/x/y', role: 'read-only' };
    expect(apiConfigSchema.safeParse({ tokens: [{ ...t, name: 'admin' }] }).success).toBe(false);
    expect(
      apiConfigSchema.safeParse({
        tokens: [
          { ...t, name: 'a' },
          { ...t, name: 'a' },
        ],
      }).success,
    ).toBe(false);
    expect(apiConfigSchema.safeParse({ tokens: [{ ...t, name: 'a', role: 'root' }] }).success).toBe(false);
  });
});
