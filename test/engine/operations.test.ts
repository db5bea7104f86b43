/**
 * The Engine as the API sees it (Operations), in-process, with nft inside a lab namespace:
 * manual ban/unban with grace, refusals, allowlist add lifting bans, status, kernel detections
 * from a real trap-port touch, escalation across restarts, dry-run.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText, type Config } from '../../src/config/config.ts';
import { Daemon } from '../../src/cli/commands/daemon.ts';
import { isNftsentryError } from '../../src/errors.ts';
import { createLabTopology, LAB_ADDR, type LabTopology } from '../../src/lab/topology.ts';
import { silentLogger } from '../../src/log.ts';
import { parsePrefix } from '../../src/net/ip.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { readSet } from '../../src/nft/state.ts';
import { pollUntil } from './daemon-harness.ts';
import { alert } from './helpers.ts';

let lab: LabTopology;
let nft: NftRunner;
let dir: string;
const engines: Daemon[] = [];

function cfg(extra = ''): Readonly<Config> {
  return parseConfigText(`home_networks: [10.0.0.0/8]
allowlist: [192.0.2.0/28]
services: { tcp: [80] }
store: { path: ${dir}/state.db }
api: { unban_grace: 1h }
engine: { heal_poll_ms: 200, kernel_scan_poll_ms: 200 }
${extra}`);
}

async function engine(config = cfg()): Promise<Daemon> {
  const e = new Daemon(config, { log: silentLogger(), nft });
  engines.push(e);
  await e.start();
  return e;
}

const keys = async (set: string) => (await readSet(nft, set)).map((e) => e.key).sort();
const P = (t: string) => parsePrefix(t)!;

beforeAll(async () => {
  lab = await createLabTopology();
  nft = new NftRunner({ netns: lab.gw.name });
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-ops-'));
});

afterEach(async () => {
  // A failed test must not leave an engine healing the ruleset behind the next one.
  for (const e of engines.splice(0)) await e.stop().catch(() => undefined);
});

afterAll(async () => {
  await lab?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Engine as Operations', () => {
  it('start() has the nft -i co-process running before the first alert; stop() ends it', async () => {
    const e = await engine();
    expect(e.flusher.coprocessesRunning).toBe(true);
    await e.stop();
    expect(e.flusher.coprocessesRunning).toBe(false);
  });

  it('every batch nft applies is observed once (the metrics histogram is exact, not sampled)', async () => {
    const e = await engine();
    const seen: number[] = [];
    const stop = e.onNftApply((ms) => seen.push(ms));
    const before = e.flusher.stats.transactions;
    await e.operations.ban({ address: P('203.0.113.77'), durationSec: 600, reason: 'histogram' });
    await e.operations.unban(P('203.0.113.77'));
    stop();
    await e.operations.ban({ address: P('203.0.113.78'), durationSec: 600, reason: 'after unsubscribe' });
    expect(seen).toHaveLength(2); // the ban's transaction and the unban's (ban element and scanner entries in one)
    expect(e.flusher.stats.transactions - before).toBe(3);
    expect(seen.every((ms) => ms > 0)).toBe(true);
    await e.operations.unban(P('203.0.113.78')); // the store is shared by the tests below
  });

  it('status and metrics share one drop-counters reader: polling status does not run nft each time', async () => {
    const e = await engine();
    const json = nft.json.bind(nft);
    let counterReads = 0;
    nft.json = (args) => {
      if (args.includes('counters')) counterReads++;
      return json(args);
    };
    try {
      for (let i = 0; i < 5; i++) await e.operations.status();
      await e.dropCounters();
      expect(counterReads).toBe(1);
      expect((await e.dropCounters()).map((c) => c.name)).toContain('drop_banned');
    } finally {
      nft.json = json;
    }
  });

  it('ban, get, list, unban with grace; protected addresses refused', async () => {
    const e = await engine();
    const view = await e.operations.ban({ address: P('198.51.100.7'), durationSec: 600, reason: 'by hand' });
    expect(view).toMatchObject({
      address: '198.51.100.7',
      family: 4,
      source: 'manual',
      reason: 'by hand',
      offences: 1,
    });
    expect(view.remainingSec).toBeGreaterThan(595);
    expect(await keys('ban4')).toEqual(['198.51.100.7']);
    await e.operations.ban({ address: P('2001:db8:77::/48'), durationSec: null, reason: 'net' });
    expect(await keys('bannet6')).toEqual(['2001:db8:77::/48 . 0-255']);
    expect(e.operations.getBan(P('2001:db8:77:1::9'))?.address).toBe('2001:db8:77::/48');
    expect(e.operations.listBans({ limit: 10, offset: 0 }).total).toBe(2);
    expect(e.operations.listBans({ source: 'suricata', limit: 10, offset: 0 }).total).toBe(0);
    for (const bad of ['10.1.2.3', '192.0.2.5', LAB_ADDR.gwScan4, '127.0.0.1', '224.0.0.1']) {
      await expect(e.operations.ban({ address: P(bad), durationSec: 60, reason: 'x' })).rejects.toSatisfy((err) =>
        isNftsentryError(err, 'E_BAN_REFUSED'),
      );
    }
    expect(await e.operations.unban(P('198.51.100.7'))).toBe(true);
    expect(await e.operations.unban(P('198.51.100.7'))).toBe(false);
    expect(await keys('ban4')).toEqual([]);
    // Grace: the same alert stream does not re-ban at once.
    expect(e.enforcer.handleAlert(alert({ srcIp: '198.51.100.7' }))).toMatchObject({ kind: 'skip', why: 'grace' });
    // An element already gone from the kernel: unban is still a success.
    await e.operations.ban({ address: P('198.51.100.8'), durationSec: 600, reason: 'x' });
    await nft.run(['delete', 'element', 'inet', 'nftsentry', 'ban4', '{ 198.51.100.8 }']);
    expect(await e.operations.unban(P('198.51.100.8'))).toBe(true);
    const st = await e.operations.status();
    expect(st).toMatchObject({ ruleset: { applied: true }, bans: { active: 1 } });
    expect((st.drops as Record<string, number>).drop_banned).toBe(0);
    await e.operations.unban(P('2001:db8:77::/48'));
    await e.stop();
  });

  it('an IPv6 /64 ban: its network address in ban6net64, found by any address inside, unbanned; one left in bannet6 by an older version is moved', async () => {
    const e = await engine();
    await e.operations.ban({ address: P('2001:db8:64:1::/64'), durationSec: 600, reason: 'net64' });
    expect(await keys('ban6net64')).toEqual(['2001:db8:64:1::']);
    expect(await keys('bannet6')).toEqual([]);
    expect(e.operations.getBan(P('2001:db8:64:1:ffff::9'))).toMatchObject({
      address: '2001:db8:64:1::/64',
      reason: 'net64',
    });
    expect(await e.operations.unban(P('2001:db8:64:1::/64'))).toBe(true);
    expect(await keys('ban6net64')).toEqual([]);
    // Before ban6net64: a /64 the store knows (set_name bannet6) and one only the kernel holds,
    // both in the interval set.
    await e.operations.ban({ address: P('2001:db8:64:2::/64'), durationSec: 600, reason: 'old' });
    await e.stop();
    const db = new DatabaseSync(join(dir, 'state.db'));
    db.prepare("UPDATE bans SET set_name = 'bannet6' WHERE target = '2001:db8:64:2::/64'").run();
    db.close();
    await nft.runScript(
      [
        'delete element inet nftsentry ban6net64 { 2001:db8:64:2:: }',
        'add element inet nftsentry bannet6 { 2001:db8:64:2::/64 . 0-255 timeout 600s, 2001:db8:64:3::/64 . 0-255 timeout 500s }',
      ].join('\n'),
    );
    const e2 = await engine();
    await e2.sync.reconciled;
    expect(await keys('ban6net64')).toEqual(['2001:db8:64:2::', '2001:db8:64:3::']);
    expect(await keys('bannet6')).toEqual([]);
    expect(e2.operations.getBan(P('2001:db8:64:3::1'))).toMatchObject({
      address: '2001:db8:64:3::/64',
      reason: 'adopted from kernel',
    });
    expect(await e2.operations.unban(P('2001:db8:64:2::/64'))).toBe(true);
    expect(await e2.operations.unban(P('2001:db8:64:3::/64'))).toBe(true);
    expect(await keys('ban6net64')).toEqual([]);
    await e2.stop();
  });

  it('allowlist: adding lifts the bans it covers, persists, config entries cannot be removed', async () => {
    const e = await engine();
    await e.operations.ban({ address: P('198.51.100.20'), durationSec: 600, reason: 'x' });
    await e.operations.ban({ address: P('198.51.100.21'), durationSec: 600, reason: 'x' });
    await e.operations.ban({ address: P('203.0.113.5'), durationSec: 600, reason: 'x' });
    const r = await e.operations.addAllow(P('198.51.100.0/24'), 'partner');
    expect(r).toMatchObject({ liftedBans: 2, entry: { prefix: '198.51.100.0/24', origin: 'api', note: 'partner' } });
    expect(await keys('ban4')).toEqual(['203.0.113.5']);
    expect(await keys('allow4')).toContain('198.51.100.0/24 . 0-255');
    expect(e.enforcer.handleAlert(alert({ srcIp: '198.51.100.30' }))).toMatchObject({
      kind: 'skip',
      why: 'allowlisted',
    });
    await expect(e.operations.removeAllow(P('192.0.2.0/28'))).rejects.toSatisfy((err) =>
      isNftsentryError(err, 'E_FORBIDDEN'),
    );
    await e.stop();
    const e2 = await engine();
    expect(e2.operations.listAllow().map((a) => `${a.origin} ${a.prefix}`)).toEqual([
      'config 192.0.2.0/28',
      'api 198.51.100.0/24',
    ]);
    expect(await e2.operations.removeAllow(P('198.51.100.0/24'))).toBe(true);
    expect(await keys('allow4')).toEqual(['192.0.2.0/28 . 0-255']);
    await e2.operations.unban(P('203.0.113.5'));
    await e2.stop();
  });

  it('a real trap-port touch: the kernel catches it, the engine records it with its reason (kernel:scan)', async () => {
    const e = await engine(cfg('policy: { kernel_scan_ban: 2h }'));
    // One SYN from the scanner namespace to the gateway's trap port 23 (lab addresses only).
    await lab.scanner.exec('bash', ['-c', `timeout 0.3 bash -c 'echo > /dev/tcp/${LAB_ADDR.gwScan4}/23'`], {
      timeoutMs: 5000,
    });
    expect(await keys('scanners4')).toEqual([LAB_ADDR.scanner4]);
    const view = await pollUntil(
      'kernel scan recorded',
      () => e.operations.getBan(P(LAB_ADDR.scanner4)) ?? undefined,
      5000,
    );
    expect(view).toMatchObject({ source: 'kernel:scan', reason: 'trap_port', offences: 1 });
    expect(view.remainingSec).toBeGreaterThan(7190);
    expect(await keys('ban4')).toEqual([LAB_ADDR.scanner4]);
    // Unban lifts it from the kernel's scanners set too.
    expect(await e.operations.unban(P(LAB_ADDR.scanner4))).toBe(true);
    const left = await keys('scanners4');
    if (left.length)
      console.log(
        'DIAG scanners4 after unban',
        left,
        await nft.run(['list', 'set', 'inet', 'nftsentry', 'scanners4']).then((r) => r.stdout),
        (await nft.run(['list', 'counters'])).stdout.match(/drop_scan_trap[^}]*/)?.[0],
      );
    expect(left).toEqual([]);
    expect(await keys('ban4')).toEqual([]);
    await e.stop();
  });

  it('escalation survives a restart (history from the store)', async () => {
    let e = await engine();
    e.enforcer.handleAlert(alert({ srcIp: '198.51.100.99' }));
    await e.flushed();
    expect(e.operations.getBan(P('198.51.100.99'))?.offences).toBe(1);
    await e.stop();
    e = await engine();
    expect(await e.operations.unban(P('198.51.100.99'))).toBe(true);
    await e.stop();
    e = await engine();
    // The grace period from the unban also survived the restart.
    expect(e.enforcer.handleAlert(alert({ srcIp: '198.51.100.99' }))).toMatchObject({ kind: 'skip', why: 'grace' });
    const d = e.enforcer.handleAlert(alert({ srcIp: '198.51.100.99' }), Date.now() + 2 * 3_600_000);
    expect(d).toMatchObject({ kind: 'ban', offences: 2, durationSec: 7200 });
    await e.flushed();
    await e.operations.unban(P('198.51.100.99'));
    await e.stop();
  });

  it('dry-run decides and logs but never touches nft', async () => {
    const dry = new Daemon({ ...cfg(), engine: { ...cfg().engine, dry_run: true } }, { log: silentLogger(), nft });
    engines.push(dry);
    await nft.run(['flush', 'ruleset']);
    await dry.start();
    expect(dry.enforcer.handleAlert(alert({ srcIp: '198.51.100.50' }))).toMatchObject({ kind: 'ban' });
    await dry.flushed();
    expect(dry.operations.getBan(P('198.51.100.50'))).toMatchObject({ source: 'suricata' });
    expect((await nft.run(['list', 'ruleset'])).stdout.trim()).toBe('');
    await dry.stop();
  });
});
