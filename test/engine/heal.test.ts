/**
 * Self-healing with the real daemon in a lab namespace: every kind of damage another process can
 * do to `table inet nftsentry` (a ban set flushed, each chain flushed, each chain deleted, a rule
 * deleted, a set deleted, elements deleted by hand, `flush table`, `delete table`, `flush
 * ruleset`) is seen by the daemon's `nft monitor` and repaired: the table back as it was, every ban
 * back with the time it had left. The time from the damage to the repair seen in the kernel is
 * measured and printed per case (the assertion is a deadline). Then the daemon's own bans,
 * unbans and refreshes at a steady rate, with the full check running every 500 ms: no heal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Netns } from '../../src/lab/netns.ts';
import { createLabTopology, type LabTopology } from '../../src/lab/topology.ts';
import { CHAINS } from '../../src/nft/objects.ts';
import { TTL_CHAINS } from '../../src/nft/ttl-rules.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { pollUntil, startDaemon, type Daemon, etScanFrom } from './daemon-harness.ts';
import {
  apiClient,
  BAN_SETS,
  cpuMs,
  monitorPid,
  referrers,
  rssMb,
  sameAs,
  snapshot,
  timeLeftOff,
  type TableSnapshot,
} from './heal-harness.ts';

const PORT = 8766;
let lab: LabTopology;
let ns: Netns;
let nft: NftRunner;
let dir: string;
let cfgPath: string;
let sock: string;
let token = '';
const api = () => apiClient(ns, PORT, () => token);
const daemons: Daemon[] = [];
const rows: Array<{ damage: string; kind: string; healedMs: number; daemonMs: number }> = [];

function writeConfig(rulesCheckMs: number, monitor = true): void {
  writeFileSync(
    cfgPath,
    `services: { tcp: [22] }
knock: { sequence: [7001, 7002], ports: [2222] }
ttl_normalize: { forward: true }
api: { port: ${PORT}, token_file: ${dir}/api.token }
store: { path: ${dir}/state-${daemons.length}.db }
sources: { inputs: [ { type: unix_stream, path: ${sock} } ] }
engine: { heal_poll_ms: 200, kernel_scan_poll_ms: 1000, expire_poll_ms: 200, rules_check_ms: ${rulesCheckMs}, kernel_monitor: ${monitor} }
policy:
  ipv6_prefix: 128
  rules:
    - { name: steady, match: { sids: [9000002] }, ban: 4 }
    - { name: et-scan, match: { signature_prefix: [ET SCAN] }, ban: 1h }
`,
  );
}

function openSource(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ path: sock }, () => resolve(s));
    s.on('error', reject);
  });
}

async function start(rulesCheckMs: number, monitor = true): Promise<Daemon> {
  writeConfig(rulesCheckMs, monitor);
  const d = startDaemon(ns, cfgPath);
  daemons.push(d);
  await d.waitForLog('nftsentry running');
  await d.waitForLog('kernel reconciled');
  token = readFileSync(join(dir, 'api.token'), 'utf8').trim();
  return d;
}

/** Until the daemon's monitor listens (its last word about it is `listening`). */
function untilListening(d: Daemon): Promise<true> {
  return pollUntil('the kernel monitor listening', () => {
    const last = d.logs.findLast((l) => typeof l.msg === 'string' && l.msg.startsWith('kernel monitor'));
    return last?.msg === 'kernel monitor listening';
  });
}

async function stop(d: Daemon): Promise<void> {
  process.kill(d.pid, 'SIGTERM');
  expect((await d.exited).exitCode).toBe(0);
}

beforeAll(async () => {
  lab = await createLabTopology();
  ns = lab.gw;
  nft = new NftRunner({ netns: ns.name });
  nft.useReadSession(true);
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-heal-'));
  cfgPath = join(dir, 'nftsentry.yaml');
  sock = join(dir, 'eve.sock');
});

afterAll(async () => {
  nft?.useReadSession(false);
  for (const d of daemons) if (!d.done) process.kill(d.pid, 'SIGKILL');
  await lab?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (rows.length > 0) {
    console.log("time from the damage to the repair seen in the kernel (heal: the daemon's own measure):");
    console.table(rows);
  }
});

describe('self-healing in a namespace', () => {
  let d: Daemon;
  let before: TableSnapshot;

  /** Damage, then wait for the table to be as `before` again; records the time and the kind. */
  async function heal(name: string, script: string, kinds: readonly string[]): Promise<void> {
    await untilListening(d);
    before = (await snapshot(nft))!;
    const n = d.logs.length;
    // From the start of the nft command that does the damage (its commit is a few ms later).
    const damagedAt = performance.now();
    await nft.runScript(script);
    let healed: TableSnapshot | null = null;
    await pollUntil(
      `${name}: healed`,
      async () => {
        const now = await snapshot(nft);
        if (sameAs(before, now)) healed = now;
        return healed !== null;
      },
      10_000,
      2,
    );
    const healedMs = Math.round(performance.now() - damagedAt);
    const log = await d.waitForLog('self-healed', 10_000, n);
    expect(timeLeftOff(before, healed!), `${name}: time left kept`).toEqual([]);
    expect(kinds, `${name}: kind ${String(log.kind)}`).toContain(log.kind);
    // Found by the monitor: its event, or (when it restarted under load) its check once it listened again.
    expect(String(log.why), `${name}: found by the monitor`).toMatch(/^nft monitor(: generation| \(re\)started)/);
    rows.push({ damage: name, kind: String(log.kind), healedMs, daemonMs: Number(log.sinceReportedMs) });
    if (process.env.HEAL_DEBUG) console.log(name, JSON.stringify(d.logs.slice(n), null, 0));
  }

  beforeAll(async () => {
    d = await start(0);
    const s = await openSource();
    for (let i = 1; i <= 40; i++) s.write(`${etScanFrom(`198.18.100.${i}`)}\n`);
    s.write(`${etScanFrom('2001:db8:bad:6::5')}\n${etScanFrom('2001:db8:bad:6::6')}\n`);
    s.end();
    const client = api();
    for (const address of ['2001:db8:bad:64::/64', '198.18.200.0/24', '2001:db8:4800::/48', '198.18.101.7']) {
      expect((await client('POST', '/v1/bans', { address, duration: '30m', reason: 'heal test' })).status).toBe(201);
    }
    await pollUntil('every ban in the kernel', async () => {
      const now = await snapshot(nft);
      return BAN_SETS.every((set) => (now?.bans.get(set)?.size ?? 0) > 0) && now!.bans.get('ban4')!.size === 41;
    });
  });

  afterAll(async () => {
    if (d && !d.done) await stop(d);
  });

  for (const set of BAN_SETS) {
    it(`flush set ${set}`, () => heal(`flush set ${set}`, `flush set inet nftsentry ${set}`, ['elements']));
  }

  it('elements deleted by hand (ban4, ban6, ban6net64; bannet4)', async () => {
    await heal(
      'delete element ban4 ban6 ban6net64',
      [
        'delete element inet nftsentry ban4 { 198.18.100.3, 198.18.100.4 }',
        'delete element inet nftsentry ban6 { 2001:db8:bad:6::5 }',
        'delete element inet nftsentry ban6net64 { 2001:db8:bad:64:: }',
      ].join('\n'),
      ['elements'],
    );
    await heal('delete element bannet4', 'delete element inet nftsentry bannet4 { 198.18.200.0/24 . 0-255 }', [
      'elements',
    ]);
  });

  // Every chain of the table: knock and the TTL chains too (on in this config).
  const ALL_CHAINS = [...CHAINS, ...Object.keys(TTL_CHAINS)];
  for (const chain of ALL_CHAINS) {
    it(`flush chain ${chain}`, () => heal(`flush chain ${chain}`, `flush chain inet nftsentry ${chain}`, ['chain']));
  }

  for (const chain of ALL_CHAINS) {
    it(`delete chain ${chain} (after the chains that jump to it are flushed)`, async () => {
      const from = referrers(await nft.json(['list', 'table', 'inet', 'nftsentry']), chain);
      const script = [...from.map((c) => `flush chain inet nftsentry ${c}`), `delete chain inet nftsentry ${chain}`];
      await heal(`delete chain ${chain}${from.length ? ` (${from.join(', ')} flushed)` : ''}`, script.join('\n'), [
        'chain',
      ]);
    });
  }

  it('delete one rule by its handle', async () => {
    const { stdout } = await nft.run(['-a', 'list', 'chain', 'inet', 'nftsentry', 'prerouting']);
    const handle = /ip saddr @ban4 .* # handle (\d+)/.exec(stdout)?.[1];
    expect(handle).toBeDefined();
    await heal('delete rule (prerouting, @ban4)', `delete rule inet nftsentry prerouting handle ${handle}`, ['rule']);
  });

  it('delete a set (the kernel allows it once no rule refers to it)', async () => {
    await heal(
      'delete set ban4 (prerouting flushed)',
      'flush chain inet nftsentry prerouting\ndelete set inet nftsentry ban4',
      ['set'],
    );
  });

  it('flush table, delete table, flush ruleset', async () => {
    await heal('flush table', 'flush table inet nftsentry', ['table']);
    await heal('delete table', 'delete table inet nftsentry', ['table']);
    await heal('flush ruleset', 'flush ruleset', ['table']);
  });
});

describe("the daemon's own changes", () => {
  it('bans, refreshes and unbans at a steady rate, with a full check every 500 ms: no heal', async () => {
    const d = await start(500);
    await untilListening(d);
    const client = api();
    const s = await openSource();
    const banned: Array<{ ip: string; at: number }> = [];
    let unbans = 0;
    let refreshes = 0;
    const until = performance.now() + 6000;
    for (let i = 0; performance.now() < until; i++) {
      const ip = `198.18.${110 + Math.floor(i / 250)}.${(i % 250) + 1}`;
      s.write(`${etScanFrom(ip, 9000002)}\n`);
      banned.push({ ip, at: performance.now() });
      // A ban of 4 s with less than half left is refreshed by the next alert.
      const old = banned.find((b) => performance.now() - b.at > 2500 && performance.now() - b.at < 3000);
      if (old && i % 2 === 0) {
        s.write(`${etScanFrom(old.ip, 9000002)}\n`);
        refreshes++;
      }
      if (i % 10 === 5) {
        const victim = banned[banned.length - 3]!;
        if ((await client('DELETE', `/v1/bans/${victim.ip}`)).status === 200) unbans++;
      }
      if (i % 50 === 25) {
        const prefix = `198.18.${230 + ((i / 50) % 20)}.0/24`;
        await client('POST', '/v1/bans', { address: prefix, duration: '10s', reason: 'steady' });
        await client('DELETE', `/v1/bans/${encodeURIComponent(prefix)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    s.end();
    // Long enough for the bans of 4 s to expire in the kernel and for two more full checks.
    await new Promise((r) => setTimeout(r, 1500));
    // The API serves the engine's status up to a second old: the second answer is fresh.
    await client('GET', '/v1/status');
    await new Promise((r) => setTimeout(r, 1100));
    const engine = (await client('GET', '/v1/status')).body.engine.engine as Record<string, any>;
    console.log(
      `own changes: ${banned.length} bans, ${refreshes} refresh alerts, ${unbans} unbans, 20 prefix ban+unban;`,
      `kernel watch ${JSON.stringify(engine.kernelWatch)}; full checks ${engine.fullChecks}; heals ${engine.heals}`,
    );
    expect(d.logs.filter((l) => l.msg === 'self-healed')).toEqual([]);
    expect(engine.heals).toBe(0);
    expect(engine.fullChecks).toBeGreaterThan(5);
    await stop(d);
  });
});

describe('at scale', () => {
  /** `count` new bans of 1 h from alerts at `perMs` per ms (0: all at once); resolves once ban4 holds `total`. */
  async function bans(first: number, count: number, perMs: number, total: number): Promise<void> {
    const s = await openSource();
    // 198.18.16.0 on: clear of the lab's own addresses, inside 198.18.0.0/16 for 60k bans.
    const ip = (i: number) => `198.18.${((i + 4096) >> 8) & 255}.${(i + 4096) & 255}`;
    for (let i = first; i < first + count; ) {
      const n = perMs === 0 ? count : perMs * 10;
      s.write(Array.from({ length: Math.min(n, first + count - i) }, (_, k) => `${etScanFrom(ip(i + k))}\n`).join(''));
      i += n;
      if (perMs > 0) await new Promise((r) => setTimeout(r, 10));
    }
    s.end();
    await pollUntil(
      `ban4 holding ${total}`,
      async () =>
        (await nft.json(['list', 'set', 'inet', 'nftsentry', 'ban4'])).nftables.some(
          (o) => ((o.set as { elem?: unknown[] } | undefined)?.elem?.length ?? 0) >= total,
        ),
      60_000,
      200,
    );
  }

  it('the listener at 1k bans/s, the monitor with 50k bans, and `flush set ban4` of 50k bans', async () => {
    await nft.run(['flush', 'ruleset']);
    const cost: Record<string, number> = {};
    for (const monitor of [false, true]) {
      const d = await start(600_000, monitor);
      if (monitor) await untilListening(d);
      const mon = monitor ? monitorPid(d.pid) : null;
      const [d0, m0] = [cpuMs(d.pid), mon ? cpuMs(mon) : 0];
      await bans(0, 3000, 1, 3000);
      cost[`daemon CPU ms, 3000 bans at 1/ms, monitor ${monitor ? 'on' : 'off'}`] = cpuMs(d.pid) - d0;
      if (mon) cost['nft monitor CPU ms for them'] = cpuMs(mon) - m0;
      if (!monitor) {
        await stop(d);
        await nft.run(['flush', 'ruleset']);
        continue;
      }
      cost['nft monitor RSS MB, 3000 bans'] = rssMb(mon!);
      await bans(3000, 47_000, 0, 50_000);
      cost['nft monitor RSS MB, 50k bans (after adding them)'] = rssMb(mon!);
      // The daemon logs the heal once its repair transaction returned: the log's time is when the
      // bans were back in the kernel (another monitor here would compete for the CPU it measures).
      const n = d.logs.length;
      const flushedAt = Date.now();
      await nft.run(['flush', 'set', 'inet', 'nftsentry', 'ban4']);
      const log = await d.waitForLog('self-healed', 20_000, n);
      expect(log.kind).toBe('elements');
      expect(log.bans).toEqual({ added: 50_000, refreshed: 0 });
      const backMs = Number(log.time) - flushedAt;
      cost['flush set ban4 with 50k bans: ms until back in the kernel'] = backMs;
      cost['  of which until nft monitor showed it'] = backMs - Number(log.sinceReportedMs);
      cost['  of which the repair (one transaction of 50k elements)'] = Number(log.durationMs);
      await bans(0, 0, 0, 50_000);
      await stop(d);
    }
    console.log('cost of the kernel watch:');
    console.table(cost);
  });
});
