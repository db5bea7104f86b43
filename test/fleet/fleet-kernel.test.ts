/**
 * Three real daemons (`nftsentry run`) in three namespaces, each joined by a veth pair to a fourth
 * that runs Debian's redis-server (appendonly) on TCP, each node as the ACL user docs/fleet.md
 * gives it, gw-c over TLS (rediss://, a CA made by the test); gw-c's wall clock an hour ahead
 * (libfaketime). Asserted with the kernels' own ban sets (`nft -j list set`): a ban by alert and by
 * API on A is in B's and C's kernels with A's time left; `unban --fleet` lifts it everywhere, a local
 * unban only on A; B refuses a fleet ban of its allowlist and logs why; B killed with -9 while A
 * bans, restarted: A's bans with A's expiry soon after it is ready; the redis source (list mode)
 * with the daemon killed -9 mid-stream loses no alert. Times are printed, not asserted.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAddress, linkVeth, Netns } from '../../src/lab/netns.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { readSet, type SetElement } from '../../src/nft/state.ts';
import { apiRequest, type Daemon, etScanFrom, pollUntil, sendLines, startDaemon } from '../engine/daemon-harness.ts';
import { TestRedis } from './redis-harness.ts';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const NAMES = ['a', 'b', 'c'] as const;
type Name = (typeof NAMES)[number];
let dir: string;
let redis: TestRedis;
let rns: Netns;
const gw = {} as Record<Name, { ns: Netns; nft: NftRunner; dir: string; config: string; env: Record<string, string> }>;
const running = {} as Record<Name, Daemon>;
const all: Daemon[] = [];
/** docs/fleet.md's ACL line for fleet `k`. */
const ACL_RULES = (
  'on resetkeys ~nftsentry:k:* resetchannels -@all +eval +xadd +xread +xrevrange +set +get +mget +del +scan ' +
  '+time +ping +hello +auth +client|setname'
).split(' ');

function config(n: Name, redisIp: string): string {
  const d = gw[n].dir;
  // gw-c reaches Redis over TLS (rediss://, the test's own CA), the others over plain TCP.
  const url =
    n === 'c'
      ? `"rediss://gw-c:pw-c@${redisIp}:6380", tls_ca: ${dir}/tls/ca.pem`
      : `"redis://gw-${n}:pw-${n}@${redisIp}:6379"`;
  const allow = n === 'b' ? ', 198.51.100.77' : '';
  const source =
    n === 'a' ? `, { type: redis, name: suricata-redis, url: "redis://${redisIp}:6379", key: suricata }` : '';
  return `home_networks: [10.0.0.0/8]
allowlist: [192.0.2.0/28${allow}]
store: { path: ${d}/state.db }
sources: { inputs: [ { type: unix_stream, path: ${d}/eve.sock }${source} ] }
api: { socket: { path: ${d}/api.sock }, token_file: ${d}/api.token }
policy: { rules: [ { name: et-scan, match: { signature_prefix: [ET SCAN] }, ban: 1h } ] }
fleet: { name: k, node: gw-${n}, redis: { url: ${url} }, check: 200ms }
`;
}

async function start(n: Name): Promise<Daemon> {
  const d = startDaemon(gw[n].ns, gw[n].config, [], gw[n].env);
  all.push(d);
  running[n] = d;
  await d.waitForLog('nftsentry running', 30_000);
  return d;
}

const token = (n: Name) => readFileSync(`${gw[n].dir}/api.token`, 'utf8').trim();
const api = (n: Name, method: string, path: string, body?: unknown) =>
  apiRequest(`${gw[n].dir}/api.sock`, token(n), method, path, body);
const ban4 = async (n: Name): Promise<Map<string, SetElement>> =>
  new Map((await readSet(gw[n].nft, 'ban4')).map((e) => [e.key, e]));

async function inKernels(names: readonly Name[], targets: readonly string[], what: string, deadlineMs = 10_000) {
  const t0 = performance.now();
  await pollUntil(
    what,
    async () => {
      for (const n of names) {
        const have = await ban4(n);
        if (!targets.every((t) => have.has(t))) return false;
      }
      return true;
    },
    deadlineMs,
  );
  return performance.now() - t0;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-fleet-kernel-'));
  rns = await Netns.create('redis');
  for (const [i, n] of NAMES.entries()) {
    const ns = await Netns.create(`gw${n}`);
    await linkVeth(rns, `r${n}`, ns, 'up0');
    await addAddress(rns, `r${n}`, `198.18.200.${i * 4 + 1}/30`);
    await addAddress(ns, 'up0', `198.18.200.${i * 4 + 2}/30`);
    const d = join(dir, n);
    mkdirSync(d);
    const env: Record<string, string> = {};
    if (n === 'c') {
      // gw-c's wall clock is an hour ahead (its monotonic clock is not faked).
      writeFileSync(join(d, 'faketime'), '+1h\n');
      Object.assign(env, {
        LD_PRELOAD: LIBFAKETIME,
        FAKETIME_TIMESTAMP_FILE: join(d, 'faketime'),
        FAKETIME_NO_CACHE: '1',
        DONT_FAKE_MONOTONIC: '1',
      });
    }
    gw[n] = { ns, nft: new NftRunner({ netns: ns.name }), dir: d, config: join(d, 'nftsentry.yaml'), env };
    writeFileSync(gw[n].config, config(n, `198.18.200.${i * 4 + 1}`));
  }
  const tls = join(dir, 'tls');
  mkdirSync(tls);
  const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: tls, stdio: 'ignore' });
  ssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  ]);
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=redis', '-keyout', 'redis.key', '-out', 'redis.csr']);
  writeFileSync(join(tls, 'san.ext'), 'subjectAltName=IP:198.18.200.1,IP:198.18.200.5,IP:198.18.200.9\n');
  ssl([
    'x509',
    '-req',
    '-in',
    'redis.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    'san.ext',
    '-out',
    'redis.pem',
  ]);
  redis = new TestRedis(rns, join(dir, 'redis'), 6379, [
    '--tls-port',
    '6380',
    '--tls-cert-file',
    join(tls, 'redis.pem'),
    '--tls-key-file',
    join(tls, 'redis.key'),
    '--tls-ca-cert-file',
    join(tls, 'ca.pem'),
    '--tls-auth-clients',
    'no',
  ]);
  mkdirSync(join(dir, 'redis'));
  await redis.start();
  // Each node as the ACL user docs/fleet.md gives it: only the fleet's keys, only these commands.
  for (const n of NAMES) await redis.command(['ACL', 'SETUSER', `gw-${n}`, ...ACL_RULES, `>pw-${n}`]);
  await Promise.all(NAMES.map((n) => start(n)));
}, 120_000);

afterAll(async () => {
  for (const d of all) if (!d.done) process.kill(d.pid, 'SIGKILL');
  await Promise.all(all.map((d) => d.exited));
  await redis?.kill();
  for (const n of NAMES) await gw[n]?.ns.delete();
  await rns?.delete();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a fleet of three kernels', () => {
  it("a ban on A (alert, API) is in B's and C's kernels with A's time left, C's clock an hour ahead", async () => {
    expect(statSync(LIBFAKETIME).isFile()).toBe(true);
    await sendLines(`${gw.a.dir}/eve.sock`, [etScanFrom('198.51.100.21')]);
    expect((await api('a', 'POST', '/v1/bans', { address: '198.51.100.22', duration: '30m' })).status).toBe(201);
    const ms = await inKernels(['a', 'b', 'c'], ['198.51.100.21', '198.51.100.22'], 'both bans in all kernels');
    console.log(`fleet: A's alert and API bans in B's and C's kernels ${Math.round(ms)} ms after the API answered`);
    const [a, b, c] = await Promise.all([ban4('a'), ban4('b'), ban4('c')]);
    for (const t of ['198.51.100.21', '198.51.100.22']) {
      expect(Math.abs(b.get(t)!.expiresSec! - a.get(t)!.expiresSec!), `B ${t}`).toBeLessThanOrEqual(2);
      expect(Math.abs(c.get(t)!.expiresSec! - a.get(t)!.expiresSec!), `C ${t}`).toBeLessThanOrEqual(2);
    }
    const view = JSON.parse((await api('c', 'GET', '/v1/bans/198.51.100.22')).text) as { source: string };
    expect(view.source).toBe('fleet:gw-a');
  });

  it('unban with ?fleet=true lifts it in every kernel; a local unban only on A', async () => {
    expect((await api('a', 'DELETE', '/v1/bans/198.51.100.21')).status).toBe(200);
    expect((await ban4('a')).has('198.51.100.21')).toBe(false);
    expect((await api('c', 'DELETE', '/v1/bans/198.51.100.22?fleet=true')).status).toBe(200);
    await pollUntil('lifted in every kernel', async () => {
      for (const n of NAMES) if ((await ban4(n)).has('198.51.100.22')) return false;
      return true;
    }).catch(async (err) => {
      const kernels = await Promise.all(NAMES.map(async (n) => [n, (await ban4(n)).has('198.51.100.22')]));
      const logs = NAMES.map((n) => [
        n,
        running[n].logs.filter((l) => l.component === 'fleet' || l.component === 'api'),
      ]);
      // What each kernel holds and what the nodes logged, to tell which one missed the unban.
      console.error(JSON.stringify({ kernels, logs }));
      throw err;
    });
    expect((await ban4('b')).has('198.51.100.21')).toBe(true);
    expect((await ban4('c')).has('198.51.100.21')).toBe(true);
  });

  it("a fleet ban of an address on B's allowlist is not applied on B, and B says why", async () => {
    const from = running.b.logs.length;
    expect((await api('a', 'POST', '/v1/bans', { address: '198.51.100.77', duration: '1h' })).status).toBe(201);
    await inKernels(['c'], ['198.51.100.77'], 'on C');
    const line = await running.b.waitForLog('fleet: ban not applied here', 10_000, from);
    expect(line).toMatchObject({ target: '198.51.100.77', why: 'allowlisted', allowEntry: '198.51.100.77/32' });
    expect((await ban4('b')).has('198.51.100.77')).toBe(false);
  });

  it("B killed with -9 while A bans; restarted: A's bans with A's expiry soon after it is ready", async () => {
    const targets = Array.from({ length: 40 }, (_, i) => `198.18.210.${i + 1}`);
    const banning = (async () => {
      for (const t of targets) await api('a', 'POST', '/v1/bans', { address: t, duration: '20m' });
    })();
    await inKernels(['b'], targets.slice(0, 5), 'B has the first bans');
    process.kill(running.b.pid, 'SIGKILL');
    await running.b.exited;
    await banning;
    await start('b');
    const ms = await inKernels(['b'], targets, "B has all of A's bans", 5_000);
    console.log(
      `fleet: B restarted after kill -9 had all ${targets.length} of A's bans ${Math.round(ms)} ms after ready`,
    );
    const [a, b] = await Promise.all([ban4('a'), ban4('b')]);
    for (const t of targets) expect(Math.abs(b.get(t)!.expiresSec! - a.get(t)!.expiresSec!), t).toBeLessThanOrEqual(2);
  }, 60_000);

  it('the redis source (list mode) loses no alert when the daemon is killed -9 mid-stream', async () => {
    const ips = Array.from({ length: 200 }, (_, i) => `198.18.${220 + Math.floor(i / 100)}.${(i % 100) + 1}`);
    const pushing = (async () => {
      for (const ip of ips) {
        await redis.command(['LPUSH', 'suricata', etScanFrom(ip)]);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await inKernels(['a'], ips.slice(0, 10), 'A banned the first alerts').catch(async (err) => {
      // The sources' counters tell a source that read nothing from one whose alerts were not decided.
      console.error((await api('a', 'GET', '/v1/status')).text);
      throw err;
    });
    process.kill(running.a.pid, 'SIGKILL');
    await running.a.exited;
    await pushing;
    await start('a');
    await inKernels(['a'], ips, 'A banned every alert', 20_000);
    expect(await redis.command(['LLEN', 'suricata'])).toBe(0);
  }, 60_000);
});
