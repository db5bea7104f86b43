/**
 * Live events the whole way, as `nftsentry run` wires them (startDaemonApi with the daemon's
 * BanEvents), with the API in its worker thread and in the main thread: the feed is followed only
 * while a client is connected, and the events emitted reach the client over the unix socket.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiConfigSchema } from '../../src/api/api-schema.ts';
import { startDaemonApi } from '../../src/api/daemon-api.ts';
import type { ApiHandle } from '../../src/api/server.ts';
import type { Config } from '../../src/config/config.ts';
import { BanEvents } from '../../src/engine/ban-events.ts';
import { silentLogger } from '../../src/log.ts';
import { readTokenFile } from '../../src/api/token-file.ts';
import { waitFor } from '../helpers.ts';
import { MemoryOperations, memoryDaemon } from '../api/memory-operations.ts';

let dir: string | undefined;
let handle: ApiHandle | null = null;
let req: ClientRequest | undefined;

afterEach(async () => {
  req?.destroy();
  await handle?.close();
  handle = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each([true, false])('startDaemonApi with api.worker %s', (worker) => {
  it('follows the feed only while a client listens, and streams what it emits', async () => {
    dir = mkdtempSync(join(tmpdir(), 'nftsentry-ui-live-'));
    const socketPath = join(dir, 'api.sock');
    const api = apiConfigSchema.parse({
      socket: { path: socketPath },
      token_file: join(dir, 'api.token'),
      worker,
      worker_nice: 0,
    });
    const feed = new BanEvents(silentLogger());
    const config = { api, store: { path: ':memory:' } } as unknown as Config;
    handle = await startDaemonApi(config, memoryDaemon(new MemoryOperations()), {
      log: silentLogger(),
      sources: () => [],
      events: feed,
    });
    expect(feed.listening).toBe(false);
    const token = readTokenFile(api.token_file);
    const frames: Array<{ type: string; address: string }> = [];
    let connected = false;
    req = request({ socketPath, path: '/v1/events', headers: { authorization: `Bearer ${token}` } }, (res) => {
      expect(res.statusCode).toBe(200);
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (c: string) => {
        connected = true;
        buf += c;
        const parts = buf.split('\n\n');
        buf = parts.pop()!;
        for (const p of parts) if (p.startsWith('data: ')) frames.push(JSON.parse(p.slice(6)));
      });
    });
    req.end();
    await waitFor(async () => (connected && feed.listening ? true : undefined), 5000, 'the feed followed');
    feed.emit({ type: 'allow', address: '198.51.100.0/24', atMs: 1 });
    feed.unbans(['198.51.100.7'], 'expired', 2);
    await waitFor(async () => (frames.length >= 2 ? true : undefined), 5000, 'two frames');
    expect(frames.map((f) => [f.type, f.address])).toEqual([
      ['allow', '198.51.100.0/24'],
      ['unban', '198.51.100.7'],
    ]);
    req.destroy();
    await waitFor(async () => (feed.listening ? undefined : true), 5000, 'the feed left once the client went');
  });
});
