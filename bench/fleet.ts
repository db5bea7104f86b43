/**
 * Fleet propagation: how long from a ban decided on gw-a to its element in gw-b's kernel.
 * Two daemons in this process (real Daemons, each running real nft in a namespace of its own and
 * with its store file; FAKE=1: on the in-memory FakeNft),
 * Debian's redis-server with appendonly in a namespace of its own (`NFTSENTRY_NETNS_PREFIX`),
 * reached over a unix socket. gw-a decides BANS bans from alerts at RATE per second (paced by the
 * millisecond); gw-b's ban event (fired once its kernel has the element) ends each measurement.
 * Prints one JSON line: p50, p90, p99, max (ms), and how many arrived.
 *
 * usage: node bench/fleet.ts [BANS=1000] [RATE=1000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netns } from '../src/lab/netns.ts';
import { startNode, stopNode } from '../test/fleet/fleet-helpers.ts';
import { TestRedis } from '../test/fleet/redis-harness.ts';
import { alert } from '../test/engine/helpers.ts';

const bans = Math.min(Number(process.argv[2] ?? 1000), 20_000);
const rate = Math.min(Number(process.argv[3] ?? 1000), 10_000);
const dir = mkdtempSync(join(tmpdir(), 'nftsentry-bench-fleet-'));
const ns = await Netns.create('bench');
const redis = new TestRedis(ns, dir);
try {
  await redis.start();
  // Real nft: each daemon's kernel is a namespace of its own (FAKE=1: the in-memory fake instead).
  const fake = process.env.FAKE === '1';
  const nsA = fake ? null : await Netns.create('gwa');
  const nsB = fake ? null : await Netns.create('gwb');
  const a = await startNode('gw-a', { dir, redisSocket: redis.socket, ...(nsA ? { netns: nsA.name } : {}) });
  const b = await startNode('gw-b', { dir, redisSocket: redis.socket, ...(nsB ? { netns: nsB.name } : {}) });
  await new Promise((r) => setTimeout(r, 500));
  const sentAt = new Map<string, number>();
  const took: number[] = [];
  /** Decision to A's own kernel: the part of the propagation that is not the fleet's. */
  const local: number[] = [];
  /** A's ban event (its kernel has the element: what the fleet publishes) to B's: the fleet's own part. */
  const committedAt = new Map<string, number>();
  const fleetOnly: number[] = [];
  a.daemon.ledger.events.subscribe((e) => {
    const t0 = e.type === 'ban' ? sentAt.get(e.address) : undefined;
    if (t0 === undefined) return;
    local.push(performance.now() - t0);
    committedAt.set(e.address, performance.now());
  });
  let arrived!: () => void;
  const all = new Promise<void>((r) => (arrived = r));
  b.daemon.ledger.events.subscribe((e) => {
    if (e.type !== 'ban') return;
    const t0 = sentAt.get(e.address);
    if (t0 === undefined) return;
    took.push(performance.now() - t0);
    fleetOnly.push(performance.now() - (committedAt.get(e.address) ?? t0));
    sentAt.delete(e.address);
    if (took.length === bans) arrived();
  });
  const ip = (i: number) => `198.19.${(i >> 8) & 0xff}.${i & 0xff}`;
  const start = performance.now();
  for (let i = 0; i < bans; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    sentAt.set(ip(i + 1), performance.now());
    a.daemon.enforcer.handleAlert(alert({ srcIp: ip(i + 1) }));
  }
  await Promise.race([all, new Promise((r) => setTimeout(r, 15_000))]);
  const pct = (xs: number[]) => {
    xs.sort((x, y) => x - y);
    const q = (p: number) => Number((xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN).toFixed(2));
    return { p50: q(0.5), p90: q(0.9), p99: q(0.99), maxMs: q(1) };
  };
  console.log(
    JSON.stringify({
      bans,
      rate,
      nft: fake ? 'fake' : 'real',
      arrived: took.length,
      propagation: pct(took),
      onA: pct(local),
      aToB: pct(fleetOnly),
    }),
  );
  await stopNode(a);
  await stopNode(b);
  await nsA?.delete();
  await nsB?.delete();
} finally {
  await redis.kill();
  await ns.delete();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
