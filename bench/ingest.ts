/**
 * Ingestion benchmark: the chosen parsing path beside ndjson.parse and split2 + JSON.parse, in one
 * run, on a realistic mix (1% alerts, the samples' other events as filler).
 *
 *   node_modules/.bin/node bench/ingest.ts [--lines=1000000] [--rounds=2]
 *
 * Each path runs in its own child process (so its memory is its own), over the same bytes, fed in
 * 64 KiB chunks; every path must find the same number of alerts. Prints lines/s (best of the
 * rounds), peak RSS while parsing (the ~170 MB input block is included in every path's figure),
 * and RSS growth over the RSS before parsing (what the path itself costs).
 *
 * Warm before measured: each child first runs its path once over the block, uncounted (JIT,
 * inline caches, the allocator's pages), and the parent runs the first path once in a child of
 * its own before the measured ones (the samples in the page cache, the CPU out of idle), so that
 * whichever path comes first is not measured cold.
 */
import { spawnSync } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import ndjson from 'ndjson';
import split2 from 'split2';
import { LineParser } from '../src/ingest/line-parser.ts';
import { LineSplitter } from '../src/ingest/line-splitter.ts';
import { parseEveAlert } from '../src/ingest/eve-alert.ts';
import { buildMix, chunks, type Mix } from './ingest-mix.ts';

type PathName =
  | 'chosen (fast)'
  | 'chosen (strict_json)'
  | 'splitter+JSON.parse'
  | 'split2+prefilter+JSON.parse'
  | 'split2+JSON.parse'
  | 'ndjson.parse';
const PATHS: PathName[] = [
  'chosen (fast)',
  'chosen (strict_json)',
  'splitter+JSON.parse',
  'split2+prefilter+JSON.parse',
  'split2+JSON.parse',
  'ndjson.parse',
];

function arg(name: string, fallback: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : fallback;
}

/** The same normalisation for every path once it has an object, so only the parsing differs. */
function handleObject(o: Record<string, unknown>, text: string): number {
  if (o.event_type !== 'alert') return 0;
  return parseEveAlert(o, text).kind === 'alert' ? 1 : 0;
}

let peakRss = 0;
function sampleRss(): void {
  const rss = process.memoryUsage.rss();
  if (rss > peakRss) peakRss = rss;
}

/** Runs `name` over the block `repeat` times in a row (one stream of repeat × block lines). */
async function runPath(name: PathName, mix: Mix, repeat: number): Promise<number> {
  let n = 0;
  const feed = function* (): Generator<Buffer> {
    for (let r = 0; r < repeat; r++) {
      for (const c of chunks(mix.block)) {
        if ((++n & 63) === 0) sampleRss();
        yield c;
      }
    }
  };
  let alerts = 0;
  if (name === 'chosen (fast)' || name === 'chosen (strict_json)') {
    const parser = new LineParser({ format: 'auto', strict: name === 'chosen (strict_json)' });
    const now = Date.now();
    const splitter = new LineSplitter(
      {
        line(b, s, e) {
          if (parser.parse(b, s, e, now).kind === 'alert') alerts++;
        },
        tooLong() {},
      },
      1 << 20,
    );
    for (const c of feed()) {
      parser.noteChunk(c);
      splitter.push(c);
    }
    return alerts;
  }
  if (name === 'splitter+JSON.parse') {
    const splitter = new LineSplitter(
      {
        line(b, s, e) {
          const text = b.toString('utf8', s, e);
          alerts += handleObject(JSON.parse(text), text);
        },
        tooLong() {},
      },
      1 << 20,
    );
    for (const c of feed()) splitter.push(c);
    return alerts;
  }
  const sink = new Writable({
    objectMode: true,
    write(item: string | Record<string, unknown>, _enc, cb) {
      if (typeof item === 'string') {
        if (name === 'split2+prefilter+JSON.parse' && !item.includes('"event_type":"alert"')) return cb();
        alerts += handleObject(JSON.parse(item), item);
      } else alerts += handleObject(item, '');
      cb();
    },
  });
  const parse = name === 'ndjson.parse' ? ndjson.parse({ strict: false }) : split2();
  await pipeline(Readable.from(feed()), parse, sink);
  return alerts;
}

async function child(name: PathName): Promise<void> {
  const lines = arg('lines', 1_000_000);
  // At most 200k distinct lines in memory (about 160 MB); a round streams it several times.
  const mix = buildMix(Math.min(lines, 200_000));
  const repeat = Math.max(1, Math.round(lines / mix.lines));
  const rounds = arg('rounds', 2);
  let best = Infinity;
  let alerts = 0;
  // The warm-up pass: one block, not timed (its RSS is not the path's steady cost either).
  await runPath(name, mix, 1);
  const rssBefore = process.memoryUsage.rss();
  peakRss = rssBefore;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    alerts = await runPath(name, mix, repeat);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const out = {
    name,
    lines: mix.lines * repeat,
    bytes: mix.block.length * repeat,
    blockMb: mix.block.length / 1e6,
    alerts,
    expectedAlerts: mix.alerts * repeat,
    seconds: best,
    linesPerSec: Math.round((mix.lines * repeat) / best),
    mbPerSec: (mix.block.length * repeat) / 1e6 / best,
    peakRssMb: peakRss / 1048576,
    rssGrowthMb: (peakRss - rssBefore) / 1048576,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

async function main(): Promise<void> {
  const only = process.argv.find((x) => x.startsWith('--only='));
  if (only) return child(only.slice(7) as PathName);
  const lines = arg('lines', 1_000_000);
  const rounds = arg('rounds', 2);
  const self = fileURLToPath(import.meta.url);
  console.log(
    `ingest bench: ${lines} lines per round, best of ${rounds}, node ${process.version}, one core (single JS thread)`,
  );
  const rows: Array<Record<string, string | number>> = [];
  const runChild = (name: PathName, n: number, rounds: number) =>
    spawnSync(process.execPath, [self, `--only=${name}`, `--lines=${n}`, `--rounds=${rounds}`], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
  // Uncounted: the machine warm before the first measured path.
  const warm = runChild(PATHS[0]!, Math.min(lines, 200_000), 1);
  if (warm.status !== 0) throw new Error(`warm-up failed: ${warm.stderr}`);
  for (const name of PATHS) {
    const r = runChild(name, lines, rounds);
    if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
    const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    if (res.alerts !== res.expectedAlerts)
      throw new Error(`${name} found ${res.alerts} alerts, expected ${res.expectedAlerts}`);
    rows.push({
      path: name,
      'lines/s': res.linesPerSec.toLocaleString('en-US'),
      'MB/s': res.mbPerSec.toFixed(0),
      'peak RSS MB': res.peakRssMb.toFixed(0),
      'RSS growth MB': res.rssGrowthMb.toFixed(0),
      alerts: res.alerts,
    });
    if (rows.length === 1) {
      console.log(
        `mix: ${res.lines} lines, ${(res.bytes / 1e6).toFixed(0)} MB (${Math.round(res.bytes / res.lines)} bytes/line), ${res.alerts} alerts (${((100 * res.alerts) / res.lines).toFixed(2)}%); input block in memory: ${res.blockMb.toFixed(0)} MB`,
      );
    }
  }
  console.table(rows);
}

await main();
