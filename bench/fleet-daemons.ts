/**
 * Fleet propagation between real daemons: `nftsentry run` in two namespaces (gw-a, gw-b), each
 * joined by a veth pair to a third running Debian's redis-server (appendonly, TCP). gw-a is sent
 * BANS ET SCAN alerts from new addresses at RATE per second over its unix_stream source; an
 * `nft monitor` in each gateway's namespace sees the ban elements land. Prints one JSON line:
 * p50/p90/p99/max (ms) from the alert's send to the element in gw-a's kernel (`onA`) and in
 * gw-b's (`propagation`), and how many arrived. Addresses in 198.19.0.0/16 (benchmark range).
 *
 * usage: node bench/fleet-daemons.ts [BANS=1000] [RATE=1000]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createClient } from 'redis';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addAddress, linkVeth, Netns } from '../src/lab/netns.ts';
import { type Daemon, etScanFrom, startDaemon } from '../test/engine/daemon-harness.ts';
import { TestRedis } from '../test/fleet/redis-harness.ts';

const bans = Math.min(Number(process.argv[2] ?? 1000), 20_000);
const rate = Math.min(Number(process.argv[3] ?? 1000), 10_000);
const dir = mkdtempSync(join(tmpdir(), 'nftsentry-bench-fleetd-'));
const rns = await Netns.create('redis');
const gws: Netns[] = [];
const daemons: Daemon[] = [];
const monitors: Array<ReturnType<typeof spawn>> = [];
const redis = new TestRedis(rns, join(dir, 'redis'), 6379);
mkdirSync(join(dir, 'redis'));
try {
  await redis.start();
  for (const [i, n] of ['a', 'b'].entries()) {
    const ns = await Netns.create(`gw${n}`);
    gws.push(ns);
    await linkVeth(rns, `r${n}`, ns, 'up0');
    await addAddress(rns, `r${n}`, `198.18.200.${i * 4 + 1}/30`);
    await addAddress(ns, 'up0', `198.18.200.${i * 4 + 2}/30`);
    const d = join(dir, n);
    mkdirSync(d);
    writeFileSync(
      join(d, 'nftsentry.yaml'),
      `home_networks: [10.0.0.0/8]
store: { path: ${d}/state.db }
sources: { inputs: [ { type: unix_stream, path: ${d}/eve.sock } ] }
api: { socket: { path: ${d}/api.sock }, token_file: ${d}/api.token }
policy: { rules: [ { name: et-scan, match: { signature_prefix: [ET SCAN] }, ban: 1h } ] }
fleet: { name: bench, node: gw-${n}, redis: { url: "redis://198.18.200.${i * 4 + 1}:6379" } }
`,
    );
    const daemon = startDaemon(ns, join(d, 'nftsentry.yaml'), [], { NFTSENTRY_LOG_LEVEL: 'warn' });
    daemons.push(daemon);
  }
  // Each has written its API token once it is up (its logs are at warn: no "running" line).
  await Promise.all(
    [0, 1].map((i) =>
      (async () => {
        for (let t = 0; t < 300; t++) {
          try {
            if (statSync(join(dir, ['a', 'b'][i]!, 'api.token')).size > 0) return;
          } catch {
            // not yet
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error('a daemon did not start');
      })(),
    ),
  );
  await new Promise((r) => setTimeout(r, 2000));
  const seen = [new Map<string, number>(), new Map<string, number>()];
  for (const [i, ns] of gws.entries()) {
    const m = spawn('ip', ['netns', 'exec', ns.name, 'nft', 'monitor', 'elements'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    monitors.push(m);
    let partial = '';
    m.stdout!.setEncoding('utf8');
    m.stdout!.on('data', (chunk: string) => {
      const now = performance.now();
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        if (!l.startsWith('add element inet nftsentry ban4')) continue;
        for (const ip of l.match(/198\.19\.\d+\.\d+/g) ?? []) if (!seen[i]!.has(ip)) seen[i]!.set(ip, now);
      }
    });
  }
  // A reader of the stream beside the nodes: when each ban reached Redis.
  const inRedis = new Map<string, number>();
  const reader = createClient({ socket: { path: redis.socket, tls: false }, RESP: 2 });
  await reader.connect();
  let reading = true;
  const readLoop = (async () => {
    let pos = '$';
    while (reading) {
      const r = (await reader.sendCommand([
        'XREAD',
        'BLOCK',
        '200',
        'STREAMS',
        'nftsentry:bench:events',
        pos,
      ])) as Array<[string, Array<[string, string[]]>]> | null;
      const now = performance.now();
      for (const [id, f] of r?.[0]?.[1] ?? []) {
        pos = id;
        const t = f[f.indexOf('target') + 1];
        if (t && !inRedis.has(t)) inRedis.set(t, now);
      }
    }
  })();
  await new Promise((r) => setTimeout(r, 500));
  const ip = (k: number) => `198.19.${(k >> 8) & 0xff}.${k & 0xff}`;
  const sentAt = new Map<string, number>();
  const sock = connect({ path: join(dir, 'a', 'eve.sock') });
  await new Promise((r) => sock.once('connect', r));
  const start = performance.now();
  for (let k = 0; k < bans; k++) {
    const due = start + (k * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    sentAt.set(ip(k + 1), performance.now());
    sock.write(`${etScanFrom(ip(k + 1))}\n`);
  }
  for (let t = 0; t < 150 && seen[1]!.size < bans; t++) await new Promise((r) => setTimeout(r, 100));
  sock.end();
  reading = false;
  await readLoop;
  reader.destroy();
  const pct = (m: Map<string, number>) => {
    const xs = [...sentAt].flatMap(([a, t0]) => (m.has(a) ? [m.get(a)! - t0] : [])).sort((x, y) => x - y);
    const q = (p: number) => Number((xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN).toFixed(2));
    return { arrived: xs.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), maxMs: q(1) };
  };
  console.log(JSON.stringify({ bans, rate, onA: pct(seen[0]!), inRedis: pct(inRedis), propagation: pct(seen[1]!) }));
} finally {
  for (const m of monitors) m.kill('SIGTERM');
  for (const d of daemons) if (!d.done) process.kill(d.pid, 'SIGTERM');
  await Promise.all(daemons.map((d) => d.exited));
  await redis.kill();
  for (const ns of gws) await ns.delete();
  await rns.delete();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
