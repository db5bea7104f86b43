/**
 * What a Redis failover (asynchronous replication) or a long partition does to the fleet, on
 * Debian's redis-server in a namespace and three in-process Daemons on FakeNft. gw-a reaches Redis
 * through a symlink to its socket: removing the link and killing gw-a's connections partitions
 * gw-a alone, putting the link back ends the partition.
 * - A ban's key and stream entry vanish (a write the old master had not replicated): gw-b keeps
 *   the ban at its catch-up, and gw-a's catch-up publishes it again with its expiry.
 * - `unban --fleet` on gw-c while gw-a is away, the stream trimmed meanwhile: gw-a's ban decided
 *   before the unban is lifted on gw-a and not brought back, neither by its catch-up nor by its
 *   outbox; a ban decided after the unban goes out as usual.
 */
import { rmSync, symlinkSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netns } from '../../src/lab/netns.ts';
import { parsePrefix } from '../../src/net/ip.ts';
import { pollUntil } from '../engine/daemon-harness.ts';
import { type Node, startNode, stopNode } from './fleet-helpers.ts';
import { TestRedis } from './redis-harness.ts';

let ns: Netns;
let redis: TestRedis;
let dir: string;
let aLink: string;
const nodes: Node[] = [];
let a: Node;
let b: Node;
let c: Node;
const P = (t: string) => parsePrefix(t)!;
const num = (n: Node, k: string) => n.fleet.stats()[k] as number;

/** Kills the connections of one node (CLIENT KILL by id, named nftsentry-<node>[-read]). */
async function killClients(node: string): Promise<void> {
  const list = await redis.command<string>(['CLIENT', 'LIST']);
  for (const line of list.split('\n')) {
    const id = /\bid=(\d+)/.exec(line)?.[1];
    const name = /\bname=(\S*)/.exec(line)?.[1];
    if (id && (name === `nftsentry-${node}` || name === `nftsentry-${node}-read`))
      await redis.command(['CLIENT', 'KILL', 'ID', id]).catch(() => undefined);
  }
}

async function has(n: Node, target: string): Promise<boolean> {
  return (await n.ban4()).includes(target);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-failover-'));
  ns = await Netns.create('redis');
  redis = new TestRedis(ns, dir);
  await redis.start();
  aLink = join(dir, 'a.sock');
  symlinkSync(redis.socket, aLink);
  a = await startNode('gw-a', { dir, redisSocket: aLink });
  b = await startNode('gw-b', { dir, redisSocket: redis.socket });
  c = await startNode('gw-c', { dir, redisSocket: redis.socket });
  nodes.push(a, b, c);
  await pollUntil('every node synced once', () => nodes.every((n) => num(n, 'resyncs') >= 1), 15_000);
}, 30_000);

afterAll(async () => {
  for (const n of nodes) await stopNode(n).catch(() => undefined);
  await redis?.kill();
  await ns?.delete();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('fleet: writes lost at a failover, unbans while a node is away', () => {
  it("a ban's key and stream entry lost: B keeps it at its catch-up, A publishes it again with its expiry", async () => {
    const x = '198.51.100.120';
    await a.daemon.operations.ban({ address: P(x), durationSec: 1800, reason: 'lost at a failover' });
    await pollUntil('B has it', () => has(b, x), 10_000);
    const keyName = `nftsentry:t:ban:gw-a:${x}`;
    // As an unreplicated write vanishes: the key and the stream entry.
    const entries = await redis.command<Array<[string, string[]]>>(['XRANGE', 'nftsentry:t:events', '-', '+']);
    for (const [id, f] of entries) if (f.includes(x)) await redis.command(['XDEL', 'nftsentry:t:events', id]);
    expect(await redis.command(['DEL', keyName])).toBe(1);

    // B first: its catch-up sees the key missing (A has not published it again yet).
    const bResyncs = num(b, 'resyncs');
    await killClients('gw-b');
    await pollUntil("B's catch-up ran", () => num(b, 'resyncs') > bResyncs, 15_000);
    expect(await has(b, x)).toBe(true);
    expect(await redis.command(['EXISTS', keyName])).toBe(0);

    // Then A: its catch-up finds its key missing and publishes the ban again, and only that one.
    const aRepublished = num(a, 'republished');
    await killClients('gw-a');
    await pollUntil('the key is back', async () => (await redis.command(['EXISTS', keyName])) === 1, 15_000);
    expect(num(a, 'republished') - aRepublished).toBe(1);
    const value = JSON.parse(await redis.command<string>(['GET', keyName])) as { exp: string };
    expect(Math.abs(Number(value.exp) - a.expiryWall(x)!)).toBeLessThanOrEqual(2000);
    expect(await has(b, x)).toBe(true);
    expect(await has(c, x)).toBe(true);
  }, 60_000);

  it('unban --fleet on C while A is away and the stream is trimmed: nothing comes back; a later ban goes out', async () => {
    const y = '198.51.100.121';
    const z = '198.51.100.122';
    await a.daemon.operations.ban({ address: P(y), durationSec: 1800, reason: 'before the partition' });
    await pollUntil('B and C have it', async () => (await has(b, y)) && (await has(c, y)), 10_000);

    // A partitioned: no way to Redis, and its connections cut.
    rmSync(aLink);
    await killClients('gw-a');
    await pollUntil('A is away', () => !a.fleet.stats().connected, 10_000);
    // A bans Z alone (queued in its outbox), then C unbans both fleet-wide.
    await a.daemon.operations.ban({ address: P(z), durationSec: 1800, reason: 'during the partition' });
    await pollUntil("Z in A's outbox", () => num(a, 'outbox') >= 1, 10_000);
    await c.daemon.operations.unban(P(y), { fleet: true });
    await c.daemon.operations.unban(P(z), { fleet: true });
    await c.fleet.flushed();
    await pollUntil('B lifted Y', async () => !(await has(b, y)), 10_000);
    for (const t of [y, z]) expect(await redis.command<number>(['PTTL', `nftsentry:t:unban:${t}`])).toBeGreaterThan(0);
    // The partition outlasts the stream: A cannot learn the unbans from it.
    await redis.command(['XTRIM', 'nftsentry:t:events', 'MAXLEN', '0']);

    const aResyncs = num(a, 'resyncs');
    symlinkSync(redis.socket, aLink);
    await pollUntil("A's catch-up ran", () => num(a, 'resyncs') > aResyncs, 15_000);
    await pollUntil('A lifted Y and Z', async () => !(await has(a, y)) && !(await has(a, z)), 10_000);
    expect(num(a, 'outbox')).toBe(0);
    expect(num(a, 'refused')).toBeGreaterThanOrEqual(1);
    for (const t of [y, z]) {
      expect(await redis.command(['KEYS', `nftsentry:t:ban:*:${t}`])).toEqual([]);
      for (const n of [b, c]) expect(await has(n, t), `${n.name} ${t}`).toBe(false);
    }

    // A's next catch-up brings nothing back either.
    const again = num(a, 'resyncs');
    await killClients('gw-a');
    await pollUntil("A's next catch-up ran", () => num(a, 'resyncs') > again, 15_000);
    expect(await redis.command(['KEYS', `nftsentry:t:ban:*:${y}`])).toEqual([]);

    // A ban decided after the unban is no resurrection: it goes out and lands on B.
    await a.daemon.operations.ban({ address: P(z), durationSec: 600, reason: 'after the unban' });
    await pollUntil('B has the new ban', () => has(b, z), 10_000);
    expect(await redis.command(['EXISTS', `nftsentry:t:ban:gw-a:${z}`])).toBe(1);
  }, 90_000);
});
