/**
 * Live events: the main thread's EventBatcher (follows the feed only while someone watches,
 * batches, bounded with a count of what it dropped), the EventHub (one frame per event, a slow
 * client dropped and counted, never waited for), and GET /v1/events over a real socket.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { request } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { BanEvents, type BanEvent } from '../../src/engine/ban-events.ts';
import { EventBatcher, type EventBatch } from '../../src/api/live/event-batcher.ts';
import { EventHub, type EventSink } from '../../src/api/live/event-hub.ts';
import { buildApi } from '../../src/api/app.ts';
import { apiConfigSchema } from '../../src/api/api-schema.ts';
import { silentLogger } from '../../src/log.ts';
import { MemoryOperations } from '../api/memory-operations.ts';

const ban = (address: string): BanEvent => ({
  type: 'ban',
  address,
  source: 'suricata',
  reason: 'ET SCAN',
  sid: 1,
  expiresMs: null,
  offences: 1,
  atMs: 1,
});

class Sink implements EventSink {
  chunks: string[] = [];
  writableLength = 0;
  destroyed = false;
  write(c: string) {
    this.chunks.push(c);
    return true;
  }
  end() {}
  destroy() {
    this.destroyed = true;
  }
}

describe('EventBatcher', () => {
  it('follows the feed only while watched, and hands over one batch per interval', async () => {
    const feed = new BanEvents(silentLogger());
    const batches: EventBatch[] = [];
    const b = new EventBatcher(feed, (x) => batches.push(x), { intervalMs: 20 });
    expect(feed.listening).toBe(false);
    b.watchers(1);
    expect(feed.listening).toBe(true);
    feed.emit(ban('198.51.100.1'));
    feed.emit({ type: 'unban', address: '198.51.100.1', cause: 'lifted', atMs: 2 });
    feed.emit({ type: 'allow', address: '198.51.100.0/24', atMs: 3 });
    await new Promise((r) => setTimeout(r, 60));
    expect(batches).toHaveLength(1);
    expect(batches[0]!.events.map((e) => e.type)).toEqual(['ban', 'unban', 'allow']);
    expect(batches[0]!.lost).toBe(0);
    b.watchers(0);
    expect(feed.listening).toBe(false);
    b.close();
  });

  it('keeps at most maxPending events and says how many it dropped', () => {
    const feed = new BanEvents(silentLogger());
    const batches: EventBatch[] = [];
    const b = new EventBatcher(feed, (x) => batches.push(x), { intervalMs: 10_000, maxPending: 3 });
    b.watchers(2);
    for (let i = 0; i < 5; i++) feed.emit(ban(`198.51.100.${i}`));
    b.flush();
    expect(batches[0]!.events.map((e) => e.address)).toEqual(['198.51.100.2', '198.51.100.3', '198.51.100.4']);
    expect(batches[0]!.lost).toBe(2);
    b.close();
  });
});

describe('EventHub', () => {
  it('writes one data frame per event to every client, tells the watcher count', () => {
    const counts: number[] = [];
    const hub = new EventHub({ onWatchers: (n) => counts.push(n) });
    const a = new Sink();
    const c = new Sink();
    hub.add(a);
    hub.add(c);
    hub.publish({ events: [ban('198.51.100.1'), { type: 'unallow', address: '198.51.100.0/24', atMs: 1 }], lost: 0 });
    for (const s of [a, c]) {
      const frames = s.chunks.join('').split('\n\n').filter(Boolean);
      expect(frames.map((f) => JSON.parse(f.replace(/^data: /, '')).type)).toEqual(['ban', 'unallow']);
    }
    hub.remove(a);
    expect(counts).toEqual([1, 2, 1]);
  });

  it('a client holding more than maxBufferedBytes unsent is dropped and counted; the others still get events', () => {
    const hub = new EventHub({ maxBufferedBytes: 1000 });
    const slow = new Sink();
    const fast = new Sink();
    hub.add(slow);
    hub.add(fast);
    slow.writableLength = 5000;
    hub.publish({ events: [ban('198.51.100.9')], lost: 0 });
    expect(slow.destroyed).toBe(true);
    expect(slow.chunks).toEqual([]);
    expect(fast.chunks).toHaveLength(1);
    expect(hub.dropped).toBe(1);
    expect(hub.size).toBe(1);
  });

  it('refuses clients beyond maxClients', () => {
    const hub = new EventHub({ maxClients: 1 });
    expect(hub.add(new Sink())).toBe(true);
    expect(hub.add(new Sink())).toBe(false);
  });
});

describe('GET /v1/events over a socket', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('streams ban, unban, allow and unallow events as JSON with type and address', async () => {
    const hub = new EventHub();
    const token = 'test-token-0123456789abcdef';
    // request_timeout 1 s: the stream outlives it (the timeout is for receiving a request).
    app = buildApi(new MemoryOperations(), {
      token,
      config: apiConfigSchema.parse({ request_timeout: 1 }),
      liveEvents: hub,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;
    const got: Array<{ type: string; address: string }> = [];
    const done = new Promise<void>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port,
        path: '/v1/events',
        headers: { authorization: `Bearer ${token}` },
      });
      req.on('response', (res) => {
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          const frames = buf.split('\n\n');
          buf = frames.pop()!;
          for (const f of frames) if (f.startsWith('data: ')) got.push(JSON.parse(f.slice(6)));
          if (got.length === 4) {
            req.destroy();
            resolve();
          }
        });
        // The hub has its client once the first frame arrived; publish after the request timeout.
        res.once('data', () =>
          setTimeout(
            () =>
              hub.publish({
                events: [
                  ban('198.51.100.1'),
                  { type: 'unban', address: '198.51.100.1', cause: 'lifted', atMs: 1 },
                  { type: 'allow', address: '2001:db8::/32', atMs: 1 },
                  { type: 'unallow', address: '2001:db8::/32', atMs: 1 },
                ],
                lost: 0,
              }),
            2500,
          ),
        );
      });
      req.on('error', reject);
      req.end();
    });
    await done;
    const status = await app.inject({
      method: 'GET',
      url: '/v1/status',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(status.json().liveEvents).toMatchObject({ dropped: 0, events: 4 });
    expect(got.map((e) => [e.type, e.address])).toEqual([
      ['ban', '198.51.100.1'],
      ['unban', '198.51.100.1'],
      ['allow', '2001:db8::/32'],
      ['unallow', '2001:db8::/32'],
    ]);
  });
});
