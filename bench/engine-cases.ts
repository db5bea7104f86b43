/**
 * The cases of bench/engine.ts, run inside the namespace it made (see there). Refuses to run in
 * the host's network namespace. Every measured path is warm or alternates with its comparison
 * (the warm-ups are listed in bench/engine.ts), so that the order of the cases does not decide
 * the result.
 */
import { statSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText, type Config } from '../src/config/config.ts';
import { Daemon } from '../src/cli/commands/daemon.ts';
import { AlertQueue, startSources, sourcesSchema, LineParser, type Alert } from '../src/ingest/index.ts';
import { silentLogger } from '../src/log.ts';
import { applyRuleset } from '../src/nft/apply.ts';
import { loadTemplates, renderRuleset } from '../src/nft/ruleset.ts';
import { NftRunner } from '../src/nft/runner.ts';
import { openNftSession } from '../src/nft/session.ts';
import { parsePrefix } from '../src/net/ip.ts';
import { Store } from '../src/store/store.ts';

if (
  !process.env.NFTSENTRY_HOST_NETNS_INODE ||
  String(statSync('/proc/self/ns/net').ino) === process.env.NFTSENTRY_HOST_NETNS_INODE
) {
  throw new Error('bench/engine-cases.ts runs only inside the namespace bench/engine.ts creates');
}
const quick = process.argv.includes('--quick');
const BURST = quick ? 10_000 : 100_000;
const MEMORY_BANS = quick ? 100_000 : 1_000_000;
const PER_PROCESS = quick ? 200 : 1000;
const LATENCY_ALERTS = quick ? 1000 : 3000;

const runner = new NftRunner({ forbidHostNetns: false });
const dir = mkdtempSync(join(tmpdir(), 'nftsentry-bench-'));
const log = silentLogger();
const TEMPLATE =
  '{"timestamp":"2025-08-12T18:29:48.732867+0000","flow_id":1189257252974275,"in_iface":"ens5","event_type":"alert","src_ip":"85.255.233.2","src_port":47687,"dest_ip":"172.31.32.173","dest_port":22,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2001219,"rev":20,"signature":"ET SCAN Potential SSH Scan","category":"Attempted Information Leak","severity":2}}';

const out = (s: string) => process.stdout.write(`${s}\n`);
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
/** The i-th address of 100.64.0.0/10 (CGNAT space; only ever a set element here). */
const addr = (i: number) => `100.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;
let dbN = 0;
function config(extra = '', storePath = `${dir}/state${++dbN}.db`): Readonly<Config> {
  return parseConfigText(
    // The cap (policy.max_active_bans) above the most bans any case holds (1M in the memory case).
    `home_networks: [172.31.0.0/16]\nservices: { tcp: [22] }\napi: { enabled: false }\nstore: { path: "${storePath}" }\npolicy: { max_active_bans: 2000000 }\n${extra}`,
  );
}
function alertFrom(i: number): Alert {
  const p = new LineParser({ format: 'eve' });
  const line = Buffer.from(TEMPLATE.replace('85.255.233.2', addr(i)));
  const r = p.parse(line, 0, line.length, Date.now());
  if (r.kind !== 'alert') throw new Error('template did not parse');
  return r.alert;
}
async function kernelCount(set = 'ban4'): Promise<number> {
  const j = await runner.json(['list', 'set', 'inet', 'nftsentry', set]);
  const s = j.nftables.find((o) => 'set' in o)?.set as { elem?: unknown[] } | undefined;
  return s?.elem?.length ?? 0;
}

async function runnerChoice(): Promise<void> {
  out('\n## 1. runner: one small transaction');
  await applyRuleset(config(), { runner });
  // Warm-ups, not counted: nft's binary and libraries in the page cache, the session started.
  for (let i = 0; i < 10; i++)
    await runner.runScript(`add element inet nftsentry ban4 { ${addr(2000 + i)} timeout 60s }\n`);
  const file: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await runner.runScript(`add element inet nftsentry ban4 { ${addr(i)} timeout 60s }\n`);
    file.push(performance.now() - t);
  }
  const session = openNftSession(runner);
  const started = performance.now();
  await session.run([`add element inet nftsentry ban4 { ${addr(2010)} timeout 60s }`]);
  const co: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const t = performance.now();
    await session.run([`add element inet nftsentry ban4 { ${addr(1000 + i)} timeout 60s }`]);
    co.push(performance.now() - t);
  }
  const total = performance.now() - started;
  session.close();
  out(`nft -f FILE (tmpfs), 200 runs:  p50 ${ms(pct(file, 50))}  p99 ${ms(pct(file, 99))}`);
  // The machine's floor: a round trip through a pipe to \`cat\`, with 1 ms pauses like 1k alerts/s.
  const cat = spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
  let wake: (() => void) | null = null;
  cat.stdout.on('data', () => wake?.());
  const floor: number[] = [];
  for (let i = -10; i < 1000; i++) {
    const t = performance.now();
    await new Promise<void>((r) => {
      wake = r;
      cat.stdin.write('x\n');
    });
    if (i >= 0) floor.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 1));
  }
  cat.stdin.end();
  out(
    `floor of this machine, a pipe round trip to cat with 1 ms pauses: p50 ${ms(pct(floor, 50))}  p99 ${ms(pct(floor, 99))}  max ${ms(Math.max(...floor))}`,
  );
  out(
    `nft -i co-process, 1000 runs:  p50 ${ms(pct(co, 50))}  p99 ${ms(pct(co, 99))}  (1000 transactions in ${ms(total)}, start included)`,
  );
}

const latencyP99s: Record<number, number[]> = { 1: [], 2: [] };
let latencyRuns = 0;

/**
 * `pipeline`: backlog transactions in flight at once (2, the default, or 1: the comparison).
 * `warmup`: a first run whose numbers are printed as such and kept out of the p99 summary.
 */
async function latency(coprocess: boolean, pipeline = 2, warmup = false): Promise<void> {
  const run = ++latencyRuns;
  const sock = join(dir, `eve-${run}.sock`);
  const cfg = config(
    `engine: { coprocess_max_elements: ${coprocess ? 512 : 0}, pipeline: ${pipeline}${process.env.BENCH_TIMERS ?? ''} }`,
    process.env.BENCH_MEMSTORE ? ':memory:' : undefined,
  );
  const queue = new AlertQueue(100_000);
  // Each run starts from an empty table: the bans of the runs before would otherwise be adopted
  // from the kernel by this run's start (its store is new), in the background, while it measures.
  await runner.run(['flush', 'ruleset']);
  const engine = new Daemon(cfg, { log, nft: runner });
  const sources = sourcesSchema.parse({ inputs: [{ type: 'unix_stream', path: sock }] });
  const ingest = await startSources(sources, queue, { log, db: engine.db });
  await engine.start();
  await engine.sync.reconciled;
  // As `nftsentry run` does before it takes the first alert.
  await engine.warmUp.run(cfg, engine.allowlist.effective(), () => false);
  const consumer = (async () => {
    for await (const batch of queue) engine.enforcer.handleAlerts(batch);
  })();
  const lat: number[] = [];
  const nftMs: number[] = [];
  const base = 200_000 + run * 10_000;
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const stalls: string[] = [];
  const gcs: string[] = [];
  const gcObs = new PerformanceObserver((l) => {
    for (const e of l.getEntries())
      if (e.duration > 3)
        gcs.push(`${((performance.timeOrigin + e.startTime) % 100000).toFixed(0)}+${e.duration.toFixed(0)}`);
  });
  gcObs.observe({ entryTypes: ['gc'] });
  const tasks: string[] = [];
  if (process.env.BENCH_TRACE) {
    const e = engine as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const name of ['heal', 'pollKernelScanners', 'expireNow', 'refreshOwnAddresses']) {
      const orig = e[name]!.bind(engine);
      e[name] = (...a: unknown[]) => {
        const t = performance.timeOrigin + performance.now();
        const r = orig(...a);
        tasks.push(`${name}@${(t % 100000).toFixed(0)}+${(performance.timeOrigin + performance.now() - t).toFixed(1)}`);
        return r;
      };
    }
  }
  const spawnAt = performance.timeOrigin + performance.now();
  let lastTick = performance.timeOrigin + performance.now();
  const stallTimer = setInterval(() => {
    const t = performance.timeOrigin + performance.now();
    if (t - lastTick > 6) stalls.push(`${(lastTick % 100000).toFixed(0)}+${(t - lastTick).toFixed(0)}`);
    lastTick = t;
  }, 1);
  // The sender is its own process (as Suricata is), so its timers do not share our event loop.
  const kernelAt = new Map<string, number>();
  engine.flusher.onBansSent = (targets) => {
    const t = performance.timeOrigin + performance.now();
    nftMs.push(engine.flusher.stats.lastDurationMs);
    for (const k of targets) kernelAt.set(k, t);
  };
  const sender = spawn(process.execPath, ['bench/engine-sender.ts', sock, String(LATENCY_ALERTS), String(base)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let senderOut = '';
  sender.stdout.setEncoding('utf8');
  sender.stdout.on('data', (d: string) => (senderOut += d));
  await new Promise((r) => sender.once('exit', r));
  const end = Date.now() + 10_000;
  while (kernelAt.size < LATENCY_ALERTS && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  const report = JSON.parse(senderOut) as { sent: Array<[string, number]>; rate: number };
  for (const [a, at] of report.sent) {
    const k = kernelAt.get(a);
    if (k !== undefined) lat.push(k - at);
  }
  const rate = report.rate;
  clearInterval(stallTimer);
  gcObs.disconnect();
  if (process.env.BENCH_TRACE) {
    const slow = report.sent.map(([a, at]) => [at, (kernelAt.get(a) ?? NaN) - at] as const).filter(([, l]) => l > 5);
    out(
      `  slow (send%1e5 +latency): ${slow.map(([at, l]) => `${(at % 100000).toFixed(0)}+${l.toFixed(0)}`).join(' ')}`,
    );
    out(
      `  loop stalls (at%1e5 +gap): ${stalls.join(' ')}; gc pauses: ${gcs.join(' ')}; sender spawned at ${(spawnAt % 100000).toFixed(0)}`,
    );
    out(`  tasks (sync part): ${tasks.join(' ')}`);
  }
  if (coprocess && !warmup) latencyP99s[pipeline]!.push(pct(lat, 99));
  const label = warmup
    ? 'warm-up run, not counted (nft -i, 2 in flight)'
    : !coprocess
      ? 'nft -f FILE only (baseline)'
      : pipeline === 2
        ? 'nft -i, 2 in flight (chosen)'
        : 'nft -i, 1 in flight (comparison)';
  out(
    `${label}: ${lat.length}/${LATENCY_ALERTS} alerts at ${rate.toFixed(0)}/s, ` +
      `p50 ${ms(pct(lat, 50))}  p99 ${ms(pct(lat, 99))}  max ${ms(Math.max(...lat))}  (${engine.flusher.stats.transactions} transactions)`,
  );
  loopDelay.disable();
  out(
    `  nft time per transaction: p50 ${ms(pct(nftMs, 50))}  p99 ${ms(pct(nftMs, 99))}  max ${ms(Math.max(...nftMs))}; ` +
      `event loop delay p99 ${ms(loopDelay.percentile(99) / 1e6)} max ${ms(loopDelay.max / 1e6)}`,
  );
  await ingest.stop();
  queue.close();
  await consumer;
  await engine.stop();
}

async function burstOnce(cfg: Readonly<Config>, alerts: Alert[], label: string, counted = true): Promise<Daemon> {
  await runner.run(['flush', 'ruleset']);
  const engine = new Daemon(cfg, { log, nft: runner });
  await engine.start();
  let inKernelMs = 0;
  const t0 = performance.now();
  const timeline: string[] = [];
  engine.flusher.onBansSent = () => {
    inKernelMs = performance.now() - t0;
    timeline.push(`${engine.flusher.stats.lastBatch}@${inKernelMs.toFixed(0)}`);
  };
  // As the daemon consumes its queue: batches of up to 1024 alerts, the event loop turning in
  // between (so nft works on one batch while the next ones are decided).
  let decideCpuMs = 0;
  for (let i = 0; i < alerts.length; i += 1024) {
    const c = performance.now();
    for (const a of alerts.slice(i, i + 1024)) engine.enforcer.handleAlert(a);
    decideCpuMs += performance.now() - c;
    await new Promise((r) => setImmediate(r));
  }
  await engine.flushed();
  const totalMs = performance.now() - t0;
  const n = await kernelCount();
  out(
    `${label}: all ${n} in the kernel after ${ms(inKernelMs)} (${engine.flusher.stats.transactions} transactions; deciding ${ms(decideCpuMs)} of the main thread), store written after ${ms(totalMs)}`,
  );
  if (process.env.BENCH_TIMELINE) out(`  transactions (elements@done ms): ${timeline.join(' ')}`);
  if (counted) burstTimes.push(inKernelMs);
  return engine;
}

const burstTimes: number[] = [];

async function burstAndRestore(): Promise<void> {
  out(`\n## 3. ${BURST} distinct bans from a burst of alerts into the kernel`);
  const cfg = config('engine: { kernel_scan_poll_ms: 60000, heal_poll_ms: 60000 }');
  const alerts = Array.from({ length: BURST }, (_, i) => alertFrom(i));
  const runs = quick ? 1 : 3;
  let engine!: Daemon;
  // Run 0 warms the decide path, the store's statements and nft's cache; it is not counted.
  for (let r = 0; r <= runs; r++) {
    if (r > 0) await engine.stop();
    engine = await burstOnce(
      config('engine: { kernel_scan_poll_ms: 60000, heal_poll_ms: 60000 }'),
      alerts,
      r === 0 ? 'warm-up run, not counted' : `run ${r}`,
      r > 0,
    );
  }
  await engine.stop();
  engine = await burstOnce(cfg, alerts, `run ${runs + 1} (its store is used for the restore below)`);
  out(
    `burst into the kernel: median ${ms(pct(burstTimes, 50))}, best ${ms(Math.min(...burstTimes))}, worst ${ms(Math.max(...burstTimes))}`,
  );
  // Baseline: one `nft add element` process per ban (after 5 uncounted ones).
  for (let i = 0; i < 5; i++)
    await runner.run(['add', 'element', 'inet', 'nftsentry', 'ban4', `{ ${addr(600_000 + i)} timeout 3600s }`]);
  const t1 = performance.now();
  for (let i = 0; i < PER_PROCESS; i++)
    await runner.run(['add', 'element', 'inet', 'nftsentry', 'ban4', `{ ${addr(500_000 + i)} timeout 3600s }`]);
  const perProcMs = performance.now() - t1;
  out(
    `baseline, one nft process per ban: ${PER_PROCESS} bans in ${ms(perProcMs)} (${ms(perProcMs / PER_PROCESS)} each) -> ${BURST} extrapolated: ${((perProcMs * (BURST / PER_PROCESS)) / 1000).toFixed(1)} s`,
  );
  await runner.run(['flush', 'set', 'inet', 'nftsentry', 'ban4']);
  await engine.stop();
  await runner.runScript(
    `add element inet nftsentry ban4 { ${alerts.map((a) => `${a.src.ip} timeout 3600s`).join(', ')} }\n`,
  );

  out(`\n## 4. restore of ${BURST} bans at start`);
  engine = new Daemon(cfg, { log, nft: runner });
  let t = performance.now();
  await engine.start();
  out(
    `daemon restart, the kernel still holds them: start() in ${ms(performance.now() - t)} (store read + one add transaction of every ban, nothing flushed); kernel holds ${await kernelCount()}`,
  );
  await engine.sync.reconciled;
  out(
    `  full reconcile against the kernel (read back ${BURST} elements, adopt unknown ones) done in the background ${ms(performance.now() - t)} after start`,
  );
  await engine.stop();
  await runner.run(['flush', 'ruleset']);
  engine = new Daemon(cfg, { log, nft: runner });
  t = performance.now();
  await engine.start();
  out(
    `after a reboot, empty kernel: start() in ${ms(performance.now() - t)} (ruleset + store read + every ban with its remaining time); kernel holds ${await kernelCount()}`,
  );
  await engine.stop();
  t = performance.now();
  await runner.runScript(
    `flush set inet nftsentry ban4\nadd element inet nftsentry ban4 { ${alerts.map((a) => `${a.src.ip} timeout 3600s`).join(', ')} }\n`,
  );
  out(
    `baseline, flush + re-add of the set in one transaction (no store read, no reconcile): ${ms(performance.now() - t)}`,
  );
}

async function memory(): Promise<void> {
  out(`\n## 5. memory with ${MEMORY_BANS} bans recorded (dry-run: memory + store, kernel untouched)`);
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  const cfg = config('engine: { dry_run: true }');
  const engine = new Daemon(cfg, { log, nft: runner, store: new Store(cfg.store.path) });
  await engine.start();
  gc();
  const before = process.memoryUsage();
  const t = performance.now();
  for (let i = 0; i < MEMORY_BANS; i += 10_000) {
    for (let j = i; j < Math.min(MEMORY_BANS, i + 10_000); j++) {
      engine.operations
        .ban({ address: parsePrefix(addr(j))!, durationSec: 3600, reason: 'bench' })
        .catch(() => undefined);
    }
    await engine.flushed();
  }
  const took = performance.now() - t;
  gc();
  const after = process.memoryUsage();
  const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
  out(`baseline (empty engine): heap ${mb(before.heapUsed)}, rss ${mb(before.rss)}`);
  const fileMb =
    statSync(cfg.store.path).size +
    (() => {
      try {
        return statSync(`${cfg.store.path}-wal`).size;
      } catch {
        return 0;
      }
    })();
  out(`store file: ${mb(fileMb)} (with WAL)`);
  out(
    `${engine.ledger.activeCount} bans recorded in ${(took / 1000).toFixed(1)} s: heap ${mb(after.heapUsed)} (+${mb(after.heapUsed - before.heapUsed)}), rss ${mb(after.rss)} (+${mb(after.rss - before.rss)}); ` +
      `${((after.heapUsed - before.heapUsed) / engine.ledger.activeCount).toFixed(0)} heap bytes per ban`,
  );
  await engine.stop();
}

/**
 * Case 6: nft 1.0.6 reads every plain interval set of every table before any element change;
 * bannet4/bannet6 and the config sets are concatenations so that it skips them. Measured with
 * this version's ruleset and, as the baselines, (a) the same ruleset with the plain interval
 * bannet4/bannet6 put back and (b) the older version's whole ruleset (plain interval bannet4/6
 * and ten plain interval config sets: test/fixtures/ruleset-plain-bannet.nft); one loaded at a
 * time, since the read covers every table.
 */
async function prefixBansHeld(): Promise<void> {
  const sizes = quick ? [0, 1000] : [0, 1000, 10_000];
  const runs = quick ? 200 : 500;
  out(
    `\n## 6. one ban transaction through nft -i while bannet4 holds 0 / 1,000 / 10,000 prefix bans (${runs} transactions each)`,
  );
  const current = renderRuleset(config(), loadTemplates());
  const plain = current
    .replace('set bannet4 { type ipv4_addr . inet_proto;', 'set bannet4 { type ipv4_addr;')
    .replace('set bannet6 { type ipv6_addr . inet_proto;', 'set bannet6 { type ipv6_addr;')
    .replace('ip saddr . ip protocol @bannet4', 'ip saddr @bannet4')
    .replace('ip6 saddr . ip6 nexthdr @bannet6', 'ip6 saddr @bannet6');
  if (/set bannet[46] \{ type ipv[46]_addr \. inet_proto/.test(plain))
    throw new Error('the baseline ruleset still has a concatenated bannet set');
  const older = readFileSync(
    join(fileURLToPath(new URL('..', import.meta.url)), 'test/fixtures/ruleset-plain-bannet.nft'),
    'utf8',
  );
  const definitions = [
    { label: 'this version (all concatenations)', script: current, any: ' . 0-255' },
    { label: 'baseline a: plain interval bannet4/6', script: plain, any: '' },
    { label: 'baseline b: older version (bannet4/6 and 10 config sets plain)', script: older, any: '' },
  ];
  for (const d of definitions) {
    await runner.run(['flush', 'ruleset']);
    await runner.runScript(d.script);
    for (const n of sizes) {
      await runner.run(['flush', 'set', 'inet', 'nftsentry', 'bannet4']);
      const held = Array.from({ length: n }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24${d.any} timeout 3600s`);
      if (n > 0) await runner.runScript(`add element inet nftsentry bannet4 { ${held.join(', ')} }\n`);
      const session = openNftSession(runner);
      await session.run([`add element inet nftsentry ban4 { ${addr(0)} timeout 60s }`]);
      const single: number[] = [];
      const prefix: number[] = [];
      for (let i = 0; i < runs; i++) {
        let t = performance.now();
        await session.run([`add element inet nftsentry ban4 { ${addr(1 + i)} timeout 60s }`]);
        single.push(performance.now() - t);
        t = performance.now();
        await session.run([
          `add element inet nftsentry bannet4 { 100.${64 + (i >> 8)}.${i & 255}.0/24${d.any} timeout 60s }`,
        ]);
        prefix.push(performance.now() - t);
      }
      session.close();
      await runner.run(['flush', 'set', 'inet', 'nftsentry', 'ban4']);
      out(
        `${d.label}, ${String(n).padStart(5)} held: single address (ban4) p50 ${ms(pct(single, 50))}  p99 ${ms(pct(single, 99))}; ` +
          `a prefix (bannet4) p50 ${ms(pct(prefix, 50))}  p99 ${ms(pct(prefix, 99))}`,
      );
    }
  }
  await runner.run(['flush', 'ruleset']);
}

try {
  out(
    `# nftsentry engine benchmarks${quick ? ' (--quick)' : ''}: ${new Date().toISOString()}, node ${process.version}`,
  );
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
  if (!only || only === 'runner') await runnerChoice();
  if (!only || only === 'latency') {
    out(
      `\n## 2. alert-to-kernel latency at 1k alerts/s (unix_stream -> parse -> decide -> nft), ${LATENCY_ALERTS} alerts, each a new ban`,
    );
    // A warm-up run first (the first daemon of this process starts cold: JIT, store, nft), then
    // alternating, so that both see the same VM: 2 in flight (chosen) and 1 in flight.
    await latency(true, 2, true);
    for (let r = 0; r < (quick ? 1 : 3); r++) {
      await latency(true, 2);
      if (!quick) await latency(true, 1);
    }
    if (!quick) {
      for (const p of [2, 1]) {
        const runs = latencyP99s[p]!;
        out(
          `p99, ${p} in flight, over ${runs.length} runs: ${runs.map((x) => ms(x)).join(', ')} (median ${ms(pct(runs, 50))})`,
        );
      }
    }
    if (!only) await latency(false);
  }
  if (!only || only === 'burst') await burstAndRestore();
  if (!only || only === 'memory') await memory();
  if (!only || only === 'prefix') await prefixBansHeld();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
