/**
 * The file source woken by inotify, with real files: `poll_ms` is 60 s, so an alert that arrives
 * within the test's deadline was read because an event woke the source, not because of the poll.
 * Appends, rename rotation (with late writes to the old file and a partial last line), truncation,
 * delete and recreate: every alert exactly once. With fs.watch failing, the poll still works.
 */
import {
  appendFileSync,
  closeSync,
  openSync,
  renameSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlertQueue, type IngestedAlert } from '../../src/ingest/alert-queue.ts';
import { sourcesSchema } from '../../src/ingest/source-schema.ts';
import { FileWakeups, type WatchEvent, type WatchFactory } from '../../src/ingest/sources/file-wakeups.ts';
import { startSources, type IngestHandle } from '../../src/ingest/start-sources.ts';
import { silentLogger } from '../../src/log.ts';
import { memoryLog } from '../engine/store-fault-helpers.ts';
import { makeTempDir, nonAlertLines, uniqueEveAlertLines, waitFor } from './helpers.ts';

const SLOW_POLL_MS = 60_000;
let tmp: { dir: string; cleanup: () => void };
let handle: IngestHandle | null = null;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(async () => {
  await handle?.stop();
  handle = null;
  tmp.cleanup();
});

const alerts = uniqueEveAlertLines(200);
const filler = nonAlertLines();
let next = 0;
function alert(): { line: string; id: string } {
  const line = alerts[next++]!;
  return { line, id: /"flow_id":(\d+)/.exec(line)![1]! };
}

interface Follow {
  eve: string;
  got: string[];
  /** Waits until these ids (and no others) have arrived, each once. */
  settle(ids: string[]): Promise<void>;
}

async function follow(options: { pollMs?: number; watch?: WatchFactory; log?: ReturnType<typeof silentLogger> } = {}) {
  const eve = join(tmp.dir, 'eve.json');
  writeFileSync(eve, '');
  const config = sourcesSchema.parse({
    inputs: [{ type: 'file', name: 'eve', path: eve, poll_ms: options.pollMs ?? SLOW_POLL_MS, rotate_grace_ms: 200 }],
  });
  const queue = new AlertQueue(10_000);
  handle = await startSources(config, queue, {
    log: options.log ?? silentLogger(),
    ...(options.watch ? { watch: options.watch } : {}),
  });
  const got: string[] = [];
  const expected: string[] = [];
  const f: Follow = {
    eve,
    got,
    async settle(ids) {
      expected.push(...ids);
      await waitFor(() => {
        got.push(...queue.take().map((a: IngestedAlert) => a.alert.flowId!));
        return got.length >= expected.length;
      }, `${expected.length} alerts`);
      expect([...got].sort()).toEqual([...expected].sort());
    },
  };
  return f;
}

describe('file source woken by inotify (poll_ms 60 s)', () => {
  it('reads each append at once, many times over', async () => {
    const f = await follow();
    for (let i = 0; i < 20; i++) {
      const a = alert();
      appendFileSync(f.eve, `${filler[i % filler.length]}\n${a.line}\n`);
      await f.settle([a.id]);
    }
    // A burst written in pieces that cut lines: every alert once.
    const burst = Array.from({ length: 30 }, () => alert());
    const text = burst.map((a) => `${a.line}\n`).join('');
    for (let i = 0; i < text.length; i += 333) appendFileSync(f.eve, text.slice(i, i + 333));
    await f.settle(burst.map((a) => a.id));
    expect(handle!.stats()[0]!.badTotal).toBe(0);
  });

  it('follows a rename rotation: late writes to the old file, a partial line completed in the new one', async () => {
    const f = await follow();
    const a = alert();
    appendFileSync(f.eve, `${a.line}\n`);
    await f.settle([a.id]);
    // The IDS writes on to the renamed file until it reopens; its last line lacks a newline.
    const fd = openSync(f.eve, 'a');
    renameSync(f.eve, `${f.eve}.1`);
    const late = alert();
    const unterminated = alert();
    writeSync(fd, `${late.line}\n${unterminated.line}`);
    closeSync(fd);
    const b = alert();
    writeFileSync(f.eve, `${b.line}\n`);
    // A partial line in the new file is held until the rest arrives.
    const c = alert();
    appendFileSync(f.eve, c.line.slice(0, 80));
    await f.settle([late.id, unterminated.id, b.id]);
    appendFileSync(f.eve, `${c.line.slice(80)}\n`);
    await f.settle([c.id]);
    const d = alert();
    appendFileSync(f.eve, `${d.line}\n`);
    await f.settle([d.id]);
  });

  it('reads from the start after a truncation (copytruncate)', async () => {
    const f = await follow();
    const a = alert();
    appendFileSync(f.eve, `${filler.slice(0, 20).join('\n')}\n${a.line}\n`);
    await f.settle([a.id]);
    truncateSync(f.eve, 0);
    const b = alert();
    appendFileSync(f.eve, `${b.line}\n`);
    await f.settle([b.id]);
    const c = alert();
    appendFileSync(f.eve, `${c.line}\n`);
    await f.settle([c.id]);
  });

  it('follows a delete and recreate', async () => {
    const f = await follow();
    const a = alert();
    appendFileSync(f.eve, `${a.line}\n`);
    await f.settle([a.id]);
    unlinkSync(f.eve);
    const b = alert();
    writeFileSync(f.eve, `${b.line}\n`);
    await f.settle([b.id]);
    const c = alert();
    appendFileSync(f.eve, `${c.line}\n`);
    await f.settle([c.id]);
  });
});

describe('file source without fs.watch', () => {
  it('falls back to the poll, logged, when fs.watch throws', async () => {
    const calls: string[] = [];
    const failing: WatchFactory = (path) => {
      calls.push(path);
      throw Object.assign(new Error('inotify watch limit reached'), { code: 'ENOSPC' });
    };
    const mem = memoryLog('warn');
    const f = await follow({ pollMs: 20, watch: failing, log: mem.log });
    const a = alert();
    appendFileSync(f.eve, `${a.line}\n`);
    await f.settle([a.id]);
    renameSync(f.eve, `${f.eve}.1`);
    const b = alert();
    writeFileSync(f.eve, `${b.line}\n`);
    await f.settle([b.id]);
    expect(calls.length).toBeGreaterThan(1); // tried again at the polls
    const warned = mem.lines.filter(
      (l) => l.msg === 'fs.watch failed; the file source polls every poll_ms until it works again',
    );
    expect(warned).toHaveLength(1); // once per failing spell, not once per poll
    expect(warned[0]!.code).toBe('ENOSPC');
  });
});

describe('FileWakeups', () => {
  type Listener = (event: WatchEvent, name: string | null) => void;
  function fakeWatches() {
    const watches = new Map<string, { on: Listener; fail: (err: Error) => void; closed: boolean }>();
    const factory: WatchFactory = (path, on, fail) => {
      const w = { on, fail, closed: false };
      watches.set(path, w);
      return {
        close: () => {
          w.closed = true;
        },
      };
    };
    return { watches, factory };
  }

  it('wakes for the followed name only, once per append, and falls back when a watch fails later', () => {
    const { watches, factory } = fakeWatches();
    let wakes = 0;
    const w = new FileWakeups('/d/eve.json', factory, silentLogger(), () => wakes++);
    w.ensureDir();
    const reader = {};
    w.opened(reader, '/d/eve.json', true);
    const dir = watches.get('/d')!;
    const file = watches.get('/d/eve.json')!;
    dir.on('change', 'stats.log');
    dir.on('rename', 'fast.log');
    expect(wakes).toBe(0);
    // An append: the file's watch and the directory's both see it; one wakeup.
    file.on('change', 'eve.json');
    dir.on('change', 'eve.json');
    expect(wakes).toBe(1);
    dir.on('rename', 'eve.json');
    expect(wakes).toBe(2);
    // Rotated away: the directory's change events for the name count again (the new file).
    w.retired(reader);
    dir.on('change', 'eve.json');
    expect(wakes).toBe(3);
    file.on('change', 'eve.json');
    expect(wakes).toBe(4);
    // The directory watch dies (ENOSPC after start): closed, then made again at the next poll.
    dir.fail(Object.assign(new Error('gone'), { code: 'ENOSPC' }));
    expect(dir.closed).toBe(true);
    expect(w.watching).toBe(false);
    w.ensureDir();
    expect(w.watching).toBe(true);
    w.closedReader(reader);
    expect(file.closed).toBe(true);
    w.close();
    expect(watches.get('/d')!.closed).toBe(true);
  });
});
