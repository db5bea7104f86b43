/**
 * The `redis` source against Debian's redis-server in a namespace: list mode (Suricata's lpush)
 * gives the same counts as the file source on every real EVE sample; a reader stopped mid-stream
 * with entries moved but not handed over (what a kill -9 leaves) loses none, the next reader takes
 * them from the processing list; stream mode acknowledges what it handed over and reads its
 * pending entries first; bad lines are counted as for any source.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertQueue, type IngestedAlert } from '../../src/ingest/alert-queue.ts';
import { sourcesSchema } from '../../src/ingest/source-schema.ts';
import { type IngestHandle, startSources } from '../../src/ingest/start-sources.ts';
import { Netns } from '../../src/lab/netns.ts';
import { silentLogger } from '../../src/log.ts';
import { pollUntil } from '../engine/daemon-harness.ts';
import { allSampleFiles, isIdsNdjson, uniqueEveAlertLines } from '../ingest/helpers.ts';
import { TestRedis } from './redis-harness.ts';

let ns: Netns;
let redis: TestRedis;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-redis-source-'));
  ns = await Netns.create('rsrc');
  redis = new TestRedis(ns, dir);
  await redis.start();
}, 30_000);

afterAll(async () => {
  await redis?.kill();
  await ns?.delete();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function start(input: Record<string, unknown>, queue: AlertQueue): Promise<IngestHandle> {
  const config = sourcesSchema.parse({ inputs: [{ type: 'redis', url: redis.socket, ...input }] });
  return startSources(config, queue, { log: silentLogger() });
}

const counts = (h: IngestHandle) => {
  const s = h.stats()[0]!;
  return { lines: s.lines, alerts: s.alerts, nonAlerts: s.nonAlerts, badTotal: s.badTotal };
};

async function pushAll(key: string, lines: readonly string[]): Promise<void> {
  for (let i = 0; i < lines.length; i += 500) await redis.command(['LPUSH', key, ...lines.slice(i, i + 500)]);
}

describe('redis source', () => {
  it('list mode: the same counts as the file source on every real EVE sample', async () => {
    const files = allSampleFiles().filter((f) => f.endsWith('/eve.json') && isIdsNdjson(f));
    expect(files.length).toBeGreaterThan(3);
    for (const [i, f] of files.entries()) {
      // Every complete line, as the file source reads them (a last line without a newline waits there).
      const lines = readFileSync(f, 'utf8').split('\n').slice(0, -1);
      const fileQueue = new AlertQueue(100_000);
      const fileSrc = await startSources(
        sourcesSchema.parse({ inputs: [{ type: 'file', path: f, start: 'beginning', poll_ms: 20 }] }),
        fileQueue,
        { log: silentLogger() },
      );
      await pollUntil(`${f}: file source done`, () => fileSrc.stats()[0]!.lines === lines.length);
      const want = counts(fileSrc);
      await fileSrc.stop();
      const key = `eve${i}`;
      await pushAll(key, lines);
      const q = new AlertQueue(100_000);
      const h = await start({ key, name: 'r' }, q);
      await pollUntil(`${f}: redis source done`, () => h.stats()[0]!.lines === lines.length);
      expect(counts(h), f).toEqual(want);
      await h.stop();
      expect(await redis.command(['LLEN', key])).toBe(0);
      expect(await redis.command(['LLEN', `${key}:nftsentry:r`])).toBe(0);
    }
  }, 60_000);

  it('list mode: a reader stopped mid-stream loses no alert; the next one takes the processing list', async () => {
    const lines = uniqueEveAlertLines(300);
    await pushAll('crash', lines);
    const flows = (items: IngestedAlert[]) => items.map((g) => g.alert.flowId);
    // A queue that fills at once: the first reader holds moved entries it cannot hand over.
    const small = new AlertQueue(16);
    const h1 = await start({ key: 'crash', name: 'c' }, small);
    await pollUntil('the first reader is stuck on a full queue', () => !small.hasRoom);
    const moved = Number(await redis.command(['LLEN', 'crash:nftsentry:c']));
    expect(moved).toBeGreaterThan(0);
    await h1.stop();
    const got = flows(small.take());
    const q = new AlertQueue(100_000);
    const h2 = await start({ key: 'crash', name: 'c' }, q);
    await pollUntil('every alert read', () => {
      got.push(...flows(q.take()));
      return new Set(got).size >= lines.length;
    });
    expect(new Set(got).size).toBe(lines.length);
    await h2.stop();
    expect(await redis.command(['LLEN', 'crash:nftsentry:c'])).toBe(0);
  });

  it('stream mode: a consumer group, XACK after the hand-over, pending entries read first', async () => {
    const lines = uniqueEveAlertLines(200);
    for (const l of lines.slice(0, 100)) await redis.command(['XADD', 'ev', '*', 'eve', l]);
    // Entries delivered to this consumer and never acknowledged (a crash) are read again.
    await redis.command(['XGROUP', 'CREATE', 'ev', 'nftsentry', '0']);
    await redis.command(['XREADGROUP', 'GROUP', 'nftsentry', 'nftsentry', 'COUNT', '10', 'STREAMS', 'ev', '>']);
    const q = new AlertQueue(100_000);
    const h = await start({ key: 'ev', mode: 'stream' }, q);
    for (const l of lines.slice(100)) await redis.command(['XADD', 'ev', '*', 'other', 'x', 'eve', l]);
    await redis.command(['XADD', 'ev', '*', 'eve', '{not json']);
    await pollUntil('all alerts', () => h.stats()[0]!.alerts === 200 && h.stats()[0]!.badTotal === 1);
    await pollUntil('all acknowledged', async () => {
      const p = (await redis.command<unknown[]>(['XPENDING', 'ev', 'nftsentry']))[0];
      return Number(p) === 0;
    });
    expect(new Set(q.take().map((g) => g.alert.flowId)).size).toBe(200);
    await h.stop();
  });

  it('channel mode: what is published while it listens is read; nothing is kept for it (lossy)', async () => {
    const lines = uniqueEveAlertLines(50);
    await redis.command(['PUBLISH', 'chan', lines[0]!]);
    const q = new AlertQueue(1000);
    const h = await start({ key: 'chan', mode: 'channel' }, q);
    await pollUntil(
      'subscribed',
      async () => Number((await redis.command<unknown[]>(['PUBSUB', 'NUMSUB', 'chan']))[1]) === 1,
    );
    for (const l of lines.slice(1)) await redis.command(['PUBLISH', 'chan', l]);
    await pollUntil('the alerts published while subscribed', () => h.stats()[0]!.alerts === 49);
    await h.stop();
  });
});
