/**
 * The API worker thread against an in-memory daemon (reads over RPC, as in dry-run): requests
 * over a unix socket cross the MessagePort both ways with their stable error codes, and a worker
 * that dies on its own is restarted.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiConfigSchema } from '../../src/api/api-schema.ts';
import { startApiThread, type ApiThreadHandle } from '../../src/api/worker/api-thread.ts';
import { Histogram } from '../../src/api/histogram.ts';
import { silentLogger } from '../../src/log.ts';
import { waitFor } from '../helpers.ts';
import { MemoryOperations, memoryDaemon } from './memory-operations.ts';

let dir: string;
let ops: MemoryOperations;
let handle: ApiThreadHandle;
let token: string;
let socketPath: string;

function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        method,
        path,
        agent: false,
        headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: text.startsWith('{') ? JSON.parse(text) : text }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-api-thread-'));
  socketPath = join(dir, 'api.sock');
  ops = new MemoryOperations(Date.now());
  ops.seed({ address: '203.0.113.7' });
  handle = await startApiThread({
    daemon: memoryDaemon(ops),
    config: apiConfigSchema.parse({ socket: { path: socketPath }, token_file: join(dir, 'api.token'), worker_nice: 0 }),
    storePath: null,
    log: silentLogger(),
    version: 'thread-test',
    snapshot: () => ({
      sources: [],
      alertResults: [],
      bansActive: [{ source: 'suricata', count: 1 }],
      nftApply: new Histogram().snapshot(),
      ruleset: { applied: true, appliedMs: 0 },
      store: { degraded: false, pendingRows: 0, errors: {}, lastError: null },
      notReady: null,
    }),
  });
  token = readFileSync(join(dir, 'api.token'), 'utf8').trim();
}, 30_000);

afterAll(async () => {
  await handle?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('API worker thread', () => {
  it('serves reads, writes and refusals across the MessagePort', async () => {
    expect(handle.address).toBe(`unix:${socketPath}`);
    expect((await call('GET', '/v1/bans')).json).toMatchObject({ total: 1, items: [{ address: '203.0.113.7' }] });
    expect((await call('GET', '/v1/bans/203.0.113.7')).status).toBe(200);
    expect((await call('GET', '/v1/bans/203.0.113.8')).json.error.code).toBe('E_NOT_FOUND');
    const ban = await call('POST', '/v1/bans', { address: '198.51.100.4', duration: '2h', reason: 'thread' });
    expect(ban.status).toBe(201);
    expect(ops.calls.at(-1)).toEqual({
      op: 'ban',
      arg: { address: '198.51.100.4/32', durationSec: 7200, reason: 'thread' },
    });
    expect((await call('POST', '/v1/allowlist', { address: '198.51.100.0/24' })).json).toMatchObject({ liftedBans: 1 });
    const refused = await call('POST', '/v1/bans', { address: '198.51.100.5' });
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe('E_BAN_REFUSED');
    expect((await call('GET', '/v1/status')).json).toMatchObject({
      version: 'thread-test',
      bans: { bySource: { suricata: 1 } },
      engine: { mode: 'memory' },
    });
    expect((await call('GET', '/metrics')).json).toContain('nftsentry_bans_active{source="suricata"} 1');
  });

  it('restarts a worker that died on its own', async () => {
    const first = handle.currentWorker();
    await first.terminate();
    await waitFor(async () => (handle.currentWorker() !== first ? true : undefined), 10_000, 'a new worker', 50);
    await waitFor(
      async () => ((await call('GET', '/healthz').catch(() => ({ status: 0 }))).status === 200 ? true : undefined),
      10_000,
      'the API back',
      50,
    );
    expect((await call('GET', '/v1/bans/203.0.113.7')).status).toBe(200);
  });

  it('close stops the worker and removes nothing but its socket', async () => {
    await handle.close();
    await expect(call('GET', '/healthz')).rejects.toThrow();
    expect(existsSync(join(dir, 'api.token'))).toBe(true);
  });
});
