/**
 * Hostile input on a real unix_stream socket: 100k bad lines (truncated JSON, garbage, NUL bytes,
 * invalid UTF-8, wrong types, missing fields, impossible addresses and ports, a 50 MB line) mixed
 * with 5000 real alerts. Every real alert is delivered, each bad line is counted under its reason,
 * and memory stays bounded.
 */
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startSources, type IngestHandle } from '../../src/ingest/start-sources.ts';
import { AlertQueue, type IngestedAlert } from '../../src/ingest/alert-queue.ts';
import { sourcesSchema } from '../../src/ingest/source-schema.ts';
import { silentLogger } from '../../src/log.ts';
import type { BadReason } from '../../src/ingest/alert.ts';
import { makeTempDir, uniqueEveAlertLines, waitFor } from './helpers.ts';

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

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const REAL = uniqueEveAlertLines(5000);

/** One bad line of each kind, built from a real alert; returns the bytes (no newline) and the reason. */
function makeBad(kind: number, rand: () => number, base: string): [Buffer, BadReason] {
  const o = JSON.parse(base);
  switch (kind) {
    case 0: // truncated JSON
      return [Buffer.from(base.slice(0, 1 + Math.floor(rand() * (base.length - 2)))), 'not_json'];
    case 1: {
      // binary garbage with a NUL byte, no newline
      const b = Buffer.alloc(16 + Math.floor(rand() * 200));
      for (let i = 0; i < b.length; i++) b[i] = Math.floor(rand() * 256);
      for (let i = 0; i < b.length; i++) if (b[i] === 0x0a) b[i] = 0x0b;
      b[Math.floor(rand() * b.length)] = 0;
      return [b, 'nul_byte'];
    }
    case 2: {
      // high bytes that are never UTF-8
      const b = Buffer.alloc(8 + Math.floor(rand() * 100));
      for (let i = 0; i < b.length; i++) b[i] = 0xf8 + Math.floor(rand() * 8);
      return [b, 'not_utf8'];
    }
    case 3: {
      // a valid alert line whose signature carries invalid UTF-8
      const [head, tail] = base.split('"signature":"');
      return [
        Buffer.concat([Buffer.from(`${head}"signature":"`), Buffer.from([0xc3, 0x28, 0xa0]), Buffer.from(tail!)]),
        'not_utf8',
      ];
    }
    case 4:
      o.alert.signature_id = String(o.alert.signature_id);
      return [Buffer.from(JSON.stringify(o)), 'wrong_type'];
    case 5:
      delete o.src_ip;
      return [Buffer.from(JSON.stringify(o)), 'missing_field'];
    case 6:
      o.src_ip = ['999.1.1.1', '1.2.3', 'fe80::1%eth0', '::ffff::1', 'localhost'][Math.floor(rand() * 5)];
      return [Buffer.from(JSON.stringify(o)), 'bad_address'];
    case 7:
      o.dest_port = 65_536 + Math.floor(rand() * 1000);
      return [Buffer.from(JSON.stringify(o)), 'bad_port'];
    case 8:
      o.timestamp = 'not a time';
      return [Buffer.from(JSON.stringify(o)), 'bad_time'];
    case 9:
      return [Buffer.from(JSON.stringify([o])), 'not_object'];
    default:
      // garbage text that is not JSON
      return [Buffer.from('x'.repeat(1 + Math.floor(rand() * 50)) + ' {"event_type":"alert"}'), 'not_json'];
  }
}

async function write(s: Socket, b: Buffer): Promise<void> {
  if (!s.write(b)) await new Promise((r) => s.once('drain', r));
}

it('delivers all real alerts among 100k bad lines, counts each reason, keeps memory bounded', async () => {
  const path = join(tmp.dir, 'eve.sock');
  const queue = new AlertQueue(10_000);
  handle = await startSources(
    sourcesSchema.parse({ inputs: [{ type: 'unix_stream', path, max_line_bytes: 1 << 20 }] }),
    queue,
    { log: silentLogger() },
  );
  const got: IngestedAlert[] = [];
  const drainer = setInterval(() => got.push(...queue.take()), 5);

  // Retained memory is measured after a full GC (garbage not yet collected is not growth).
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // Buffers' memory is released by a background sweeper after GC: take the least of a few
  // measurements, so that only what is really held counts.
  const retained = async (): Promise<number> => {
    let least = Infinity;
    for (let k = 0; k < 8; k++) {
      gc();
      await new Promise((r) => setTimeout(r, 15));
      const m = process.memoryUsage();
      least = Math.min(least, m.heapUsed + m.arrayBuffers);
    }
    return least;
  };
  const base = await retained();
  let midLongLine = 0;

  const rand = rng(7);
  const expected: Partial<Record<BadReason, number>> = {};
  const s = await new Promise<Socket>((resolve) => {
    const c = connect(path, () => resolve(c));
  });
  let realNext = 0;
  const BAD = 100_000;
  let batch: Buffer[] = [];
  for (let i = 0; i < BAD; i++) {
    const [bytes, reason] = makeBad(i % 11, rand, REAL[i % REAL.length]!);
    expected[reason] = (expected[reason] ?? 0) + 1;
    batch.push(bytes, Buffer.from('\n'));
    if (i % 20 === 19 && realNext < REAL.length) batch.push(Buffer.from(`${REAL[realNext++]}\n`));
    if (i === 50_000) {
      // A 50 MB line, written 1 MB at a time, then its newline.
      await write(s, Buffer.concat(batch));
      batch = [];
      const mb = Buffer.alloc(1 << 20, 0x7b);
      for (let k = 0; k < 50; k++) await write(s, mb);
      // 50 MB of one line received and not finished yet: what does the reader hold?
      const sent = s.bytesWritten;
      await waitFor(() => handle!.stats()[0]!.bytes >= sent, 'the reader to take the 50 MB');
      midLongLine = (await retained()) - base;
      await write(s, Buffer.from('\n'));
      expected.too_long = 1;
    }
    if (batch.length > 2000) {
      await write(s, Buffer.concat(batch));
      batch = [];
    }
  }
  while (realNext < REAL.length) batch.push(Buffer.from(`${REAL[realNext++]}\n`));
  await write(s, Buffer.concat(batch));
  await new Promise<void>((resolve) => s.end(resolve));

  await waitFor(() => handle!.stats()[0]!.lines >= BAD + 1 + REAL.length, 'every line', 60_000);
  await waitFor(() => got.length >= REAL.length, 'every alert');
  clearInterval(drainer);
  got.push(...queue.take());

  const st = handle.stats()[0]!;
  const ids = got.map((g) => g.alert.flowId);
  expect(new Set(ids).size).toBe(REAL.length);
  expect(st.alerts).toBe(REAL.length);
  expect(st.dropped).toBe(0);
  expect(st.badTotal).toBe(BAD + 1);
  const counted = Object.fromEntries(Object.entries(st.bad).filter(([, n]) => n > 0));
  expect(counted).toEqual(expected);
  // A reader that kept the 50 MB line, or any of the bad lines, would hold far more than this.
  expect(midLongLine).toBeLessThan(16 * 1024 * 1024);
  const delivered = got.length;
  got.length = 0;
  const atEnd = (await retained()) - base;
  expect(delivered).toBe(REAL.length);
  expect(atEnd).toBeLessThan(16 * 1024 * 1024);
}, 90_000);
