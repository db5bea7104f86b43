/**
 * The unix_stream source's defence against clients that hold connections: who gives way at
 * max_connections (pure), a silent client closed after idle_timeout while a quiet one that has
 * sent data stays, and at the cap the silent ones make room for a newcomer whose alerts get
 * through; each close counted.
 */
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlertQueue, type IngestedAlert } from '../../src/ingest/alert-queue.ts';
import { sourcesSchema } from '../../src/ingest/source-schema.ts';
import { evictionVictim } from '../../src/ingest/sources/unix-stream.ts';
import { type IngestHandle, startSources } from '../../src/ingest/start-sources.ts';
import { silentLogger } from '../../src/log.ts';
import { makeTempDir, uniqueEveAlertLines, waitFor } from './helpers.ts';

let tmp: { dir: string; cleanup: () => void };
let handle: IngestHandle | null = null;
const sockets: Socket[] = [];
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await handle?.stop();
  handle = null;
  tmp.cleanup();
});

function openClient(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.once('error', reject);
    sockets.push(s);
  });
}

describe('evictionVictim', () => {
  it('the oldest silent client first, else the client idle longest if idle 1 s, else none', () => {
    const now = 10_000;
    const m = (entries: Array<[string, number, boolean]>) =>
      new Map(entries.map(([k, t, sent]) => [k, { lastDataMs: t, sent }]));
    expect(
      evictionVictim(
        m([
          ['ids', 1000, true],
          ['silent-new', 9990, false],
          ['silent-old', 5000, false],
        ]),
        now,
      ),
    ).toBe('silent-old');
    expect(
      evictionVictim(
        m([
          ['a', 8500, true],
          ['b', 7000, true],
          ['c', 9500, true],
        ]),
        now,
      ),
    ).toBe('b');
    expect(
      evictionVictim(
        m([
          ['busy', 9500, true],
          ['busier', 9900, true],
        ]),
        now,
      ),
    ).toBeNull();
    expect(evictionVictim(m([]), now)).toBeNull();
  });
});

describe('unix_stream at the cap and with idle clients', () => {
  it('silent clients are closed after idle_timeout; one that sent data stays however quiet', async () => {
    const path = join(tmp.dir, 'eve.sock');
    const config = sourcesSchema.parse({ inputs: [{ type: 'unix_stream', name: 'ids', path, idle_timeout: 1 }] });
    handle = await startSources(config, new AlertQueue(1000), { log: silentLogger() });
    const silent = await openClient(path);
    const talker = await openClient(path);
    talker.write('{"event_type":"stats"}\n');
    const closed = new Promise<void>((r) => silent.once('close', () => r()));
    await closed;
    await waitFor(() => handle!.stats()[0]!.idleClosed === 1, 'the silent client counted');
    await new Promise((r) => setTimeout(r, 1500));
    expect(talker.destroyed).toBe(false);
    expect(handle.stats()[0]).toMatchObject({ connected: 1, idleClosed: 1, evicted: 0, refused: 0 });
  });

  it("200 silent clients against max_connections 8: each newcomer takes a silent one's place, and the IDS that connects last is heard", async () => {
    const path = join(tmp.dir, 'eve.sock');
    const config = sourcesSchema.parse({ inputs: [{ type: 'unix_stream', name: 'ids', path, max_connections: 8 }] });
    const queue = new AlertQueue(1000);
    handle = await startSources(config, queue, { log: silentLogger() });
    for (let i = 0; i < 200; i++) await openClient(path);
    await waitFor(() => handle!.stats()[0]!.evicted === 192, '192 evictions');
    const ids = await openClient(path);
    const line = uniqueEveAlertLines(1)[0]!;
    ids.write(`${line}\n`);
    const got: IngestedAlert[] = [];
    await waitFor(async () => {
      got.push(...queue.take());
      return got.length === 1;
    }, 'the alert through');
    expect(handle.stats()[0]).toMatchObject({ evicted: 193, refused: 0, alerts: 1 });
    expect(handle.stats()[0]!.connected).toBeLessThanOrEqual(8);
  });
});
