/**
 * The failed-authentication limit slows failing attempts only: the right token is served whatever
 * the limiter says of its client. Per peer address over TCP (`inject` with remoteAddress), and per
 * peer uid over the unix socket (found through `ss -xn` and /proc, src/net/unix-peer.ts), shown on a real
 * socket with a second local user (curl run as `nobody`).
 */
import { describe, it, expect, afterEach } from 'vitest';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../src/api/app.ts';
import { apiConfigSchema } from '../../src/api/api-schema.ts';
import { listenApi, type ApiHandle } from '../../src/api/server.ts';
import { silentLogger } from '../../src/log.ts';
import { MemoryOperations } from './memory-operations.ts';

const TOKEN = 'test-token-0123456789abcdef';
const RIGHT = `Bearer ${TOKEN}`;
const WRONG = 'Bearer wrong-wrong-wrong-wrong';
const NOBODY = 65534;
const LIMITS = { auth_failures: 3, auth_window: 60, auth_lockout: 120 };

let ops: MemoryOperations;
let nowMs: number;
const apps: FastifyInstance[] = [];
const handles: ApiHandle[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  for (const h of handles.splice(0)) await h.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function make(): FastifyInstance {
  ops = new MemoryOperations();
  nowMs = ops.nowMs;
  const app = buildApi(ops, { token: TOKEN, config: apiConfigSchema.parse(LIMITS), clock: () => nowMs });
  apps.push(app);
  return app;
}

const status = async (app: FastifyInstance, authorization: string | undefined, remoteAddress = '127.0.0.1') =>
  (
    await app.inject({
      method: 'GET',
      url: '/v1/bans',
      remoteAddress,
      headers: authorization === undefined ? {} : { authorization },
    })
  ).statusCode;

describe('the failed-authentication limit', () => {
  it('the right token is served while its client is locked out; failing attempts get 429', async () => {
    const app = make();
    for (let i = 0; i < 3; i++) expect(await status(app, WRONG)).toBe(401);
    expect(await status(app, WRONG)).toBe(429);
    expect(await status(app, undefined)).toBe(429);
    expect(await status(app, RIGHT)).toBe(200);
    expect(await status(app, `bearer ${TOKEN}`)).toBe(200);
    // A success does not lift the lockout of the others on that address.
    expect(await status(app, WRONG)).toBe(429);
    expect(ops.calls.filter((c) => c.op === 'listBans')).toHaveLength(2);
  });

  it('a write with the right token goes through too', async () => {
    const app = make();
    for (let i = 0; i < 4; i++) await status(app, WRONG);
    const r = await app.inject({
      method: 'POST',
      url: '/v1/bans',
      remoteAddress: '127.0.0.1',
      headers: { authorization: RIGHT },
      payload: { address: '203.0.113.7' },
    });
    expect(r.statusCode).toBe(201);
  });

  it('is kept per peer address: another client is not locked out', async () => {
    const app = make();
    for (let i = 0; i < 4; i++) await status(app, WRONG, '192.0.2.10');
    expect(await status(app, WRONG, '192.0.2.10')).toBe(429);
    expect(await status(app, WRONG, '192.0.2.11')).toBe(401);
  });

  it('failures age out of the window, and the lockout ends', async () => {
    const app = make();
    await status(app, WRONG);
    await status(app, WRONG);
    nowMs += 61_000;
    expect(await status(app, WRONG)).toBe(401);
    expect(await status(app, WRONG)).toBe(401);
    expect(await status(app, WRONG)).toBe(401);
    expect(await status(app, WRONG)).toBe(429);
    nowMs += 121_000;
    expect(await status(app, WRONG)).toBe(401);
  });
});

/** One GET over a unix socket; resolves with the status. */
function unixGet(socketPath: string, authorization: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/v1/bans', headers: { authorization }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One GET over the unix socket by curl run as another user (uid and gid 65534, nobody). */
function unixGetAs(uid: number, socketPath: string, authorization: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--unix-socket', socketPath];
    args.push('-H', `authorization: ${authorization}`, 'http://localhost/v1/bans');
    execFile('curl', args, { uid, gid: uid }, (err, stdout) => (err ? reject(err) : resolve(Number(stdout))));
  });
}

describe('over the unix socket', () => {
  it('the budget is per peer uid: one local user locked out does not lock out another; the right token is served', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nftsentry-auth-'));
    dirs.push(dir);
    chmodSync(dir, 0o755);
    const socketPath = join(dir, 'api.sock');
    const config = apiConfigSchema.parse({ ...LIMITS, socket: { path: socketPath, mode: '0666' } });
    ops = new MemoryOperations();
    const handle = await listenApi(config, ops, { token: TOKEN, log: silentLogger(), clock: () => ops.nowMs });
    handles.push(handle);
    // Each request is its own connection (agent: false): one budget whatever the connection.
    for (let i = 0; i < 3; i++) expect(await unixGet(socketPath, WRONG)).toBe(401);
    expect(await unixGet(socketPath, WRONG)).toBe(429);
    expect(await unixGet(socketPath, RIGHT)).toBe(200);
    expect(await unixGet(socketPath, WRONG)).toBe(429);
    // Another uid on the same socket has its own budget: 401, not 429, until it fails 3 times.
    expect(await unixGetAs(NOBODY, socketPath, WRONG)).toBe(401);
    expect(await unixGetAs(NOBODY, socketPath, RIGHT)).toBe(200);
    for (let i = 0; i < 2; i++) expect(await unixGetAs(NOBODY, socketPath, WRONG)).toBe(401);
    expect(await unixGetAs(NOBODY, socketPath, WRONG)).toBe(429);
    expect(await unixGetAs(NOBODY, socketPath, RIGHT)).toBe(200);
  });
});
