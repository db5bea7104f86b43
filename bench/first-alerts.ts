/**
 * The first alerts after a start against the steady state, measured from outside the daemon: the
 * real `nftsentry run` in a fresh network namespace, `nft monitor` in the same namespace, and
 * this process writing ET SCAN alerts (each from its own address) to the daemon's EVE socket at
 * about 1k/s. Latency: from the write of an alert's line to the moment `nft monitor` prints the
 * `add element` of its address (the kernel has committed it).
 *
 * Each start: wait until `/readyz` answers 200, then at once write `--alerts` alerts (the first
 * ones), pause 1 s, then write `--alerts` more (the steady state). Printed: p50/p99/max of each,
 * per start and over all starts. With `--trees=A,B` (source trees, e.g. an export of another
 * commit with node_modules linked in) the starts alternate between the trees, so that the
 * machine's load drifts alike for each, and each tree gets its own summary.
 *
 * With `--source=file` the alerts are appended to an eve.json the daemon follows (a `file`
 * source, created empty before the start) instead of written to the socket; `--source=socket,file`
 * alternates the two (each tree x source is one run per round).
 *
 *   node_modules/.bin/node bench/first-alerts.ts [--starts=6] [--alerts=500] [--rate=1000]
 *     [--source=socket|file|socket,file] [--trees=.]
 *
 * Namespaces are `nfs-<pid>-...` (or NFTSENTRY_NETNS_PREFIX); nft never runs in the host's.
 */
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Netns } from '../src/lab/netns.ts';
import { NODE_BIN } from '../src/lab/node-bin.ts';

/** A real Suricata ET SCAN alert (mauz88__Suricata_Detection/eve.json); src_ip replaced per alert. */
const ET_SCAN =
  '{"timestamp":"2025-08-12T18:29:48.732867+0000","flow_id":1189257252974275,"in_iface":"ens5","event_type":"alert","src_ip":"85.255.233.2","src_port":47687,"dest_ip":"172.31.32.173","dest_port":22,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2001219,"rev":20,"signature":"ET SCAN Potential SSH Scan","category":"Attempted Information Leak","severity":2}}';
const etScanLine = (ip: string) => ET_SCAN.replace('85.255.233.2', ip);

const { values } = parseArgs({
  options: {
    starts: { type: 'string', default: '6' },
    alerts: { type: 'string', default: '500' },
    rate: { type: 'string', default: '1000' },
    trees: { type: 'string', default: '.' },
    source: { type: 'string', default: 'socket' },
  },
});
const STARTS = Number(values.starts);
const ALERTS = Number(values.alerts);
const GAP_MS = 1000 / Number(values.rate);
const TREES = values.trees.split(',');
type Source = 'socket' | 'file';
const SOURCES: Source[] = values.source.split(',').map((x) => (x === 'file' ? 'file' : 'socket'));

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};
const fmt = (xs: number[]): string =>
  `p50 ${pct(xs, 50).toFixed(2)}  p99 ${pct(xs, 99).toFixed(2)}  max ${Math.max(...xs).toFixed(2)} ms  (n=${xs.length})`;
/** Time for a fresh `nft monitor` to subscribe to netlink before the alerts are written. */
const MONITOR_LISTENS_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function get(socketPath: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Addresses that are never this machine's, each used once per run: 198.19.0.0/16. */
const address = (start: number, phase: number, i: number) => {
  const k = ((start * 2 + phase) * ALERTS + i) % 65_536;
  return `198.19.${k >> 8}.${k & 255}`;
};

/**
 * Writes `ips`' alerts at one per GAP_MS on average; returns each write's time, by address. It
 * never spins: between writes the event loop runs, so that the monitor's lines are timed as they
 * come (a timer wakes about every millisecond and writes whatever is due by then).
 */
async function writeAlerts(sink: (line: string) => void, ips: string[]): Promise<Map<string, number>> {
  const wrote = new Map<string, number>();
  const t0 = performance.now();
  let i = 0;
  while (i < ips.length) {
    while (i < ips.length && t0 + i * GAP_MS <= performance.now()) {
      wrote.set(ips[i]!, performance.now());
      sink(`${etScanLine(ips[i]!)}\n`);
      i++;
    }
    await sleep(Math.max(0, t0 + i * GAP_MS - performance.now()));
  }
  return wrote;
}

async function oneStart(
  n: number,
  tree: string,
  SOURCE: Source,
): Promise<{ first: number[]; steady: number[]; readyMs: number }> {
  const ns = await Netns.create('firstalerts');
  const dir = mkdtempSync(join(tmpdir(), 'nftsentry-first-'));
  try {
    const cfg = join(dir, 'nftsentry.yaml');
    writeFileSync(
      cfg,
      `store: { path: ${dir}/state.db }
api: { socket: { path: ${dir}/api.sock }, token_file: ${dir}/api.token }
sources: { inputs: [ ${
        SOURCE === 'file'
          ? `{ type: file, name: eve, path: ${dir}/eve.json }`
          : `{ type: unix_stream, name: suricata, path: ${dir}/eve.sock }`
      } ] }
`,
    );
    const seen = new Map<string, number>();
    // nft 1.0.6's monitor crashes (SIGSEGV) when the daemon's ruleset replaces a set it saw: it
    // is started again at once, and the alerts wait until the one running has had time to listen.
    let monitor: ReturnType<typeof ns.spawn> | null = null;
    let monitorSince = 0;
    let stopping = false;
    const startMonitor = () => {
      const m = ns.spawn('stdbuf', ['-oL', 'nft', 'monitor', 'elements'], { buffer: false, stdout: 'pipe' });
      monitor = m;
      monitorSince = performance.now();
      let partial = '';
      m.stdout!.setEncoding('utf8');
      m.stdout!.on('data', (d: string) => {
        const now = performance.now();
        const lines = (partial + d).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) {
          const hit = /^add element inet nftsentry ban4 \{ (198\.19\.\d+\.\d+) /.exec(l);
          if (hit && !seen.has(hit[1]!)) seen.set(hit[1]!, now);
        }
      });
      void m.then(() => {
        if (!stopping) startMonitor();
      });
    };
    startMonitor();
    await sleep(MONITOR_LISTENS_MS);
    if (SOURCE === 'file') writeFileSync(`${dir}/eve.json`, '');
    const started = performance.now();
    const daemon = ns.spawn(NODE_BIN, ['src/cli/main.ts', '-c', cfg, 'run'], {
      cwd: tree,
      env: {
        NFTSENTRY_FORBID_HOST_NETNS: '1',
        NFTSENTRY_HOST_NETNS_INODE: String(statSync('/proc/self/ns/net').ino),
        NFTSENTRY_LOG_LEVEL: process.env.BENCH_LOG ?? 'warn',
      },
      buffer: false,
      stdout: 'ignore',
      stderr: 'inherit',
    });
    const deadline = performance.now() + 30_000;
    while ((await get(`${dir}/api.sock`, '/readyz')) !== 200) {
      if (performance.now() > deadline) throw new Error('the daemon was not ready within 30 s');
      await sleep(5);
    }
    const readyMs = performance.now() - started;
    while (performance.now() - monitorSince < MONITOR_LISTENS_MS) await sleep(5);
    let sink: (line: string) => void;
    let closeSink: () => void;
    if (SOURCE === 'file') {
      // One write(2) per line to eve.json, as Suricata's line-buffered file output does.
      const fd = openSync(`${dir}/eve.json`, 'a');
      sink = (line) => writeSync(fd, line);
      closeSink = () => closeSync(fd);
    } else {
      const sock = connect(`${dir}/eve.sock`);
      await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
      sink = (line) => sock.write(line);
      closeSink = () => sock.destroy();
    }
    const phase = async (p: number): Promise<number[]> => {
      const ips = Array.from({ length: ALERTS }, (_, i) => address(n, p, i));
      const wrote = await writeAlerts(sink, ips);
      const until = performance.now() + 10_000;
      while (ips.some((ip) => !seen.has(ip)) && performance.now() < until) await sleep(20);
      const lost = ips.filter((ip) => !seen.has(ip)).length;
      if (lost > 0) process.stderr.write(`start ${n} phase ${p}: ${lost} alerts not seen in the kernel\n`);
      const lat = ips.filter((ip) => seen.has(ip)).map((ip) => seen.get(ip)! - wrote.get(ip)!);
      if (process.env.BENCH_SERIES) console.log(lat.map((x) => x.toFixed(1)).join(' '));
      return lat;
    };
    const first = await phase(0);
    await sleep(1000);
    const steady = await phase(1);
    closeSink();
    daemon.kill('SIGTERM');
    await daemon;
    stopping = true;
    const last = monitor as ReturnType<typeof ns.spawn> | null;
    last?.kill('SIGTERM');
    await last;
    return { first, steady, readyMs };
  } finally {
    await ns.delete();
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs = TREES.flatMap((tree) => SOURCES.map((source) => ({ tree, source, key: `${tree} (${source})` })));
const byRun = new Map(
  runs.map((r) => [
    r.key,
    { first: [] as number[], steady: [] as number[], p99: [] as string[], p99s: [[], []] as number[][] },
  ]),
);
for (let n = 0; n < STARTS; n++) {
  for (const [i, run] of runs.entries()) {
    const r = await oneStart(n * runs.length + i, run.tree, run.source);
    const acc = byRun.get(run.key)!;
    acc.first.push(...r.first);
    acc.steady.push(...r.steady);
    acc.p99.push(`${pct(r.first, 99).toFixed(1)}/${pct(r.steady, 99).toFixed(1)}`);
    acc.p99s[0]!.push(pct(r.first, 99));
    acc.p99s[1]!.push(pct(r.steady, 99));
    console.log(`start ${n + 1} ${run.key}: ready after ${r.readyMs.toFixed(0)} ms`);
    console.log(`  first ${ALERTS}:  ${fmt(r.first)}`);
    console.log(`  steady ${ALERTS}: ${fmt(r.steady)}`);
  }
}
for (const [key, acc] of byRun) {
  console.log(`\n${key}: ${STARTS} starts, alert write -> nft monitor, ${values.rate} alerts/s:`);
  console.log(`  first ${ALERTS} after ready: ${fmt(acc.first)}`);
  console.log(`  steady state:          ${fmt(acc.steady)}`);
  console.log(`  p99 per start, first/steady: ${acc.p99.join('  ')}`);
  // A load spike on a shared machine spoils one start's p99; the median over the starts does not move with it.
  console.log(
    `  median over the starts of the p99: first ${pct(acc.p99s[0]!, 50).toFixed(2)} ms, steady ${pct(acc.p99s[1]!, 50).toFixed(2)} ms`,
  );
}
