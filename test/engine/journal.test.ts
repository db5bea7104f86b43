/**
 * The decision journal and explain on the in-memory FakeNft: an allowlisted alert names the entry
 * that protected it, alerts below a threshold show the count against the threshold and window, a
 * ban shows its rule and offence, a manual ban names its actor, a never-seen address gets the
 * live protection rules and what one ET SCAN alert would do. The bound: many more rows than
 * journal.max_entries keep at most that many, and the store file stops growing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Daemon } from '../../src/cli/commands/daemon.ts';
import { type Config, parseConfigText } from '../../src/config/config.ts';
import { Journal } from '../../src/engine/journal.ts';
import { silentLogger } from '../../src/log.ts';
import { parseIp, parsePrefix } from '../../src/net/ip.ts';
import { interfaceAddress } from '../../src/net/subnet.ts';
import { FakeNft } from '../../src/nft/fake.ts';
import { Store } from '../../src/store/store.ts';
import { alert } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'nftsentry-journal-'));
const daemons: Daemon[] = [];
const P = (t: string) => parsePrefix(t)!;
const OWN = '198.18.0.1';
const now = Date.UTC(2026, 11, 1);

function cfg(store: string, extra = ''): Readonly<Config> {
  return parseConfigText(`home_networks: [10.0.0.0/8]
allowlist: [192.0.2.0/28]
services: { tcp: [80] }
store: { path: ${join(dir, store)} }
policy: { rules: [{ name: et-scan, match: { signature_prefix: [ET SCAN] }, threshold: { alerts: 3, window: 2m }, ban: 600 }] }
engine: { heal_poll: 1m, kernel_scan_poll: 1m }
${extra}`);
}

async function daemon(config: Readonly<Config>): Promise<Daemon> {
  const d = new Daemon(config, {
    log: silentLogger(),
    nft: new FakeNft({ clock: () => now }),
    clock: () => now,
    readOwnAddresses: async () => [interfaceAddress(parseIp(OWN)!, 24)],
  });
  daemons.push(d);
  await d.start();
  return d;
}

afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop().catch(() => undefined);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('explain from the journal', () => {
  it('names the allowlist entry, shows 2/3 and the window, then the ban, and a manual ban names its token', async () => {
    const e = await daemon(cfg('explain.db'));
    const explain = (a: string) => e.operations.explain(P(a));

    e.enforcer.handleAlert(alert({ srcIp: '192.0.2.5', destIp: OWN }), now);
    const allowed = await explain('192.0.2.5');
    expect(allowed).toMatchObject({ banned: false, why: { code: 'allowlisted', detail: { entry: '192.0.2.0/28' } } });
    expect(allowed.protection).toMatchObject({ code: 'allowlisted', entry: '192.0.2.0/28', kernelMeters: false });
    expect(allowed.history[0]).toMatchObject({ kind: 'alert', code: 'allowlisted', detail: { entry: '192.0.2.0/28' } });

    const scanner = '198.51.100.7';
    e.enforcer.handleAlert(alert({ srcIp: scanner, destIp: OWN }), now);
    e.enforcer.handleAlert(alert({ srcIp: scanner, destIp: OWN }), now + 1000);
    const below = await explain(scanner);
    expect(below).toMatchObject({
      banned: false,
      packets: null,
      why: { code: 'below_threshold', detail: { rule: 'et-scan', alerts: 2, threshold: 3, windowSec: 120 } },
    });
    expect(below.history.map((h) => h.code)).toEqual(['below_threshold', 'below_threshold']);

    e.enforcer.handleAlert(alert({ srcIp: scanner, destIp: OWN }), now + 2000);
    await e.flushed();
    const banned = await explain(scanner);
    expect(banned).toMatchObject({
      banned: true,
      why: { code: 'banned', detail: { source: 'suricata', reason: 'et-scan', offences: 1 } },
    });
    expect(banned.history.slice(0, 2).map((h) => `${h.kind} ${h.code}`)).toEqual(['ban in_kernel', 'alert banned']);
    expect(banned.history[1]!.detail).toMatchObject({ rule: 'et-scan', durationSec: 600, offences: 1 });

    await e.operations.ban({
      address: P('203.0.113.9'),
      durationSec: 60,
      reason: 'by hand',
      actor: { token: 'ops', from: 'uid:1000' },
    });
    await e.operations.unban(P('203.0.113.9'), { actor: { token: 'admin', from: '127.0.0.1' } });
    const manual = (await explain('203.0.113.9')).history.filter((h) => h.kind === 'manual');
    expect(manual.map((h) => `${h.code} ${h.actor}`)).toEqual(['unban admin@127.0.0.1', 'ban ops@uid:1000']);
    await e.operations.addAllow(P('198.51.100.0/28'), 'office', { token: 'ops', from: '192.0.2.5' });
    // The audit list: operators' actions only (no alert decisions), newest first, bounded by limit.
    const audit = await e.operations.audit(10);
    expect(audit.map((a) => `${a.code} ${a.address} ${a.actor}`)).toEqual([
      'allow 198.51.100.0/28 ops@192.0.2.5',
      'unban 203.0.113.9 admin@127.0.0.1',
      'ban 203.0.113.9 ops@uid:1000',
    ]);
    expect((await e.operations.audit(1)).map((a) => a.code)).toEqual(['allow']);

    // An actor whose peer is still being looked up (a `ref`): its rows wait for actorFrom and
    // carry the uid found; one never named is written with the `from` it came with, at stop.
    await e.operations.ban({
      address: P('203.0.113.10'),
      durationSec: 60,
      reason: 'by hand',
      actor: { token: 'ops', from: 'unix', ref: 41 },
    });
    await e.operations.unban(P('203.0.113.10'), { actor: { token: 'ops', from: 'unix', ref: 41 } });
    await e.operations.ban({
      address: P('203.0.113.11'),
      durationSec: 60,
      reason: 'by hand',
      actor: { token: 'ops', from: 'unix', ref: 42 },
    });
    expect((await e.operations.audit(10)).map((a) => a.address)).not.toContain('203.0.113.10');
    e.operations.actorFrom(41, 'uid:1000');
    e.operations.actorFrom(999, 'uid:0');
    expect((await e.operations.audit(2)).map((a) => `${a.code} ${a.address} ${a.actor}`)).toEqual([
      'unban 203.0.113.10 ops@uid:1000',
      'ban 203.0.113.10 ops@uid:1000',
    ]);
    await e.stop();
    const reopened = await daemon(cfg('explain.db'));
    expect((await reopened.operations.audit(1)).map((a) => `${a.code} ${a.address} ${a.actor}`)).toEqual([
      'ban 203.0.113.11 ops@unix',
    ]);
  });

  it('a never-seen address: the rules that would apply, and what one ET SCAN alert would do (nothing counted)', async () => {
    const e = await daemon(cfg('never.db', 'scan_detection: { enabled: true }'));
    const x = await e.operations.explain(P('198.51.100.99'));
    expect(x).toMatchObject({
      banned: false,
      history: [],
      why: { code: 'never_seen', detail: { kernelMeters: true } },
      protection: { code: null, singleEtScanAlert: { code: 'below_threshold', detail: { alerts: 1, threshold: 3 } } },
    });
    // The dry alert counted nothing: a second explain says 1/3 again.
    expect((await e.operations.explain(P('198.51.100.99'))).protection.singleEtScanAlert.detail).toMatchObject({
      alerts: 1,
    });
    const home = await e.operations.explain(P('10.9.9.9'));
    expect(home.why).toEqual({ code: 'home', detail: { entry: '10.0.0.0/8' } });
    expect(home.protection.kernelMeters).toBe(false);
    expect((await e.operations.explain(P(OWN))).why.code).toBe('own_address');
  });
});

describe('explain: IPv6 and without a journal', () => {
  it('an IPv6 source is explained through its /64 ban target; journal.enabled false keeps no rows, explain still answers', async () => {
    const e = await daemon(cfg('v6.db'));
    for (let i = 0; i < 3; i++) e.enforcer.handleAlert(alert({ srcIp: '2001:db8:5::7', destIp: OWN }), now + i);
    await e.flushed();
    const x = await e.operations.explain(P('2001:db8:5::7'));
    expect(x).toMatchObject({ banned: true, ban: { address: '2001:db8:5::/64' } });
    expect(x.history.map((h) => `${h.kind} ${h.code} ${h.address}`)).toEqual([
      'ban in_kernel 2001:db8:5::/64',
      'alert banned 2001:db8:5::/64',
      'alert below_threshold 2001:db8:5::/64',
      'alert below_threshold 2001:db8:5::/64',
    ]);
    const off = await daemon(cfg('off.db', 'journal: { enabled: false }'));
    off.enforcer.handleAlert(alert({ srcIp: '198.51.100.8', destIp: OWN }), now);
    const y = await off.operations.explain(P('198.51.100.8'));
    expect(y).toMatchObject({ banned: false, history: [], why: { code: 'never_seen' } });
    expect((await off.operations.status()).engine).toMatchObject({ journal: null });
    expect(await off.operations.audit(5)).toEqual([]);
  });
});

describe('the journal bound', () => {
  it('keeps at most max_entries rows, and the store file stops growing once the bound is reached', () => {
    const store = new Store(join(dir, 'bound.db'));
    const journal = new Journal({
      store,
      log: silentLogger(),
      clock: () => now,
      bounds: () => ({ maxEntries: 2000, maxAgeMs: 86_400_000 }),
      protectingEntry: () => null,
    });
    const pages = () => Number((store.db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count);
    const sizes: number[] = [];
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 5000; i++) {
        const a = alert({ srcIp: `198.51.${(i >> 8) & 255}.${i & 255}`, destIp: OWN });
        journal.alert({ kind: 'skip', why: 'below_threshold', address: a.src.ip }, a, now + round);
      }
      journal.flush();
      if (round % 10 === 9) sizes.push(pages());
    }
    expect(journal.table.count).toBe(2000);
    expect(journal.stats).toMatchObject({ written: 200_000, dropped: 0, errors: 0, pending: 0 });
    // Flat: the last size is the size after the first 50,000 rows (deleted pages are reused).
    expect(sizes[3]).toBeLessThanOrEqual(sizes[0]!);
    store.close();
  });

  it('coalesces a repeated skip: its first row at once, then one summary row per window with the count', () => {
    const store = new Store(join(dir, 'repeats.db'));
    let clock = now;
    const journal = new Journal({
      store,
      log: silentLogger(),
      clock: () => clock,
      bounds: () => ({ maxEntries: 100_000, maxAgeMs: 86_400_000 }),
      protectingEntry: () => null,
    });
    const scanner = alert({ srcIp: '198.51.100.7', destIp: OWN });
    const skip = { kind: 'skip' as const, why: 'already_banned' as const, address: '198.51.100.7' };
    const rows = (a: string) => journal.table.history([a], 100).map((r) => `${r.code} ${r.detail}`);
    // 10,000 alerts of a banned scanner over 30 s, and a source below its threshold twice.
    for (let i = 0; i < 10_000; i++) {
      clock = now + i * 3;
      journal.alert(skip, scanner, clock);
      if (i % 5000 === 0) journal.flush();
    }
    const slow = alert({ srcIp: '198.51.100.8', destIp: OWN });
    for (const n of [1, 2]) {
      const d = { rule: 'et-scan', alerts: n, threshold: 3, windowSec: 120 };
      journal.alert({ kind: 'skip', why: 'below_threshold', address: '198.51.100.8', detail: d }, slow, clock);
    }
    journal.flush();
    expect(rows('198.51.100.7')).toHaveLength(1);
    expect(rows('198.51.100.8')).toHaveLength(2);
    // The window ends: one summary row standing for the 9,999 alerts after the first.
    clock = now + 61_000;
    journal.flush();
    const history = journal.table.history(['198.51.100.7'], 100);
    expect(history).toHaveLength(2);
    expect(JSON.parse(history[0]!.detail!)).toMatchObject({ sid: scanner.sid, repeats: 9999, sinceMs: now });
    expect(history[0]!.atMs).toBe(now + 9999 * 3);
    expect(journal.stats).toMatchObject({ coalesced: 9999, dropped: 0 });
    // A new run after the window; its repeats are written at stop without waiting for the window.
    journal.alert(skip, scanner, clock);
    journal.alert(skip, scanner, clock + 1);
    journal.flush();
    journal.stop();
    expect(journal.table.history(['198.51.100.7'], 100).map((r) => JSON.parse(r.detail!).repeats ?? 0)).toEqual([
      1, 0, 9999, 0,
    ]);
    store.close();
  });

  it('drops rows older than max_age', () => {
    const store = new Store(join(dir, 'age.db'));
    let clock = now;
    const journal = new Journal({
      store,
      log: silentLogger(),
      clock: () => clock,
      bounds: () => ({ maxEntries: 1000, maxAgeMs: 60_000 }),
      protectingEntry: () => null,
    });
    journal.event({ type: 'allow', address: '192.0.2.1', atMs: clock });
    journal.flush();
    clock += 61_000;
    journal.event({ type: 'allow', address: '192.0.2.2', atMs: clock });
    journal.flush();
    expect(journal.table.history(['192.0.2.1', '192.0.2.2'], 10).map((r) => r.address)).toEqual(['192.0.2.2']);
    store.close();
  });
});
