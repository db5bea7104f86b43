/**
 * A fleet on Redis Sentinel: a master and a replica (`--replicaof`, appendonly), three sentinels
 * (quorum 2, down-after 1 s), all in one namespace on one address (198.18.205.1, on
 * loopback) and several ports; two real daemons (`nftsentry run`, real nft) in namespaces of
 * their own, joined to it by veth pairs, each as its ACL user on the data nodes and with the
 * sentinels' password. A ban on A reaches B; the master killed with SIGKILL; the sentinels promote
 * the replica; A bans during and after the failover; B gets every one of them (and keeps the one
 * made before), and the new master has every key. How long the failover took as the nodes saw it,
 * and how many bans A published again at its catch-up (keys lost with the old master), is printed,
 * not asserted.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAddress, linkVeth, Netns } from '../../src/lab/netns.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { readSet } from '../../src/nft/state.ts';
import { apiRequest, type Daemon, pollUntil, startDaemon } from '../engine/daemon-harness.ts';
import { TestRedis } from './redis-harness.ts';
import { TestSentinels } from './sentinel-harness.ts';

const NAMES = ['a', 'b'] as const;
type Name = (typeof NAMES)[number];
const IP = '198.18.205.1';
const MASTER = 'nftsentry';
/** The commands docs/fleet.md's ACL line allows, for fleet `s`. */
const ACL = (n: Name) =>
  `gw-${n} on >pw-${n} resetkeys ~nftsentry:s:* resetchannels -@all +eval +xadd +xread +xrevrange +set +get +mget +del +scan +time +ping +hello +auth +client|setname`.split(
    ' ',
  );

let dir: string;
let rns: Netns;
let master: TestRedis;
let replica: TestRedis;
let sentinels: TestSentinels;
const gw = {} as Record<Name, { ns: Netns; nft: NftRunner; dir: string; config: string }>;
const running = {} as Record<Name, Daemon>;

function config(n: Name): string {
  const d = gw[n].dir;
  const nodes = sentinels.nodes.map((s) => `"${s}"`).join(', ');
  return `home_networks: [10.0.0.0/8]
allowlist: [192.0.2.0/28]
store: { path: ${d}/state.db }
sources: { inputs: [ { type: unix_stream, path: ${d}/eve.sock } ] }
api: { socket: { path: ${d}/api.sock }, token_file: ${d}/api.token }
policy: { rules: [ { name: et-scan, match: { signature_prefix: [ET SCAN] }, ban: 1h } ] }
fleet:
  name: s
  node: gw-${n}
  check: 200ms
  redis:
    url: "redis://gw-${n}:pw-${n}@sentinel"
    sentinel: { name: ${MASTER}, nodes: [${nodes}], password: sentinel-pw }
`;
}

const token = (n: Name) => readFileSync(`${gw[n].dir}/api.token`, 'utf8').trim();
const api = (n: Name, method: string, path: string, body?: unknown) =>
  apiRequest(`${gw[n].dir}/api.sock`, token(n), method, path, body);
const ban4 = async (n: Name) => new Set((await readSet(gw[n].nft, 'ban4')).map((e) => e.key));
const fleetStatus = async (n: Name) =>
  (JSON.parse((await api(n, 'GET', '/v1/status')).text) as { engine: { fleet: Record<string, number | boolean> } })
    .engine.fleet;

async function inKernel(n: Name, targets: readonly string[], what: string, deadlineMs = 30_000) {
  await pollUntil(
    what,
    async () => {
      const have = await ban4(n);
      return targets.every((t) => have.has(t));
    },
    deadlineMs,
    50,
  );
}

/** The time (ms) of the first log line of `n` after `from` saying the master is `addr`. */
function masterLogged(n: Name, addr: string, fromMs: number): number | undefined {
  const line = running[n].logs.find(
    (l) => l.msg === 'redis sentinel: master' && l.master === addr && (l.time as number) >= fromMs,
  );
  return line?.time as number | undefined;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-sentinel-'));
  rns = await Netns.create('redis');
  // One service address for the data nodes and the sentinels, reached from each gateway by a route.
  await addAddress(rns, 'lo', `${IP}/32`);
  for (const [i, n] of NAMES.entries()) {
    const ns = await Netns.create(`gw${n}`);
    await linkVeth(rns, `r${n}`, ns, 'up0');
    await addAddress(rns, `r${n}`, `198.18.204.${i * 4 + 1}/30`);
    await addAddress(ns, 'up0', `198.18.204.${i * 4 + 2}/30`);
    await ns.run('ip', ['route', 'add', `${IP}/32`, 'via', `198.18.204.${i * 4 + 1}`]);
    const d = join(dir, n);
    mkdirSync(d);
    gw[n] = { ns, nft: new NftRunner({ netns: ns.name }), dir: d, config: join(d, 'nftsentry.yaml') };
  }
  const users = NAMES.flatMap((n) => ['--user', ...ACL(n)]);
  mkdirSync(join(dir, 'master'));
  mkdirSync(join(dir, 'replica'));
  master = new TestRedis(rns, join(dir, 'master'), 6379, users);
  replica = new TestRedis(rns, join(dir, 'replica'), 6380, [...users, '--replicaof', IP, '6379']);
  await master.start();
  await replica.start();
  await pollUntil(
    'the replica is in sync',
    async () => /master_link_status:up/.test(await replica.command<string>(['INFO', 'replication'])),
    30_000,
    100,
  );
  sentinels = new TestSentinels(rns, dir, {
    name: MASTER,
    ip: IP,
    masterPort: 6379,
    ports: [26379, 26380, 26381],
    password: 'sentinel-pw',
    downAfterMs: 1000,
    failoverTimeoutMs: 5000,
  });
  await sentinels.start(1);
  for (const n of NAMES) writeFileSync(gw[n].config, config(n));
  for (const n of NAMES) running[n] = startDaemon(gw[n].ns, gw[n].config);
  await Promise.all(NAMES.map((n) => running[n].waitForLog('nftsentry running', 30_000)));
}, 120_000);

afterAll(async () => {
  for (const n of NAMES) if (running[n] && !running[n].done) process.kill(running[n].pid, 'SIGKILL');
  await Promise.all(NAMES.map((n) => running[n]?.exited));
  await sentinels?.kill();
  await master?.kill();
  await replica?.kill();
  for (const n of NAMES) await gw[n]?.ns.delete();
  await rns?.delete();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a fleet on Redis Sentinel', () => {
  it("a ban on A reaches B's kernel through the master the sentinels name", async () => {
    await pollUntil(
      'both nodes connected',
      async () => (await fleetStatus('a')).connected && (await fleetStatus('b')).connected,
      30_000,
    );
    expect((await api('a', 'POST', '/v1/bans', { address: '198.51.100.31', duration: '30m' })).status).toBe(201);
    await inKernel('b', ['198.51.100.31'], "A's ban in B's kernel");
    for (const n of NAMES) expect(masterLogged(n, `${IP}:6379`, 0), n).toBeDefined();
    expect(await replica.command(['EXISTS', 'nftsentry:s:ban:gw-a:198.51.100.31'])).toBe(1);
  });

  it('the master killed (SIGKILL): the replica is promoted, and every ban A made meanwhile reaches B', async () => {
    const targets: string[] = [];
    let stop = false;
    // A bans one new address every 100 ms, before, during and after the failover.
    const banning = (async () => {
      for (let i = 1; !stop && i < 250; i++) {
        const t = `198.18.230.${i}`;
        expect((await api('a', 'POST', '/v1/bans', { address: t, duration: '30m' })).status).toBe(201);
        targets.push(t);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await inKernel('b', ['198.18.230.3'], 'the first bans on B');
    const killedMs = Date.now();
    await master.kill();
    await pollUntil(
      'the sentinels name the replica',
      async () => (await sentinels.agreedMaster()) === `${IP}:6380`,
      30_000,
      100,
    );
    const promotedMs = Date.now();
    const seen = await pollUntil(
      'both nodes follow the new master',
      () => {
        const t = NAMES.map((n) => masterLogged(n, `${IP}:6380`, killedMs));
        return t.every((x) => x !== undefined) ? (t as number[]) : undefined;
      },
      30_000,
    );
    // A few more seconds of bans on the new master, then stop.
    await new Promise((r) => setTimeout(r, 3000));
    stop = true;
    await banning;
    // Every ban, the one made before the test's bans included (a missing key lifts nothing on B).
    await inKernel('b', ['198.51.100.31', ...targets], `all ${targets.length} of A's bans on B`, 30_000);
    const arrivedMs = Date.now();
    // The status is cached (served stale, refreshed behind): wait for one that counts every ban published.
    const a = await pollUntil(
      'A published every ban and its outbox is empty',
      async () => {
        const s = await fleetStatus('a');
        return s.outbox === 0 && (s.published as number) >= targets.length + 1 ? s : undefined;
      },
      30_000,
      200,
    );
    console.log(
      `sentinel failover: sentinels agreed on the replica ${promotedMs - killedMs} ms after SIGKILL; ` +
        `nodes on the new master after ${seen.map((t) => t - killedMs).join(' / ')} ms (A / B); ` +
        `all ${targets.length} bans on B ${arrivedMs - killedMs} ms after SIGKILL; A outboxed ${a.outboxed} events, ` +
        `published ${a.republished} again (keys the failover lost)`,
    );
    const keys = await replica.command<string[]>(['KEYS', 'nftsentry:s:ban:gw-a:198.18.230.*']);
    expect(keys.length).toBe(targets.length);
    expect(await replica.command(['EXISTS', 'nftsentry:s:ban:gw-a:198.51.100.31'])).toBe(1);
  }, 120_000);
});
