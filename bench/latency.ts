/**
 * Alert-to-kernel latency measured from outside the daemon, as a user sees it (issue 13):
 *
 *   node_modules/.bin/node bench/latency.ts [--rate=1000] [--count=3000] [--runs=6] [--first=500]
 *   (or LATENCY_RATE, LATENCY_COUNT, LATENCY_RUNS, LATENCY_FIRST in the environment)
 *
 * The real `nftsentry run` runs in a namespace made for the bench (`nslat-<pid>`) with two
 * sources, a unix_stream socket and an eve.json `file` source (defaults otherwise, API on a unix
 * socket). This process writes real ET SCAN lines, each from a new address (198.18.0.0/15, one
 * in ten from 2001:db8::/32), at `rate` per second, and `nft monitor new elements` in the
 * namespace reports each commit; latency = the monitor's line read here - the write(2) returned.
 *
 * Cases, each `count` alerts: socket (a fresh daemon start, then the lines on one connection),
 * file (a fresh start, the lines appended to eve.json), and the floor: the same kind of lines as
 * `add element` statements written straight into one warm `nft -i` co-process, into the same
 * table (the daemon's ruleset, rendered from the same config). Each case starts from that table
 * empty, the daemon from an empty store. The first `first` alerts after each start are reported
 * apart from the rest (steady). Order: the cases rotate from run to run (floor/socket/file,
 * socket/file/floor, file/floor/socket...), so that no case always goes first; before the first
 * run an uncounted floor pass warms this process, nft and the page cache.
 *
 * Prints one table (n, lost, p50, p99, max, p99 over the floor's p99) and the goals of issue 13
 * as PASS/FAIL lines. About 1.5 minutes with the defaults.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../src/config/config.ts';
import { loadTemplates, renderRuleset } from '../src/nft/ruleset.ts';
import {
  BenchNetns,
  CommitMonitor,
  DaemonProcess,
  openFileWriter,
  openFloor,
  openSocketWriter,
  paced,
  PROBE_TABLE,
  readyz,
} from './latency-rig.ts';
import {
  type BenchTarget,
  benchTarget,
  etScanLine,
  formatTable,
  goalChecks,
  latencies,
  MAX_ADDRESSES,
  type PathName,
  type Summary,
  summarize,
} from './latency-stats.ts';

function option(name: string, fallback: number): number {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const value = Number(flag ?? process.env[`LATENCY_${name.toUpperCase()}`] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}
const RATE = option('rate', 1000);
const COUNT = Math.round(option('count', 3000));
const RUNS = Math.round(option('runs', 6));
const FIRST = Math.round(option('first', 500));
const WARMUP = 200;
const DRAIN_MS = 5000;
// The probe set uses 198.19.255.0/24, the last 256 of the range.
if (WARMUP + 20 * (RUNS + 1) + 3 * RUNS * COUNT > MAX_ADDRESSES - 256)
  throw new Error('count x runs needs more addresses than 198.18.0.0/15');

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SAMPLE = join(REPO, '../shared/samples/mauz88__Suricata_Detection/eve.json');
const TEMPLATE = readFileSync(SAMPLE, 'utf8')
  .split('\n')
  .find((l) => l.includes('"event_type":"alert"') && l.includes('ET SCAN Potential SSH Scan'));
if (!TEMPLATE) throw new Error(`no ET SCAN line in ${SAMPLE}`);

type Case = 'floor' | 'socket' | 'file';
const out = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let nextAddress = 0;
const takeTargets = (n: number): BenchTarget[] => Array.from({ length: n }, () => benchTarget(nextAddress++));

function configText(dir: string): string {
  return [
    'home_networks: [172.31.0.0/16]',
    'services: { tcp: [22] }',
    `store: { path: ${dir}/state.db }`,
    `api: { socket: { path: ${dir}/api.sock }, token_file: ${dir}/api.token }`,
    'sources:',
    '  inputs:',
    `    - { type: unix_stream, path: ${dir}/eve.sock }`,
    `    - { type: file, path: ${dir}/eve.json }`,
    '',
  ].join('\n');
}

const ns = await BenchNetns.create();
const base = mkdtempSync(join(tmpdir(), 'nslat-'));
const ruleset = renderRuleset(parseConfigText(configText(base)), loadTemplates());
let cleaned: Promise<void> | null = null;
const cleanup = () => (cleaned ??= ns.delete().finally(() => rmSync(base, { recursive: true, force: true })));
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));

/** Latencies of one case, split into the first alerts after its start and the rest. */
interface Measured {
  first: number[];
  steady: number[];
  written: number;
}

async function emptyTable(): Promise<void> {
  await ns.nft.run(['delete', 'table', 'inet', 'nftsentry']).catch(() => undefined);
}

/** Sends the i-th target at RATE (`send(i)`) and matches each to the commit of its element's key. */
async function measure(monitor: CommitMonitor, targets: BenchTarget[], send: (i: number) => void): Promise<Measured> {
  const keys = targets.map((t) => t.key);
  const done = await paced(targets.length, RATE, send);
  await monitor.waitSeen(keys, DRAIN_MS);
  const written = keys.map((k, i) => [k, done[i]!] as const);
  if (process.env.LATENCY_TRACE) {
    const all = latencies(written, monitor.seen);
    const tenth = Math.ceil(all.length / 10);
    const parts = Array.from({ length: 10 }, (_, k) => summarize(all.slice(k * tenth, (k + 1) * tenth), tenth));
    out(
      `  trace, p50/max of each tenth in ms: ${parts.map((x) => `${x.p50.toFixed(1)}/${x.max.toFixed(0)}`).join(' ')}`,
    );
  }
  return {
    first: latencies(written.slice(0, FIRST), monitor.seen),
    steady: latencies(written.slice(FIRST), monitor.seen),
    written: written.length,
  };
}

async function floorCase(count: number): Promise<Measured> {
  await emptyTable();
  await ns.nft.runScript(ruleset);
  const monitor = await CommitMonitor.start(ns);
  const floor = openFloor(ns, monitor);
  // Warm: the co-process has started and read the table before the counted targets.
  const warm = takeTargets(20);
  for (const t of warm) floor.send(t);
  await monitor.waitSeen(
    warm.map((t) => t.key),
    DRAIN_MS,
  );
  const targets = takeTargets(count);
  const m = await measure(monitor, targets, (i) => floor.send(targets[i]!));
  floor.close();
  monitor.stop();
  if (floor.errors() > 0) out(`  floor: nft -i reported ${floor.errors()} errors`);
  if (monitor.crashed) out(`  floor: nft monitor died (${monitor.crashed}); the alerts after it count as lost`);
  return m;
}

let starts = 0;
async function daemonCase(via: 'socket' | 'file'): Promise<Measured> {
  await emptyTable();
  const dir = join(base, `start-${++starts}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'eve.json'), '');
  writeFileSync(join(dir, 'nftsentry.yaml'), configText(dir));
  const daemon = new DaemonProcess(ns, join(dir, 'nftsentry.yaml'));
  try {
    await daemon.waitForLog('nftsentry running', 60_000);
    const end = performance.now() + 30_000;
    while ((await readyz(join(dir, 'api.sock'))) !== 200) {
      if (performance.now() > end) throw new Error('daemon: /readyz did not answer 200 within 30 s');
      await sleep(10);
    }
    const monitor = await CommitMonitor.start(ns);
    const writer =
      via === 'socket' ? await openSocketWriter(join(dir, 'eve.sock')) : openFileWriter(join(dir, 'eve.json'));
    const targets = takeTargets(COUNT);
    const lines = targets.map((t) => etScanLine(TEMPLATE!, t.source));
    const m = await measure(monitor, targets, (i) => writer.write(lines[i]!));
    writer.close();
    monitor.stop();
    if (monitor.crashed) out(`  ${via}: nft monitor died (${monitor.crashed}); the alerts after it count as lost`);
    return m;
  } finally {
    const code = await daemon.stop();
    if (code !== 0) out(`  daemon exited with ${code}`);
  }
}

try {
  out(
    `# nftsentry latency from outside: ${new Date().toISOString()}, node ${process.version}, ` +
      `${RATE} alerts/s, ${COUNT} per case, ${RUNS} runs, first ${FIRST} apart; load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
  );
  await ns.nft.runScript(PROBE_TABLE);
  await floorCase(WARMUP);

  const cases: Case[] = ['floor', 'socket', 'file'];
  const samples = new Map<PathName, number[]>();
  const written = new Map<PathName, number>();
  const add = (p: PathName, xs: number[], n: number) => {
    samples.set(p, [...(samples.get(p) ?? []), ...xs]);
    written.set(p, (written.get(p) ?? 0) + n);
  };
  const perRun: string[] = [];
  for (let r = 0; r < RUNS; r++) {
    const order = cases.map((_, k) => cases[(k + r) % cases.length]!);
    const p99s: string[] = [];
    for (const c of order) {
      const m = c === 'floor' ? await floorCase(COUNT) : await daemonCase(c);
      const firstN = Math.min(FIRST, m.written);
      if (c === 'floor') add('floor', [...m.first, ...m.steady], m.written);
      else {
        add(`${c} first`, m.first, firstN);
        add(`${c} steady`, m.steady, m.written - firstN);
      }
      const all = summarize([...m.first, ...m.steady], m.written);
      p99s.push(
        `${c} ${all.p99.toFixed(2)}${c === 'floor' ? '' : ` (first ${summarize(m.first, firstN).p99.toFixed(2)})`}`,
      );
    }
    perRun.push(`run ${r + 1} (${order.join(', ')}): p99 ms ${p99s.join(', ')}`);
  }
  const rows = new Map<PathName, Summary>();
  for (const [p, xs] of samples) rows.set(p, summarize(xs, written.get(p)!));
  const whole = (c: 'socket' | 'file') =>
    summarize(
      [...samples.get(`${c} first`)!, ...samples.get(`${c} steady`)!],
      written.get(`${c} first`)! + written.get(`${c} steady`)!,
    );
  out('');
  out(formatTable(rows, FIRST));
  out('');
  for (const line of perRun) out(line);
  out('');
  for (const g of goalChecks(rows, { socket: whole('socket'), file: whole('file') })) out(g.text);
  out(
    `load average at the end: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await cleanup();
}
