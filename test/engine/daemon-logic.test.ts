/**
 * The daemon's engine as the API sees it (Operations) and its control paths, on the in-memory
 * FakeNft (no root): operator ban/unban with grace, refusals, allowlist changes lifting bans,
 * status and the shared counters reader, every transaction observed once, escalation and grace
 * across restarts, dry-run touching nothing, and the restore decisions at start (expired bans
 * dropped, the time left sent, kernel-only bans adopted, protected ones removed, a lift racing
 * the reconcile not adopted back). The kernel tests (operations.test.ts, test/kernel) prove the
 * same transactions on real nft; test/kernel/fake-agrees.test.ts proves the fake agrees with it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { daemonTelemetry } from '../../src/api/daemon-api.ts';
import { Histogram } from '../../src/api/histogram.ts';
import { Daemon } from '../../src/cli/commands/daemon.ts';
import { type Config, parseConfigText } from '../../src/config/config.ts';
import { isNftsentryError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { parseIp, parsePrefix } from '../../src/net/ip.ts';
import { interfaceAddress } from '../../src/net/subnet.ts';
import { FakeNft } from '../../src/nft/fake.ts';
import { readSet } from '../../src/nft/state.ts';
import { alert } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'nftsentry-logic-'));
const daemons: Daemon[] = [];
const P = (t: string) => parsePrefix(t)!;
const OWN = '198.18.0.1';

/** Wall clock (ms) of the daemon and the fake's element clock, moved by the tests together. */
let now = Date.UTC(2026, 11, 1);
let nft = new FakeNft({ clock: () => now });

function cfg(store: string, extra = ''): Readonly<Config> {
  return parseConfigText(`home_networks: [10.0.0.0/8]
allowlist: [192.0.2.0/28]
services: { tcp: [80] }
store: { path: ${join(dir, store)} }
api: { unban_grace: 1h }
engine: { heal_poll_ms: 60000, kernel_scan_poll_ms: 60000 }
${extra}`);
}

async function daemon(config: Readonly<Config>, start = true): Promise<Daemon> {
  const d = new Daemon(config, {
    log: silentLogger(),
    nft,
    clock: () => now,
    readOwnAddresses: async () => [interfaceAddress(parseIp(OWN)!, 24)],
  });
  daemons.push(d);
  if (start) await d.start();
  return d;
}

const keys = async (set: string) => (await readSet(nft, set)).map((e) => e.key).sort();

afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop().catch(() => undefined);
  nft = new FakeNft({ clock: () => now });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('operations on the fake nft', () => {
  it('ban, get, list, unban with grace; protected addresses refused; an element already gone unbans', async () => {
    const e = await daemon(cfg('ops.db'));
    const view = await e.operations.ban({ address: P('198.51.100.7'), durationSec: 600, reason: 'by hand' });
    expect(view).toMatchObject({
      address: '198.51.100.7',
      family: 4,
      source: 'manual',
      reason: 'by hand',
      offences: 1,
    });
    expect(view.remainingSec).toBe(600);
    expect((await readSet(nft, 'ban4')).map((x) => [x.key, x.timeoutSec])).toEqual([['198.51.100.7', 600]]);
    await e.operations.ban({ address: P('2001:db8:77::/48'), durationSec: null, reason: 'net' });
    expect(await keys('bannet6')).toEqual(['2001:db8:77::/48 . 0-255']);
    expect(e.operations.getBan(P('2001:db8:77:1::9'))?.address).toBe('2001:db8:77::/48');
    expect(e.operations.listBans({ limit: 10, offset: 0 }).total).toBe(2);
    expect(e.operations.listBans({ source: 'suricata', limit: 10, offset: 0 }).total).toBe(0);
    for (const bad of ['10.1.2.3', '192.0.2.5', OWN, '198.18.0.0', '198.18.0.255', '127.0.0.1', '224.0.0.1']) {
      await expect(e.operations.ban({ address: P(bad), durationSec: 60, reason: 'x' })).rejects.toSatisfy((err) =>
        isNftsentryError(err, 'E_BAN_REFUSED'),
      );
    }
    expect(await e.operations.unban(P('198.51.100.7'))).toBe(true);
    expect(await e.operations.unban(P('198.51.100.7'))).toBe(false);
    expect(await keys('ban4')).toEqual([]);
    // Grace: the same alert stream does not re-ban at once; after the grace it does.
    expect(e.enforcer.handleAlert(alert({ srcIp: '198.51.100.7' }), now)).toMatchObject({ kind: 'skip', why: 'grace' });
    expect(e.enforcer.handleAlert(alert({ srcIp: '198.51.100.7' }), now + 3_601_000)).toMatchObject({
      kind: 'ban',
      offences: 2,
    });
    await e.flushed();
    expect(await e.operations.unban(P('198.51.100.7'))).toBe(true);
    // An element already gone from the kernel: unban is still a success.
    await e.operations.ban({ address: P('198.51.100.8'), durationSec: 600, reason: 'x' });
    await nft.run(['delete', 'element', 'inet', 'nftsentry', 'ban4', '{ 198.51.100.8 }']);
    expect(await e.operations.unban(P('198.51.100.8'))).toBe(true);
    expect(e.flusher.stats.failures).toBe(0);
    const st = await e.operations.status();
    expect(st).toMatchObject({ ruleset: { applied: true }, bans: { active: 1 }, engine: { bans: 4, refreshes: 0 } });
  });

  it('every transaction nft applies is observed once; status and metrics share one counters read', async () => {
    const e = await daemon(cfg('observed.db'));
    const seen: number[] = [];
    const stop = e.onNftApply((ms) => seen.push(ms));
    const before = e.flusher.stats.transactions;
    await e.operations.ban({ address: P('203.0.113.77'), durationSec: 600, reason: 'histogram' });
    await e.operations.unban(P('203.0.113.77'));
    stop();
    await e.operations.ban({ address: P('203.0.113.78'), durationSec: 600, reason: 'after unsubscribe' });
    expect(seen).toHaveLength(2); // the ban's transaction and the unban's (ban element and scanner entries in one)
    expect(e.flusher.stats.transactions - before).toBe(3);

    nft.setCounter('drop_banned', 7, 420);
    const json = nft.json.bind(nft);
    let counterReads = 0;
    nft.json = (args) => {
      if (args.includes('counters')) counterReads++;
      return json(args);
    };
    for (let i = 0; i < 5; i++) await e.operations.status();
    expect(counterReads).toBe(1);
    expect((await e.dropCounters()).find((c) => c.name === 'drop_banned')).toMatchObject({ packets: 7, bytes: 420 });
    expect(((await e.operations.status()).drops as Record<string, number>).drop_banned).toBe(7);
  });

  it('an alert whose alert.source names a third address: that address is not banned, the note is counted in status and metrics', async () => {
    const e = await daemon(cfg('hints.db'));
    const d = e.enforcer.handleAlert(
      alert({ srcIp: '10.1.2.3', destIp: '198.51.100.40', attacker: { ip: '192.0.2.99', port: 1 } }),
      now,
    );
    expect(d).toMatchObject({ kind: 'ban', offender: '198.51.100.40', note: 'hint_mismatch' });
    await e.flushed();
    expect(await keys('ban4')).toEqual(['198.51.100.40']);
    expect(((await e.operations.status()).engine as { notes: Record<string, number> }).notes).toEqual({
      hint_mismatch: 1,
    });
    const results = daemonTelemetry(e, { log: silentLogger(), sources: () => [] }, new Histogram()).alertResults!();
    expect(results).toContainEqual({ source: 'any', result: 'noted_hint_mismatch', count: 1 });
  });

  it('allowlist: adding lifts the bans it covers and reaches the kernel set, persists; config entries cannot be removed', async () => {
    const e = await daemon(cfg('allow.db'));
    for (const a of ['198.51.100.20', '198.51.100.21', '203.0.113.5']) {
      await e.operations.ban({ address: P(a), durationSec: 600, reason: 'x' });
    }
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
    const e2 = await daemon(cfg('allow.db'));
    expect(e2.operations.listAllow().map((a) => `${a.origin} ${a.prefix}`)).toEqual([
      'config 192.0.2.0/28',
      'api 198.51.100.0/24',
    ]);
    expect(await e2.operations.removeAllow(P('198.51.100.0/24'))).toBe(true);
    expect(await keys('allow4')).toEqual(['192.0.2.0/28 . 0-255']);
  });

  it('escalation and grace survive a restart (history from the store)', async () => {
    let e = await daemon(cfg('escalation.db'));
    e.enforcer.handleAlert(alert({ srcIp: '198.51.100.99' }), now);
    await e.flushed();
    expect(e.operations.getBan(P('198.51.100.99'))?.offences).toBe(1);
    await e.stop();
    e = await daemon(cfg('escalation.db'));
    expect(await e.operations.unban(P('198.51.100.99'))).toBe(true);
    await e.stop();
    e = await daemon(cfg('escalation.db'));
    expect(e.enforcer.handleAlert(alert({ srcIp: '198.51.100.99' }), now)).toMatchObject({
      kind: 'skip',
      why: 'grace',
    });
    const d = e.enforcer.handleAlert(alert({ srcIp: '198.51.100.99' }), now + 2 * 3_600_000);
    expect(d).toMatchObject({ kind: 'ban', offences: 2, durationSec: 7200 });
  });

  it('dry-run decides and records but sends nft nothing', async () => {
    const dry = await daemon({ ...cfg('dry.db'), engine: { ...cfg('dry.db').engine, dry_run: true } });
    expect(dry.enforcer.handleAlert(alert({ srcIp: '198.51.100.50' }))).toMatchObject({ kind: 'ban' });
    await dry.flushed();
    await dry.operations.ban({ address: P('198.51.100.51'), durationSec: 60, reason: 'x' });
    expect(await dry.operations.unban(P('198.51.100.51'))).toBe(true);
    expect(dry.operations.getBan(P('198.51.100.50'))).toMatchObject({ source: 'suricata' });
    expect(nft.transactions).toEqual([]);
    expect(await nft.json(['list', 'ruleset'])).toEqual({
      nftables: [expect.objectContaining({ metainfo: expect.anything() })],
    });
  });
});

describe('restore and reconcile at start, on the fake nft', () => {
  it('expired bans are dropped, the rest go back with the time they have left', async () => {
    const e = await daemon(cfg('restore.db'));
    await e.operations.ban({ address: P('198.51.100.1'), durationSec: 60, reason: 'short' });
    await e.operations.ban({ address: P('198.51.100.2'), durationSec: 3600, reason: 'long' });
    await e.operations.ban({ address: P('198.51.100.3'), durationSec: null, reason: 'permanent' });
    await e.stop();
    now += 600_000; // ten minutes later, after a reboot: an empty kernel
    nft = new FakeNft({ clock: () => now });
    const e2 = await daemon(cfg('restore.db'));
    await e2.sync.reconciled;
    const ban4 = (await readSet(nft, 'ban4')).map((x) => [x.key, x.timeoutSec]).sort();
    expect(ban4).toEqual([
      ['198.51.100.2', 3000],
      ['198.51.100.3', null],
    ]);
    expect(e2.operations.getBan(P('198.51.100.1'))).toBeNull();
    expect(e2.operations.getBan(P('198.51.100.2'))?.remainingSec).toBe(3000);
    expect(e2.ledger.activeCount).toBe(2);
  });

  it('kernel-only bans are adopted with their time left; protected ones and an IPv6 /64 in bannet6 are put right', async () => {
    const e = await daemon(cfg('adopt.db'));
    await e.stop();
    await nft.runScript(
      [
        'add element inet nftsentry ban4 { 203.0.113.9 timeout 500s, 192.0.2.3 timeout 500s, 198.18.0.1 timeout 500s }',
        'add element inet nftsentry bannet6 { 2001:db8:64:3::/64 . 0-255 timeout 400s }',
        'add element inet nftsentry bannet4 { 10.9.0.0/16 . 0-255 timeout 400s }',
      ].join('\n'),
    );
    const e2 = await daemon(cfg('adopt.db'));
    await e2.sync.reconciled;
    await e2.flushed();
    expect(e2.operations.getBan(P('203.0.113.9'))).toMatchObject({ reason: 'adopted from kernel', remainingSec: 500 });
    // The allowlisted, own and home-network elements are removed, not adopted.
    expect(await keys('ban4')).toEqual(['203.0.113.9']);
    expect(await keys('bannet4')).toEqual([]);
    // A /64 in the interval set of an older version moves to ban6net64.
    expect(await keys('bannet6')).toEqual([]);
    expect(await keys('ban6net64')).toEqual(['2001:db8:64:3::']);
    expect(e2.operations.getBan(P('2001:db8:64:3::1'))).toMatchObject({
      address: '2001:db8:64:3::/64',
      reason: 'adopted from kernel',
    });
    expect(e2.sync.stats.adopted).toBe(2);
  });

  it('a ban the store knows but the kernel holds with the wrong timeout is refreshed to the time left', async () => {
    const e = await daemon(cfg('refresh.db'));
    await e.operations.ban({ address: P('198.51.100.40'), durationSec: 3600, reason: 'x' });
    await e.stop();
    await nft.runScript(
      'delete element inet nftsentry ban4 { 198.51.100.40 }\nadd element inet nftsentry ban4 { 198.51.100.40 timeout 60s }\n',
    );
    const e2 = await daemon(cfg('refresh.db'));
    await e2.sync.reconciled;
    expect((await readSet(nft, 'ban4')).map((x) => [x.key, x.timeoutSec])).toEqual([['198.51.100.40', 3600]]);
  });

  it('an unban while the start-up reconcile reads the sets is not adopted back from the kernel', async () => {
    const e = await daemon(cfg('race.db'));
    await e.operations.ban({ address: P('198.51.100.60'), durationSec: 3600, reason: 'x' });
    await e.operations.ban({ address: P('198.51.100.61'), durationSec: 3600, reason: 'x' });
    await e.stop();
    const e2 = await daemon(cfg('race.db'), false);
    // The reconcile reads ban4 while the element is still there; the unban lands during that read.
    const json = nft.json.bind(nft);
    let unbanned: Promise<boolean> | null = null;
    nft.json = async (args) => {
      const answer = await json(args);
      if (!unbanned && args.join(' ') === 'list set inet nftsentry ban4')
        unbanned = e2.operations.unban(P('198.51.100.61'));
      return answer;
    };
    await e2.start();
    await e2.sync.reconciled;
    expect(await unbanned).toBe(true);
    await e2.flushed();
    expect(await keys('ban4')).toEqual(['198.51.100.60']);
    expect(e2.operations.getBan(P('198.51.100.61'))).toBeNull();
    expect(e2.sync.stats.adopted).toBe(0);
  });
});

describe('the store file stays consistent with what the kernel got', () => {
  it('an operator ban has its row once it resolves; an unban deactivates it', async () => {
    const e = await daemon(cfg('rows.db'));
    await e.operations.ban({ address: P('198.51.100.70'), durationSec: 600, reason: 'x' });
    const db = new DatabaseSync(join(dir, 'rows.db'), { readOnly: true });
    const active = () =>
      (db.prepare('SELECT active FROM bans WHERE target = ?').get('198.51.100.70') as { active: number }).active;
    expect(active()).toBe(1);
    await e.operations.unban(P('198.51.100.70'));
    expect(active()).toBe(0);
    db.close();
  });
});
