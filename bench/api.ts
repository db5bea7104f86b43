/**
 * API latency benchmark: request latency with no ingest load (the baseline), then the same
 * requests while 50k alerts/s go through the real path (unix_stream source -> parser -> queue ->
 * Engine decisions -> nft batches in a namespace), in one run.
 *
 *   node_modules/.bin/node bench/api.ts [--rates=0,50000] [--seconds=10] [--interval-ms=10] [--main-thread] [--slow-polls] [--no-journal] [--sse] [--profile=DIR]
 *
 * --no-journal: the decision journal off, for comparison.
 * --sse: a live-event subscriber (GET /v1/events, as an open dashboard) reads all along.
 *
 * The daemon (`nftsentry run`: sources, engine, API) runs inside a network namespace made for
 * the run; nft only ever runs there. The API listens on a unix socket; the alert feeder
 * (bench/api-feeder.ts) is its own process. Requests are sequential, one connection each (as
 * curl or the CLI), paced every --interval-ms, rotating over: GET /v1/bans?limit=50,
 * GET /v1/bans/:address, GET /v1/status, GET /metrics, POST /v1/bans and DELETE /v1/bans/:address.
 * Goal: p99 under 50 ms under load.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { Netns } from '../src/lab/netns.ts';
import { NODE_BIN } from '../src/lab/node-bin.ts';
/** The live-event subscriber in a process of its own (bench/sse-subscriber.ts), as a browser. */
async function subscriberProcess(socketPath: string, token: string): Promise<{ stop: () => Promise<number> }> {
  const child = execa(NODE_BIN, [join(REPO, 'bench', 'sse-subscriber.ts'), socketPath, token], { buffer: false });
  let out = '';
  child.stdout?.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (c: string) => {
      out += c;
      if (out.includes('subscribed\n')) resolve();
    });
    child.catch(reject);
  });
  return {
    stop: async () => {
      child.kill('SIGTERM');
      await child.catch(() => undefined);
      return Number(out.split('\n').filter(Boolean).at(-1)) || 0;
    },
  };
}

const REPO = fileURLToPath(new URL('..', import.meta.url));
function arg(name: string, fallback: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : fallback;
}
/** Ingest rates of the phases, in order; 0 is the baseline (no ingest). */
const RATES = (process.argv.find((x) => x.startsWith('--rates='))?.slice(8) ?? '0,50000')
  .split(',')
  .map((r) => Math.min(Math.max(0, Number(r) || 0), 500_000));
const SECONDS = Math.min(arg('seconds', 10), 60);
const INTERVAL_MS = Math.max(1, arg('interval-ms', 10));
/**
 * --slow-polls: the engine's periodic nft reads (self-healing probe, kernel scanners poll) every
 * 60 s / 600 s instead of 0.5 s / 1 s: shows how much of the latency comes from those processes.
 */
const SLOW_POLLS = process.argv.includes('--slow-polls');
/** --no-journal: the decision journal off (journal.enabled: false), to see what it costs. */
const NO_JOURNAL = process.argv.includes('--no-journal');
/** --main-thread: the API in the daemon's main thread (api.worker: false), for comparison. */
const MAIN_THREAD = process.argv.includes('--main-thread');
/** --profile=DIR: the daemon writes a V8 CPU profile there when it stops. */
const PROFILE_DIR = process.argv.find((x) => x.startsWith('--profile='))?.slice('--profile='.length);
/** --node-args="--max-semi-space-size=32 ...": extra Node/V8 flags for the daemon, to compare. */
const NODE_ARGS = (process.argv.find((x) => x.startsWith('--node-args='))?.slice('--node-args='.length) ?? '')
  .split(' ')
  .filter(Boolean);

interface Sample {
  route: string;
  ms: number;
  status: number;
}

let socketPath = '';
let token = '';

function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        method,
        path,
        agent: false,
        timeout: 10_000,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown = text;
          try {
            json = JSON.parse(text);
          } catch {
            // metrics text
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${path} got no answer in 10 s`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

type Kind = 'read' | 'write';
const READS: Array<[string, () => Promise<number>]> = [
  ['GET /v1/bans?limit=50', async () => (await call('GET', '/v1/bans?limit=50')).status],
  ['GET /v1/bans/:address', async () => (await call('GET', '/v1/bans/198.19.0.7')).status],
  ['GET /v1/status', async () => (await call('GET', '/v1/status')).status],
  ['GET /metrics', async () => (await call('GET', '/metrics')).status],
];
const WRITES: Array<[string, () => Promise<number>]> = [
  [
    'POST /v1/bans',
    async () => (await call('POST', '/v1/bans', { address: '198.18.200.7', duration: '10m', reason: 'bench' })).status,
  ],
  ['DELETE /v1/bans/:address', async () => (await call('DELETE', '/v1/bans/198.18.200.7')).status],
];
const ROUTES = [...READS, ...WRITES];
const WRITE_INTERVAL_MS = 200;

/** One closed loop: sequential requests over `routes`, one every `intervalMs` (or slower). */
async function loop(
  kind: Kind,
  routes: typeof READS,
  intervalMs: number,
  seconds: number,
): Promise<Array<Sample & { kind: Kind }>> {
  const out: Array<Sample & { kind: Kind }> = [];
  const started = performance.now();
  for (let i = 0; performance.now() - started < seconds * 1000; i++) {
    const [route, run] = routes[i % routes.length]!;
    const t0 = performance.now();
    const status = await run();
    const ms = performance.now() - t0;
    out.push({ kind, route, ms, status });
    const wait = t0 + intervalMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return out;
}

/** Reads (every INTERVAL_MS) and writes (a ban/unban pair every 2 x 200 ms) side by side. */
async function measure(seconds: number): Promise<Array<Sample & { kind: Kind }>> {
  const [reads, writes] = await Promise.all([
    loop('read', READS, INTERVAL_MS, seconds),
    loop('write', WRITES, WRITE_INTERVAL_MS, seconds),
  ]);
  return [...reads, ...writes];
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

function summary(label: string, kind: Kind, all: Array<Sample & { kind: Kind }>) {
  const samples = all.filter((s) => s.kind === kind);
  const ms = samples.map((s) => s.ms);
  const bad = samples.filter((s) => s.status >= 500 || s.status === 0).length;
  return {
    phase: label,
    kind,
    requests: samples.length,
    errors5xx: bad,
    p50: pct(ms, 50),
    p90: pct(ms, 90),
    p99: pct(ms, 99),
    max: Math.max(...ms),
  };
}

async function alertCounts(): Promise<{ alerts: number; dropped: number; bans: number; decisions: number }> {
  const s = (await call('GET', '/v1/status')).json;
  const src = (s.sources ?? []) as Array<{ alerts: number; dropped: number }>;
  return {
    alerts: src.reduce((a, x) => a + x.alerts, 0),
    dropped: src.reduce((a, x) => a + x.dropped, 0),
    bans: s.bans?.total ?? 0,
    decisions: (s.engine?.engine?.decisions as number | undefined) ?? 0,
  };
}

async function main(): Promise<void> {
  const ns = await Netns.create('bench');
  const dir = mkdtempSync(join(tmpdir(), 'nftsentry-bench-api-'));
  try {
    socketPath = join(dir, 'api.sock');
    const eve = join(dir, 'eve.sock');
    const config = join(dir, 'nftsentry.yaml');
    writeFileSync(
      config,
      [
        'store:',
        `  path: ${join(dir, 'state.db')}`,
        'sources:',
        '  queue_capacity: 200000',
        '  inputs:',
        '    - type: unix_stream',
        `      path: ${eve}`,
        'api:',
        '  socket:',
        `    path: ${socketPath}`,
        `  token_file: ${join(dir, 'api.token')}`,
        `  worker: ${!MAIN_THREAD}`,
        ...(SLOW_POLLS ? ['engine:', '  heal_poll_ms: 60000', '  kernel_scan_poll_ms: 600000'] : []),
        ...(NO_JOURNAL ? ['journal:', '  enabled: false'] : []),
        '',
      ].join('\n'),
    );
    const nodeArgs = [...NODE_ARGS, ...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [])];
    const daemon = ns.spawn(NODE_BIN, [...nodeArgs, join(REPO, 'src', 'cli', 'main.ts'), '-c', config, 'run'], {
      env: {
        NFTSENTRY_FORBID_HOST_NETNS: '0',
        NFTSENTRY_HOST_NETNS_INODE: String(statSync('/proc/self/ns/net').ino),
        NFTSENTRY_LOG_LEVEL: 'warn',
      },
      buffer: false,
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (Date.now() > deadline || daemon.exitCode !== null) throw new Error('the daemon did not start');
      const ready = await new Promise<boolean>((resolve) => {
        const req = request({ socketPath, path: '/readyz', agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        });
        req.on('error', () => resolve(false));
        req.end();
      });
      if (ready) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    token = readFileSync(join(dir, 'api.token'), 'utf8').trim();

    console.log(
      `load average before: ${readFileSync('/proc/loadavg', 'utf8').trim()} (${availableParallelism()} CPUs)`,
    );
    console.log(
      `api bench: node ${process.version}, ${SECONDS} s per phase, reads every ${INTERVAL_MS} ms and a write every ${WRITE_INTERVAL_MS} ms side by side, phases at ${RATES.join(', ')} alerts/s, API in the ${MAIN_THREAD ? 'main thread (--main-thread)' : 'worker thread'}${NODE_ARGS.length ? `, daemon flags ${NODE_ARGS.join(' ')}` : ''}${SLOW_POLLS ? ', engine polls slowed (--slow-polls)' : ''}`,
    );
    const sse = process.argv.includes('--sse') ? await subscriberProcess(socketPath, token) : null;
    await measure(1); // warm-up (JIT, first nft transaction)
    const phases: Array<{ rate: number; samples: Array<Sample & { kind: Kind }>; ingest: string }> = [];
    for (const rate of RATES) {
      if (rate === 0) {
        phases.push({ rate, samples: await measure(SECONDS), ingest: '-' });
        continue;
      }
      const feeder = execa(
        NODE_BIN,
        [join(REPO, 'bench', 'api-feeder.ts'), eve, String(rate), String((SECONDS + 3) * 1000)],
        { reject: false },
      );
      await new Promise((r) => setTimeout(r, 1500)); // the first burst of bans, then a steady stream
      const before = await alertCounts();
      const t0 = performance.now();
      const samples = await measure(SECONDS);
      const elapsed = (performance.now() - t0) / 1000;
      const after = await alertCounts();
      const fed = JSON.parse(
        String((await feeder).stdout)
          .trim()
          .split('\n')
          .at(-1) ?? '{}',
      );
      const ingest =
        `${Math.round((after.alerts - before.alerts) / elapsed).toLocaleString('en-US')} alerts/s received, ` +
        `${Math.round((after.decisions - before.decisions) / elapsed).toLocaleString('en-US')} decisions/s, ${after.dropped - before.dropped} queue drops, ` +
        `${after.bans} bans active; feeder ${fed.ratePerSec}/s, ${fed.stalls} backpressure stalls`;
      phases.push({ rate, samples, ingest });
      await new Promise((r) => setTimeout(r, 2000)); // let the backlog drain before the next phase
    }
    const label = (rate: number) => (rate === 0 ? 'baseline (no ingest)' : `${rate} alerts/s`);
    const rows = phases.flatMap((p) => [
      summary(label(p.rate), 'read', p.samples),
      summary(label(p.rate), 'write', p.samples),
    ]);
    console.table(
      rows.map((r) => ({
        ...r,
        p50: r.p50.toFixed(2),
        p90: r.p90.toFixed(2),
        p99: r.p99.toFixed(2),
        max: r.max.toFixed(2),
      })),
    );
    console.table(
      ROUTES.map(([route]) =>
        Object.fromEntries([
          ['route', route],
          ...phases.map((p) => [
            `${label(p.rate)} p99 ms`,
            pct(
              p.samples.filter((s) => s.route === route).map((s) => s.ms),
              99,
            ).toFixed(2),
          ]),
        ]),
      ),
    );
    for (const p of phases) if (p.rate > 0) console.log(`${label(p.rate)}: ${p.ingest}`);
    const top = rows.filter((r) => r.kind === 'read').at(-1)!;
    const base = rows.find((r) => r.kind === 'read')!;
    console.log(
      `goal: read p99 < 50 ms at ${RATES.at(-1)} alerts/s -> ${top.p99 < 50 ? 'met' : 'NOT met'} (${top.p99.toFixed(2)} ms; baseline ${base.p99.toFixed(2)} ms)`,
    );
    if (sse) console.log(`live events: a subscriber process read ${await sse.stop()} events`);
    console.log(`load average after: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  } finally {
    await ns.delete();
    // The profile is written as the daemon exits (SIGTERM from ns.delete).
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
