/**
 * Three gateways of a fleet (real Daemons on in-memory FakeNft, each with its own store and
 * clock; gw-c's clock an hour ahead) and Debian's redis-server with persistence, in a namespace:
 * a ban on A (API, alert, kernel detection) lands on B and C as `fleet:gw-a` with A's expiry;
 * `unban --fleet` lifts it everywhere, a local unban only on A; B's allowlist refuses a fleet ban
 * (counted, logged with the entry); Redis away while A bans, then back: nothing lost; Redis wiped:
 * every node publishes again and all converge; a node restarted gets A's bans with A's expiry;
 * hostile stream entries are counted and change nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netns } from '../../src/lab/netns.ts';
import { parsePrefix } from '../../src/net/ip.ts';
import { pollUntil } from '../engine/daemon-harness.ts';
import { alert } from '../engine/helpers.ts';
import { type Node, startNode, stopNode } from './fleet-helpers.ts';
import { TestRedis } from './redis-harness.ts';

const HOUR = 3_600_000;
let ns: Netns;
let redis: TestRedis;
let dir: string;
const nodes: Record<string, Node> = {};
const P = (t: string) => parsePrefix(t)!;

async function node(name: string, offsetMs = 0, allow: string[] = []): Promise<Node> {
  nodes[name] = await startNode(name, { dir, redisSocket: redis.socket, offsetMs, allow });
  return nodes[name];
}

/** Every one of `targets` is in each node's kernel ban set. */
async function everywhere(ns: readonly Node[], targets: readonly string[], what: string, deadlineMs = 10_000) {
  await pollUntil(
    what,
    async () => {
      for (const n of ns) {
        const have = new Set(await n.ban4());
        if (!targets.every((t) => have.has(t))) return false;
      }
      return true;
    },
    deadlineMs,
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-fleet-'));
  ns = await Netns.create('redis');
  redis = new TestRedis(ns, dir);
  await redis.start();
  await node('gw-a');
  await node('gw-b', 0, ['198.51.100.77']);
  await node('gw-c', HOUR);
}, 30_000);

afterAll(async () => {
  for (const n of Object.values(nodes)) await stopNode(n).catch(() => undefined);
  await redis?.kill();
  await ns?.delete();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('fleet', () => {
  it("a ban on A by API, alert and kernel detection lands on B and C as fleet:gw-a with A's expiry", async () => {
    const { 'gw-a': a, 'gw-b': b, 'gw-c': c } = nodes as Record<string, Node>;
    await a!.daemon.operations.ban({ address: P('198.51.100.1'), durationSec: 600, reason: 'by hand' });
    a!.daemon.enforcer.handleAlert(alert({ srcIp: '198.51.100.2' }));
    a!.daemon.enforcer.handleKernelScan('198.51.100.3', 'trap_port');
    const targets = ['198.51.100.1', '198.51.100.2', '198.51.100.3'];
    await everywhere([a!, b!, c!], targets, "A's three bans on every node");
    for (const n of [b!, c!]) {
      const v = n.daemon.operations.getBan(P('198.51.100.1'));
      expect(v?.source).toBe('fleet:gw-a');
      expect(v?.reason).toContain('manual');
      for (const t of targets) {
        // The same moment in wall time, whatever each node's clock says (gw-c is an hour ahead).
        expect(Math.abs(n.expiryWall(t)! - a!.expiryWall(t)!), `${n.name} ${t}`).toBeLessThanOrEqual(1000);
      }
    }
    expect(b!.daemon.operations.getBan(P('198.51.100.3'))?.reason).toContain('kernel:scan');
    // Not published back: A's own bans stay A's.
    expect(a!.daemon.operations.getBan(P('198.51.100.2'))?.source).toBe('suricata');
  });

  it('unban --fleet lifts everywhere; a local unban only on A', async () => {
    const { 'gw-a': a, 'gw-b': b, 'gw-c': c } = nodes as Record<string, Node>;
    await a!.daemon.operations.unban(P('198.51.100.2'));
    expect(await a!.ban4()).not.toContain('198.51.100.2');
    await c!.daemon.operations.unban(P('198.51.100.1'), { fleet: true });
    await pollUntil('the fleet unban on A and B', async () => {
      for (const n of [a!, b!, c!]) if ((await n.ban4()).includes('198.51.100.1')) return false;
      return true;
    });
    // The local unban stayed local.
    expect(await b!.ban4()).toContain('198.51.100.2');
    expect(await c!.ban4()).toContain('198.51.100.2');
    expect(await redis.command(['KEYS', 'nftsentry:t:ban:*:198.51.100.1'])).toEqual([]);
  });

  it("a fleet ban of an address on B's allowlist is not applied on B: counted and logged with the entry", async () => {
    const { 'gw-a': a, 'gw-b': b, 'gw-c': c } = nodes as Record<string, Node>;
    const before = b!.daemon.enforcer.stats.snapshot().skips.allowlisted ?? 0;
    await a!.daemon.operations.ban({ address: P('198.51.100.77'), durationSec: 600, reason: 'x' });
    await everywhere([c!], ['198.51.100.77'], 'on C');
    await pollUntil('B counted the skip', () => (b!.daemon.enforcer.stats.snapshot().skips.allowlisted ?? 0) > before);
    expect(await b!.ban4()).not.toContain('198.51.100.77');
    const line = b!.logs.find((l) => l.msg === 'fleet: ban not applied here' && l.target === '198.51.100.77');
    expect(line).toMatchObject({ why: 'allowlisted', allowEntry: '198.51.100.77/32', fromNode: 'gw-a' });
  });

  it('Redis away while A bans 100 addresses, then back: B and C get all 100', async () => {
    const { 'gw-a': a, 'gw-b': b, 'gw-c': c } = nodes as Record<string, Node>;
    await redis.stop();
    const targets = Array.from({ length: 100 }, (_, i) => `198.18.${10 + Math.floor(i / 50)}.${(i % 50) + 1}`);
    for (const t of targets) a!.daemon.enforcer.handleAlert(alert({ srcIp: t }));
    await a!.daemon.flushed();
    await pollUntil('A queued them in its outbox', () => (a!.fleet.stats().outbox as number) >= 100, 15_000);
    await new Promise((r) => setTimeout(r, 10_000 - 2_000));
    expect(await b!.ban4()).not.toContain(targets[0]);
    await redis.start();
    await everywhere([b!, c!], targets, 'all 100 on B and C', 15_000);
    expect(a!.fleet.stats().outbox).toBe(0);
  }, 60_000);

  it('Redis hung (SIGSTOP) while A bans: commands time out, the outbox keeps them, all arrive after SIGCONT', async () => {
    const { 'gw-a': a, 'gw-b': b } = nodes as Record<string, Node>;
    redis.signal('SIGSTOP');
    const targets = Array.from({ length: 20 }, (_, i) => `198.18.12.${i + 1}`);
    try {
      for (const t of targets) a!.daemon.enforcer.handleAlert(alert({ srcIp: t }));
      await a!.daemon.flushed();
      await pollUntil('A put them in its outbox', () => (a!.fleet.stats().outbox as number) >= 20, 15_000);
    } finally {
      redis.signal('SIGCONT');
    }
    await everywhere([b!], targets, 'all 20 on B', 15_000);
  }, 40_000);

  it('Redis restarted with its data wiped: every node publishes again, all converge', async () => {
    const { 'gw-a': a, 'gw-b': b, 'gw-c': c } = nodes as Record<string, Node>;
    await b!.daemon.operations.ban({ address: P('198.51.100.50'), durationSec: 900, reason: 'b' });
    await everywhere([a!, c!], ['198.51.100.50'], "B's ban on A and C");
    await redis.kill();
    await redis.start({ wipe: true });
    await pollUntil(
      'the nodes published again',
      async () => {
        const keys = await redis.command<string[]>(['KEYS', 'nftsentry:t:ban:*']);
        return (
          keys.includes('nftsentry:t:ban:gw-b:198.51.100.50') && keys.includes('nftsentry:t:ban:gw-a:198.51.100.3')
        );
      },
      15_000,
    );
    // A node that joins now rebuilds the whole fleet from the keys.
    const d = await node('gw-d');
    await everywhere([d], ['198.51.100.3', '198.51.100.50', '198.18.10.1'], 'gw-d has everything', 15_000);
    expect(Math.abs(d.expiryWall('198.51.100.50')! - b!.expiryWall('198.51.100.50')!)).toBeLessThanOrEqual(1000);
  }, 60_000);

  it("a node restarted gets A's bans made while it was away, with A's expiry", async () => {
    const { 'gw-a': a } = nodes as Record<string, Node>;
    await stopNode(nodes['gw-b']!);
    const targets = Array.from({ length: 20 }, (_, i) => `198.18.20.${i + 1}`);
    for (const t of targets) await a!.daemon.operations.ban({ address: P(t), durationSec: 1200, reason: 'away' });
    const b = await node('gw-b', 0, ['198.51.100.77']);
    await everywhere([b], targets, "B has A's bans", 5_000);
    for (const t of targets) expect(Math.abs(b.expiryWall(t)! - a!.expiryWall(t)!)).toBeLessThanOrEqual(2000);
    // What B had before is kept from its store (restored), not doubled.
    expect(await b.ban4()).toContain('198.51.100.3');
  }, 30_000);

  it('hostile stream entries are counted as bad and change nothing', async () => {
    const { 'gw-a': a } = nodes as Record<string, Node>;
    const before = a!.fleet.stats().bad as number;
    const bans = await a!.ban4();
    const stream = 'nftsentry:t:events';
    const base = [
      'v',
      '1',
      'eid',
      'x.1',
      'node',
      'evil',
      'type',
      'ban',
      'exp',
      '9999999999999',
      'source',
      'manual',
      'reason',
      'r',
    ];
    await redis.command(['XADD', stream, '*', ...base, 'target', '198.51.100.9 } ; flush ruleset']);
    await redis.command([
      'XADD',
      stream,
      '*',
      ...base.map((v) => (v === 'evil' ? 'no/slash' : v)),
      'target',
      '198.51.100.9',
    ]);
    await redis.command(['XADD', stream, '*', 'garbage', '1']);
    await redis.command([
      'XADD',
      stream,
      '*',
      ...base.map((v) => (v === 'manual' ? 'fleet:x' : v)),
      'target',
      '198.51.100.9',
    ]);
    await pollUntil('A counted the bad entries', () => (a!.fleet.stats().bad as number) >= before + 4);
    expect(await a!.ban4()).toEqual(bans);
  });
});
