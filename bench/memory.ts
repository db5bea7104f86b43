/**
 * Memory per active ban in the real daemon (issue 12, "Bounded growth"): `nftsentry run` as a
 * child process in a network namespace made for the run, N alerts from N distinct sources over its
 * EVE unix socket, and the daemon's RSS (VmRSS of /proc/PID/status, not the heap) once the
 * kernel, the store and the ledger hold every ban:
 *
 *   bytes per ban = (RSS after N bans - RSS of the same daemon idle) / N
 *
 * The reading is taken once a periodic full check (`rules_check_ms`, which reads every ban set
 * back) has run after the last ban settled: its footprint is part of the steady state. Also
 * printed: the peak RSS (VmHWM), the store's files, the kernel's slab memory (Slab of
 * /proc/meminfo: machine-wide, so other work on the machine shows in it), and where the RSS is at
 * idle and after: the V8 heaps of the main thread and of the API worker (committed, in use),
 * their external memory, and the rest (malloc: SQLite, nft's pipes, libuv; the node binary).
 *
 *   node_modules/.bin/node bench/memory.ts [--sizes=10000,100000,1000000] [--family=4|6|both] [--settle=30]
 *
 * Sources: IPv4 inside 198.18.0.0/15 (at most 131,072: up to 100,000 here), IPv6 one /64 each
 * inside 2001:db8::/32 (banned as /64 in ban6net64). They are only ever set elements and text in
 * alerts: no packet is sent. The cap (policy.max_active_bans) is raised above N.
 *
 * The daemon is `src/cli/main.ts` of the working directory: to measure another tree (the code
 * before a change), run this file from that tree's directory.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netns } from '../src/lab/netns.ts';
import { NftRunner } from '../src/nft/runner.ts';
import { apiRequest, type Daemon, pollUntil, sendLines, startDaemon } from '../test/engine/daemon-harness.ts';
import { etScanLine } from './peers/eve.ts';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const SIZES = (arg('sizes') ?? '10000,100000').split(',').map(Number);
const FAMILIES: Array<4 | 6> = arg('family') === '4' ? [4] : arg('family') === '6' ? [6] : [4, 6];
const CHUNK = 50_000;
/**
 * The daemon's V8 flags: as deploy/nftsentry.service and bin/nftsentry start it, unless
 * BENCH_NODE_OPTIONS says otherwise (empty: V8's defaults).
 */
const NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS ?? '--max-semi-space-size=2';
/**
 * glibc's malloc settings, as deploy/nftsentry.service and bin/nftsentry set them, unless
 * BENCH_DAEMON_ENV (`K=V K=V`; empty: glibc's defaults) says otherwise.
 */
const DAEMON_ENV = Object.fromEntries(
  (process.env.BENCH_DAEMON_ENV ?? 'MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=32768')
    .split(' ')
    .filter((kv) => kv.includes('='))
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
/** Whether the daemon measured (src/ of the working directory) has policy.max_active_bans. */
const CAPPED = readFileSync('src/engine/engine-schema.ts', 'utf8').includes('max_active_bans');
/** Seconds between the last ban settled and the reading. */
const SETTLE_S = Number(arg('settle') ?? 30);

/** The i-th source: IPv4 198.18.0.0/15 from 198.18.0.1; IPv6 2001:db8:X:Y::1 (a /64 each). */
function source(family: 4 | 6, i: number): string {
  if (family === 6) return `2001:db8:${((i >>> 16) & 0xffff).toString(16)}:${(i & 0xffff).toString(16)}::1`;
  const n = i + 1;
  return `198.${18 + ((n >>> 16) & 1)}.${(n >>> 8) & 255}.${n & 255}`;
}

const kb = (pid: number, key: string): number => {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
};
/**
 * The process's resident memory by kind of mapping (/proc/PID/smaps): `[heap]` (glibc's main
 * arena), anonymous mappings of 256 KiB (V8's heap pages), other anonymous mappings (V8's large
 * objects, glibc's thread arenas and big allocations, stacks), files (the node binary, libraries).
 */
function rssParts(pid: number): string {
  const parts = { brk: 0, v8pages: 0, anon: 0, file: 0 };
  let kind: keyof typeof parts = 'anon';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const size = Number.parseInt(m[2]!, 16) - Number.parseInt(m[1]!, 16);
      const name = m[3]!.trim();
      kind = name === '[heap]' ? 'brk' : name.startsWith('/') ? 'file' : size === 256 << 10 ? 'v8pages' : 'anon';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) parts[kind] += Number(rss[1]) * 1024;
  }
  return `RSS ${mb(parts.v8pages)} in 256 KiB pages, [heap] ${mb(parts.brk)}, other anon ${mb(parts.anon)}, files ${mb(parts.file)}`;
}

const slab = (): number => Number(/^Slab:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024;
const fileSize = (p: string) => {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
};
const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  n: number;
  family: 4 | 6;
  idle: number;
  after: number;
  hwm: number;
  store: number;
  slab: number;
  kernel: number;
  feedMs: number;
  /** Where the RSS is, idle and at the reading (from /v1/status: memory, apiMemory). */
  heap: string;
  /** RSS every 5 s of the settling. */
  trace: number[];
  /** The heap trims the daemon logged (engine/heap-trim.ts). */
  trims: string[];
}

type Memory = { rss: number; heapTotal: number; heapUsed: number; external: number };

async function rawStatus(api: string, token: string): Promise<{ memory?: Memory; apiMemory?: Memory }> {
  return JSON.parse((await apiRequest(api, token, 'GET', '/v1/status')).text).engine;
}

/** The main thread's and the API worker's heaps, as /v1/status gives them. */
function heapText(s: { memory?: Memory; apiMemory?: Memory }): string {
  const one = (m: Memory | undefined) =>
    m ? `${mb(m.heapUsed)} used of ${mb(m.heapTotal)}, external ${mb(m.external)}` : 'not in status';
  return `main heap ${one(s.memory)}; API worker heap ${one(s.apiMemory)}`;
}

async function measure(ns: Netns, dir: string, n: number, family: 4 | 6): Promise<Row> {
  const name = `m${family}-${n}`;
  const sock = join(dir, `${name}.sock`);
  const api = join(dir, `${name}-api.sock`);
  const store = join(dir, `${name}.db`);
  const config = join(dir, `${name}.yaml`);
  writeFileSync(
    config,
    `home_networks: [198.19.255.0/24, "2001:db8:ffff::/48"]
store: { path: ${store} }
sources: { queue_capacity: ${CHUNK * 2}, inputs: [ { type: unix_stream, path: ${sock} } ] }
api: { socket: { path: ${api} }, token_file: ${join(dir, 'api.token')} }
${n > 100_000 && CAPPED ? `policy: { max_active_bans: ${n} }\n` : ''}`,
  );
  const d: Daemon = startDaemon(ns, config, [], {
    // info: the heap trims are logged there (nothing is logged per ban at info).
    NFTSENTRY_LOG_LEVEL: 'info',
    ...(NODE_OPTIONS ? { NODE_OPTIONS } : {}),
    ...DAEMON_ENV,
  });
  try {
    await pollUntil('API up', () => fileSize(api) >= 0 && statSync(api).isSocket(), 60_000, 100);
    const token = readFileSync(join(dir, 'api.token'), 'utf8').trim();
    const status = async () => JSON.parse((await apiRequest(api, token, 'GET', '/v1/status')).text).engine;
    await pollUntil('daemon running', async () => (await status())?.ruleset?.applied, 60_000, 200);
    await sleep(SETTLE_S * 1000);
    const idle = kb(d.pid, 'VmRSS');
    const heapIdle = `${heapText(await rawStatus(api, token))}; ${rssParts(d.pid)}`;
    const slab0 = slab();
    const t0 = performance.now();
    for (let from = 0; from < n; from += CHUNK) {
      const to = Math.min(n, from + CHUNK);
      await sendLines(
        sock,
        Array.from({ length: to - from }, (_, j) => etScanLine(source(family, from + j))),
      );
      // A status read counts the store's rows by source: with many rows, not too often.
      await pollUntil(`${to} decisions`, async () => (await status()).engine.decisions >= to, 600_000, 1000);
    }
    const settled = await pollUntil(
      `${n} bans in memory, kernel and store`,
      async () => {
        const s = await status();
        return s.bans.active === n &&
          s.engine.nft.pending === 0 &&
          s.store.pendingRows === 0 &&
          s.bans.bySource.suricata === n
          ? s
          : undefined;
      },
      900_000,
      1000,
    );
    const feedMs = performance.now() - t0;
    // A periodic full check after the last ban: the steady state includes its read of every set.
    const checks = settled.engine.fullChecks as number;
    await pollUntil(
      'a full check after the bans',
      async () => (await status()).engine.fullChecks > checks,
      300_000,
      1000,
    );
    // Let the store's batches and the garbage collector settle (V8 gives pages back once the
    // process is quiet), then read: the lowest RSS of the last 10 s of SETTLE_S.
    const samples: number[] = [];
    for (let s = 0; s < SETTLE_S; s++) {
      await sleep(1000);
      samples.push(kb(d.pid, 'VmRSS'));
    }
    // The kernel's own count, read after the RSS (nft lists 1M elements slowly).
    const set = family === 4 ? 'ban4' : 'ban6net64';
    const lister = new NftRunner({ netns: ns.name, timeoutMs: 300_000 });
    const listed = (await lister.run(['list', 'set', 'inet', 'nftsentry', set])).stdout;
    const kernel = (listed.match(/ expires /g) ?? []).length;
    const row: Row = {
      heap: `idle: ${heapIdle}; after: ${heapText(await rawStatus(api, token))}; ${rssParts(d.pid)}`,
      n,
      family,
      idle,
      after: Math.min(...samples.slice(-10)),
      hwm: kb(d.pid, 'VmHWM'),
      store: fileSize(store) + fileSize(`${store}-wal`),
      slab: slab() - slab0,
      kernel,
      feedMs,
      trace: samples.filter((_, i) => i % 5 === 4),
      trims: d.logs
        .filter((l) => l.msg === 'heap trimmed after a burst')
        .map((l) => {
          const c = l.committedMiB as { before: number; after: number };
          return `${c.before} -> ${c.after} MiB in ${l.pauseMs as number} ms`;
        }),
    };
    if (settled.bans.active !== n) throw new Error(`active ${settled.bans.active}, expected ${n}`);
    // BENCH_HOLD=SECONDS: keep the daemon running after the reading (to look at it from outside).
    const hold = Number(process.env.BENCH_HOLD ?? 0);
    if (hold > 0) {
      console.log(`holding daemon pid ${d.pid} for ${hold} s`);
      await sleep(hold * 1000);
    }
    return row;
  } finally {
    process.kill(d.pid, 'SIGTERM');
    await Promise.race([d.exited, sleep(10_000)]);
    if (!d.done) process.kill(d.pid, 'SIGKILL');
    rmSync(store, { force: true });
    rmSync(`${store}-wal`, { force: true });
    rmSync(`${store}-shm`, { force: true });
  }
}

const ns = await Netns.create('maxmem');
const dir = mkdtempSync(join(tmpdir(), 'nftsentry-bench-memory-'));
const cleanup = () => void ns.delete();
process.once('SIGINT', cleanup);
const rows: Row[] = [];
try {
  for (const n of SIZES) {
    for (const family of FAMILIES) {
      if (family === 4 && n > 131_070) continue;
      // A fresh table for each run: the kernel's sets empty.
      await new NftRunner({ netns: ns.name }).run(['delete', 'table', 'inet', 'nftsentry']).catch(() => undefined);
      const r = await measure(ns, dir, n, family);
      rows.push(r);
      console.log(
        `IPv${family} ${n} bans: RSS idle ${mb(r.idle)}, after ${mb(r.after)} (peak ${mb(r.hwm)}): ` +
          `${Math.round((r.after - r.idle) / n)} bytes/ban; store ${mb(r.store)}; kernel ${r.kernel} elements, ` +
          `slab +${mb(r.slab)}; fed and settled in ${(r.feedMs / 1000).toFixed(1)} s; ` +
          `RSS every 5 s after: ${r.trace.map((b) => (b / 1048576).toFixed(0)).join(' ')}; ${r.heap}; ` +
          `heap trims: ${r.trims.join(', ') || 'none'}`,
      );
    }
  }
} finally {
  await ns.delete();
  rmSync(dir, { recursive: true, force: true });
}
console.log('\n| bans | family | RSS idle | RSS after | bytes/ban | peak RSS | store | kernel elements | slab delta |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.n.toLocaleString('en')} | IPv${r.family} | ${mb(r.idle)} | ${mb(r.after)} | ${Math.round((r.after - r.idle) / r.n)} | ${mb(r.hwm)} | ${mb(r.store)} | ${r.kernel.toLocaleString('en')} | ${mb(r.slab)} |`,
  );
}
