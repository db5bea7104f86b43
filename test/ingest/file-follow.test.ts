/**
 * Following eve.json with real sample lines through rename rotation, copytruncate and restarts
 * (one of them with a rotation while stopped): every alert exactly once, bookmark in node:sqlite.
 */
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  openSync,
  renameSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSources, type IngestHandle } from '../../src/ingest/start-sources.ts';
import { AlertQueue, type IngestedAlert } from '../../src/ingest/alert-queue.ts';
import { sourcesSchema } from '../../src/ingest/source-schema.ts';
import { SourceBookmarks } from '../../src/ingest/bookmarks.ts';
import { silentLogger } from '../../src/log.ts';
import { makeTempDir, nonAlertLines, samplesDir, uniqueEveAlertLines, waitFor } from './helpers.ts';

let tmp: { dir: string; cleanup: () => void };
let handle: IngestHandle | null = null;
let db: DatabaseSync | null = null;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(async () => {
  await handle?.stop();
  handle = null;
  db?.close();
  db = null;
  tmp.cleanup();
});

const alerts = uniqueEveAlertLines(600);
const filler = nonAlertLines();
let next = 0;
/** `n` alerts, each followed by 10 real non-alert lines; returns the text and the alert ids. */
function batch(n: number): { text: string; ids: string[] } {
  const parts: string[] = [];
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const line = alerts[next++]!;
    ids.push(/"flow_id":(\d+)/.exec(line)![1]!);
    parts.push(line);
    for (let k = 0; k < 10; k++) parts.push(filler[(next * 10 + k) % filler.length]!);
  }
  return { text: parts.join('\n') + '\n', ids };
}

function openDb(path: string): DatabaseSync {
  const d = new DatabaseSync(path);
  d.exec('PRAGMA journal_mode = WAL');
  return d;
}

describe('file source', () => {
  it('delivers every alert exactly once through rename rotation, copytruncate and two restarts', async () => {
    const eve = join(tmp.dir, 'eve.json');
    const dbPath = join(tmp.dir, 'store.db');
    const config = sourcesSchema.parse({
      inputs: [{ type: 'file', name: 'eve', path: eve, poll_ms: 20, rotate_grace_ms: 300, bookmark_interval_ms: 100 }],
    });
    const queue = new AlertQueue(100_000);
    const got: IngestedAlert[] = [];
    const expected: string[] = [];
    const start = async (): Promise<void> => {
      db = openDb(dbPath);
      handle = await startSources(config, queue, { log: silentLogger(), db });
    };
    const stop = async (): Promise<void> => {
      await handle!.stop();
      handle = null;
      db!.close();
      db = null;
    };
    const settle = async (): Promise<void> => {
      await waitFor(() => {
        got.push(...queue.take());
        return got.length >= expected.length;
      }, `${expected.length} alerts`);
    };

    // Lines already there before the first start are history: start at the end. The partial last
    // line is the start of a new event, completed later.
    const old = batch(20);
    const pending = alerts[next++]!;
    writeFileSync(eve, old.text + pending.slice(0, 100));
    await start();
    appendFileSync(eve, pending.slice(100) + '\n');
    expected.push(/"flow_id":(\d+)/.exec(pending)![1]!);
    const b1 = batch(50);
    // Written in pieces that cut lines, as a writer flushing a buffer would.
    for (let i = 0; i < b1.text.length; i += 777) appendFileSync(eve, b1.text.slice(i, i + 777));
    expected.push(...b1.ids);
    await settle();

    // Rename rotation: the IDS keeps writing to the renamed file until it reopens.
    const fd = openSync(eve, 'a');
    const b2 = batch(30);
    writeSync(fd, b2.text);
    renameSync(eve, `${eve}.1`);
    const b3 = batch(30);
    writeSync(fd, b3.text);
    closeSync(fd);
    const b4 = batch(40);
    writeFileSync(eve, b4.text);
    expected.push(...b2.ids, ...b3.ids, ...b4.ids);
    await settle();

    // copytruncate, once the follower has read everything (what it has not read by then is in the
    // copy, by the nature of copytruncate).
    copyFileSync(eve, `${eve}.2`);
    truncateSync(eve, 0);
    const b5 = batch(40);
    appendFileSync(eve, b5.text);
    expected.push(...b5.ids);
    await settle();

    // Restart 1: lines written while stopped are read after the restart, none twice.
    await stop();
    const b6 = batch(40);
    appendFileSync(eve, b6.text);
    expected.push(...b6.ids);
    await start();
    await settle();

    // Restart 2: rotated while stopped; the old file is found by its inode and finished first.
    await stop();
    const b7 = batch(40);
    appendFileSync(eve, b7.text);
    renameSync(eve, `${eve}.3`);
    const b8 = batch(40);
    writeFileSync(eve, b8.text);
    expected.push(...b7.ids, ...b8.ids);
    await start();
    await settle();

    // Give a duplicate every chance to show up before judging.
    const b9 = batch(5);
    appendFileSync(eve, b9.text);
    expected.push(...b9.ids);
    await settle();
    const ids = got.map((g) => g.alert.flowId!);
    expect(ids.length).toBe(expected.length);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...expected].sort());
    // Order within the last start: b7 (old file) before b8 (new file).
    const i7 = ids.indexOf(b7.ids.at(-1)!);
    const i8 = ids.indexOf(b8.ids[0]!);
    expect(i7).toBeLessThan(i8);
    expect(handle!.stats()[0]!.dropped).toBe(0);

    await stop();
    db = openDb(dbPath);
    const bm = new SourceBookmarks(db).get('eve');
    expect(bm?.path).toBe(eve);
    expect(bm?.offset).toBe(Buffer.byteLength(b8.text + b9.text));
  });

  it('holds a partial last line and reads from the beginning when configured', async () => {
    const eve = join(tmp.dir, 'eve.json');
    const [a1, a2] = uniqueEveAlertLines(2);
    writeFileSync(eve, `${a1}\n${a2!.slice(0, 50)}`);
    const queue = new AlertQueue(100);
    const config = sourcesSchema.parse({ inputs: [{ type: 'file', path: eve, start: 'beginning', poll_ms: 20 }] });
    handle = await startSources(config, queue, { log: silentLogger() });
    await waitFor(() => handle!.stats()[0]!.alerts === 1, 'the first alert');
    await waitFor(() => handle!.stats()[0]!.bytes === Buffer.byteLength(`${a1}\n`) + 50, 'the partial line read');
    expect(handle.stats()[0]!.badTotal).toBe(0);
    appendFileSync(eve, `${a2!.slice(50)}\n`);
    await waitFor(() => handle!.stats()[0]!.alerts === 2, 'the completed alert');
    expect(queue.take().map((g) => g.alert.flowId)).toEqual([
      /"flow_id":(\d+)/.exec(a1!)![1],
      /"flow_id":(\d+)/.exec(a2!)![1],
    ]);
  });

  it('follows a real Snort 3 alert_json file (format snort, from the beginning)', async () => {
    const file = join(tmp.dir, 'alert_json.txt');
    copyFileSync(join(samplesDir, 'injaneity__CS204-project', 'alert_json.txt'), file);
    const queue = new AlertQueue(10_000);
    const config = sourcesSchema.parse({
      inputs: [{ type: 'file', path: file, start: 'beginning', format: 'snort', snort_timezone: 'utc', poll_ms: 20 }],
    });
    handle = await startSources(config, queue, { log: silentLogger(), clock: () => Date.UTC(2026, 11, 1) });
    const got: IngestedAlert[] = [];
    await waitFor(() => {
      got.push(...queue.take());
      return got.length >= 5732;
    }, 'all 5732 Snort alerts');
    expect(handle.stats()[0]!.alerts).toBe(5732);
    const first = got[0]!.alert;
    expect(first).toMatchObject({
      ids: 'snort',
      proto: 'TCP',
      src: { ip: '192.168.0.64', port: 21029 },
      dest: { ip: '192.168.1.100', port: 513 },
      gid: 1,
      sid: 2000111,
    });
    expect(new Date(first.timeMs).toISOString()).toBe('2026-11-08T22:02:43.096Z');
    expect(handle.stats()[0]!.badTotal).toBe(0);
  });

  it('pauses instead of dropping when the queue is full', async () => {
    const eve = join(tmp.dir, 'eve.json');
    const lines = uniqueEveAlertLines(500);
    writeFileSync(eve, lines.join('\n') + '\n');
    const queue = new AlertQueue(16);
    const config = sourcesSchema.parse({ inputs: [{ type: 'file', path: eve, start: 'beginning', poll_ms: 20 }] });
    handle = await startSources(config, queue, { log: silentLogger() });
    const got: IngestedAlert[] = [];
    await waitFor(() => {
      got.push(...queue.take(4));
      return got.length >= 500;
    }, 'all 500 through a queue of 16');
    expect(queue.stats().highWater).toBeLessThanOrEqual(16);
    expect(queue.stats().refused).toBeGreaterThan(0); // the queue did refuse: the source held and waited
    expect(handle.stats()[0]!.dropped).toBe(0);
    expect(new Set(got.map((g) => g.alert.flowId)).size).toBe(500);
  });
});
