/** The hand-off: bounded, counted, FIFO; waiting sources (stdin) lose nothing. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AlertQueue, type IngestedAlert } from '../../src/ingest/alert-queue.ts';
import { startSources } from '../../src/ingest/start-sources.ts';
import { sourcesSchema } from '../../src/ingest/source-schema.ts';
import { silentLogger } from '../../src/log.ts';
import { uniqueEveAlertLines, waitFor } from './helpers.ts';

const item = (n: number): IngestedAlert => ({ source: 's', receivedMs: n, alert: { sid: n } as never });

describe('AlertQueue', () => {
  it('never holds more than its capacity and counts refusals', () => {
    const q = new AlertQueue(3);
    expect([1, 2, 3, 4, 5].map((n) => q.offer(item(n)))).toEqual([true, true, true, false, false]);
    expect(q.stats()).toEqual({ queued: 3, capacity: 3, offered: 5, refused: 2, highWater: 3 });
    expect(q.take(2).map((i) => i.receivedMs)).toEqual([1, 2]);
    expect(q.offer(item(6))).toBe(true);
    expect(q.take().map((i) => i.receivedMs)).toEqual([3, 6]);
  });

  it('wakes a waiting reader, ends iteration after close once drained', async () => {
    const q = new AlertQueue(10);
    const seen: number[] = [];
    const reader = (async () => {
      for await (const batch of q) seen.push(...batch.map((i) => i.receivedMs));
    })();
    q.offer(item(1));
    await waitFor(() => seen.length === 1, 'first batch');
    q.offer(item(2));
    q.offer(item(3));
    q.close();
    await reader;
    expect(seen).toEqual([1, 2, 3]);
    expect(q.offer(item(4))).toBe(false);
  });

  it('signals room once at most half full', async () => {
    const q = new AlertQueue(4);
    for (let i = 0; i < 4; i++) q.offer(item(i));
    expect(q.hasRoom).toBe(false);
    let roomy = false;
    void q.whenRoom().then(() => (roomy = true));
    q.take(1);
    await Promise.resolve();
    expect(roomy).toBe(false);
    q.take(1);
    await waitFor(() => roomy, 'room');
  });
});

describe('stdin source', () => {
  it('pauses on a full queue and delivers every alert, the last line without a newline too', async () => {
    const lines = uniqueEveAlertLines(2000);
    const input = new PassThrough();
    const queue = new AlertQueue(16);
    const handle = await startSources(sourcesSchema.parse({ inputs: [{ type: 'stdin' }] }), queue, {
      log: silentLogger(),
      stdin: input,
    });
    input.end(lines.join('\n'));
    const got: IngestedAlert[] = [];
    await waitFor(() => {
      got.push(...queue.take(5));
      return got.length >= 2000;
    }, 'every alert through a queue of 16');
    await handle.inputEnded;
    expect(new Set(got.map((g) => g.alert.flowId)).size).toBe(2000);
    expect(handle.stats()[0]).toMatchObject({ alerts: 2000, dropped: 0, connected: 0 });
    expect(queue.stats().highWater).toBeLessThanOrEqual(16);
    await handle.stop();
  });

  it('hands over one read per turn of the event loop, like the sockets, and still delivers everything', async () => {
    const lines = uniqueEveAlertLines(2000);
    const input = new PassThrough({ highWaterMark: 1 << 24 });
    const queue = new AlertQueue(100_000);
    const handle = await startSources(sourcesSchema.parse({ inputs: [{ type: 'stdin' }] }), queue, {
      log: silentLogger(),
      stdin: input,
    });
    const chunks = lines.map((l) => Buffer.from(`${l}\n`));
    for (const c of chunks) input.write(c); // all buffered before the first turn
    input.end();
    let most = 0;
    let last = 0;
    await new Promise<void>((resolve) => {
      const turn = (): void => {
        const n = handle.stats()[0]!.lines;
        most = Math.max(most, n - last);
        last = n;
        if (n >= 2000) resolve();
        else setImmediate(turn);
      };
      setImmediate(turn);
    });
    await handle.inputEnded;
    expect(queue.take().length).toBe(2000);
    expect(most).toBeLessThanOrEqual(2);
    await handle.stop();
  });
});
