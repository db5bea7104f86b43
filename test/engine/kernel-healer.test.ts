/**
 * Self-healing decisions on the in-memory FakeNft (no root; the fake has no `nft monitor`, so the
 * damage the monitor would report is built from recorded monitor lines): what is repaired for
 * each kind of damage, with which transactions, how each heal is counted, that a ban keeps the
 * time it had left, and that the daemon's own changes in flight are not taken for damage.
 * test/engine/heal.test.ts does the same on the kernel with the real monitor.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Daemon } from '../../src/cli/commands/daemon.ts';
import { parseConfigText } from '../../src/config/config.ts';
import { readDamage } from '../../src/engine/kernel-damage.ts';
import { silentLogger } from '../../src/log.ts';
import { parsePrefix } from '../../src/net/ip.ts';
import { FakeNft } from '../../src/nft/fake.ts';
import { readSet } from '../../src/nft/state.ts';
import { alert } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'nftsentry-healer-'));
const P = (t: string) => parsePrefix(t)!;
let now = Date.UTC(2026, 11, 1);
let nft = new FakeNft({ clock: () => now });
const daemons: Daemon[] = [];

async function daemon(engine = ''): Promise<Daemon> {
  const config = parseConfigText(`home_networks: [10.0.0.0/8]
services: { tcp: [22, 80] }
store: { path: ${join(dir, `healer-${daemons.length}.db`)} }
engine: { heal_poll_ms: 60000, kernel_scan_poll_ms: 60000, rules_check_ms: 0${engine} }
`);
  const d = new Daemon(config, { log: silentLogger(), nft, clock: () => now, readOwnAddresses: async () => [] });
  daemons.push(d);
  await d.start();
  await d.sync.reconciled;
  for (const address of ['198.51.100.1', '198.51.100.2', '2001:db8:64::/64', '198.51.100.0/26']) {
    await d.operations.ban({ address: P(address), durationSec: 600, reason: 'test' });
  }
  return d;
}

/** Every ban set: key -> seconds left. */
async function bans(): Promise<Record<string, Record<string, number | null>>> {
  const out: Record<string, Record<string, number | null>> = {};
  for (const set of ['ban4', 'ban6net64', 'bannet4']) {
    out[set] = Object.fromEntries((await readSet(nft, set)).map((e) => [e.key, e.expiresSec]));
  }
  return out;
}

/** Transactions sent from now on, first line of each (an apply is a whole script). */
function watchTransactions(): () => string[] {
  const from = nft.transactions.length;
  return () =>
    nft.transactions.slice(from).map((t) => (t.length > 3 ? `(script of ${t.length} statements)` : t.join('; ')));
}

/** Counts `list set` reads of the ban sets from now on. */
function countSetReads(): () => number {
  const json = nft.json.bind(nft);
  let n = 0;
  nft.json = (args) => {
    if (args[0] === 'list' && args[1] === 'set' && String(args[4]).startsWith('ban')) n++;
    return json(args);
  };
  return () => n;
}

afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop().catch(() => undefined);
  nft = new FakeNft({ clock: () => now });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('KernelHealer on the fake nft', () => {
  it('elements the monitor saw deleted go back with the time they had left, in one transaction, no read', async () => {
    const d = await daemon();
    now += 100_000;
    await nft.run(['flush', 'set', 'inet', 'nftsentry', 'ban4']);
    const sent = watchTransactions();
    const setReads = countSetReads();
    d.healer.report(
      readDamage([
        'delete element inet nftsentry ban4 { 198.51.100.1 timeout 10m expires 8m20s }',
        'delete element inet nftsentry ban4 { 198.51.100.2 timeout 10m expires 8m20s }',
      ]),
      'test',
    );
    await d.healer.idle();
    expect(sent()).toEqual([
      'add element inet nftsentry ban4 { 198.51.100.1 timeout 500s, 198.51.100.2 timeout 500s }',
    ]);
    expect(setReads()).toBe(0);
    expect((await bans()).ban4).toEqual({ '198.51.100.1': 500, '198.51.100.2': 500 });
    expect(d.healer.stats).toMatchObject({ heals: 1, healsByKind: { elements: 1 } });
  });

  it('an unclear transaction (a prefix-ban set nft cannot print): the prefix-ban sets are read and put right', async () => {
    const d = await daemon();
    now += 30_000;
    await nft.run(['flush', 'set', 'inet', 'nftsentry', 'bannet4']);
    d.healer.report(readDamage([]), 'test');
    await d.healer.idle();
    expect((await bans()).bannet4).toEqual({ '198.51.100.0/26 . 0-255': 570 });
    expect(d.healer.stats.healsByKind.elements).toBe(1);
  });

  it('a full check finds elements removed by hand (ban6net64) and puts them back', async () => {
    const d = await daemon();
    await nft.run(['delete', 'element', 'inet', 'nftsentry', 'ban6net64', '{', '2001:db8:64::', '}']);
    await d.healer.check('test');
    expect((await bans()).ban6net64).toEqual({ '2001:db8:64::': 600 });
    expect(d.healer.stats).toMatchObject({ heals: 1, fullChecks: 1, healsByKind: { elements: 1 } });
  });

  it('a chain flushed: the ruleset re-applied (one transaction), the ban sets untouched and not read', async () => {
    const d = await daemon();
    const before = await bans();
    await nft.run(['flush', 'chain', 'inet', 'nftsentry', 'input']);
    const sent = watchTransactions();
    const setReads = countSetReads();
    d.healer.report(readDamage(['delete rule inet nftsentry input handle 75']), 'test');
    await d.healer.idle();
    expect(sent()).toEqual([expect.stringMatching(/^\(script of \d+ statements\)$/)]);
    // The config sets' elements are counted after the apply (the expected shape); no ban set is read.
    expect(setReads()).toBe(0);
    expect(JSON.stringify(await nft.json(['list', 'chain', 'inet', 'nftsentry', 'input']))).toContain(
      'drop_policy_input',
    );
    expect(await bans()).toEqual(before);
    expect(d.healer.stats.healsByKind).toEqual({ table: 0, set: 0, chain: 1, rule: 0, elements: 0 });
  });

  it('flush table: counted as the table; rules back, elements kept', async () => {
    const d = await daemon();
    const before = await bans();
    await nft.run(['flush', 'table', 'inet', 'nftsentry']);
    await d.healer.check('test');
    expect(d.healer.stats.healsByKind.table).toBe(1);
    expect(JSON.stringify(await nft.json(['list', 'chain', 'inet', 'nftsentry', 'prerouting']))).toContain('@ban4');
    expect(await bans()).toEqual(before);
  });

  it('a set deleted (its chain flushed first): counted as the set; the set and its bans back with their time left', async () => {
    const d = await daemon();
    now += 60_000;
    await nft.runScript('flush chain inet nftsentry prerouting\ndelete set inet nftsentry ban4\n');
    d.healer.report(
      readDamage(['delete rule inet nftsentry prerouting handle 3', 'delete set inet nftsentry ban4']),
      'x',
    );
    await d.healer.idle();
    expect(d.healer.stats.healsByKind.set).toBe(1);
    expect((await bans()).ban4).toEqual({ '198.51.100.1': 540, '198.51.100.2': 540 });
  });

  it("a set deleted while the daemon's own apply runs (it re-creates the set empty): the bans still come back", async () => {
    for (const order of ['apply first', 'report first']) {
      const d = await daemon();
      now += 20_000;
      await nft.runScript('flush chain inet nftsentry prerouting\ndelete set inet nftsentry ban4\n');
      const damage = readDamage(['delete rule inet nftsentry prerouting handle 3', 'delete set inet nftsentry ban4']);
      const apply = order === 'apply first' ? d.operations.addAllow(P('192.0.2.0/24'), 'x') : null;
      d.healer.report(damage, order);
      const later = apply ?? d.operations.addAllow(P('192.0.2.0/24'), 'x');
      await later;
      await d.healer.idle();
      expect((await bans()).ban4, order).toEqual({ '198.51.100.1': 580, '198.51.100.2': 580 });
      await d.stop();
      nft = new FakeNft({ clock: () => now });
    }
  });

  it('flush ruleset: the table and every ban back, each with its time left', async () => {
    const d = await daemon();
    now += 10_000;
    await nft.run(['flush', 'ruleset']);
    d.healer.suspect('test');
    await d.healer.idle();
    expect(await bans()).toEqual({
      ban4: { '198.51.100.1': 590, '198.51.100.2': 590 },
      ban6net64: { '2001:db8:64::': 590 },
      bannet4: { '198.51.100.0/26 . 0-255': 590 },
    });
    expect(d.healer.stats.healsByKind.table).toBe(1);
  });

  it('a config set emptied by hand: the ruleset re-applied, counted as a set', async () => {
    const d = await daemon();
    await nft.run(['flush', 'set', 'inet', 'nftsentry', 'services']);
    d.healer.report(readDamage(['delete element inet nftsentry services { 6 . 22-0x5649 [invalid type] }']), 'x');
    await d.healer.idle();
    expect((await readSet(nft, 'services')).length).toBe(2);
    expect(d.healer.stats.healsByKind.set).toBe(1);
  });

  it('nothing damaged: no heal; a ban nearly over is not put back', async () => {
    const d = await daemon();
    await d.healer.check('test');
    d.healer.report(readDamage([]), 'test');
    await d.healer.idle();
    expect(d.healer.stats.heals).toBe(0);
    now += 599_000;
    await nft.run(['flush', 'set', 'inet', 'nftsentry', 'ban4']);
    await d.healer.check('test');
    expect(d.healer.stats.heals).toBe(0);
  });

  it("the daemon's own ban still queued is not missing, an unknown kernel element is adopted, not healed", async () => {
    const d = await daemon(', flush_interval_ms: 1000');
    d.enforcer.handleAlerts([{ source: 'test', alert: alert({ srcIp: '198.51.100.77' }), receivedMs: now }]);
    expect(d.flusher.unsettled().has('198.51.100.77')).toBe(true);
    await nft.run(['add', 'element', 'inet', 'nftsentry', 'ban4', '{', '198.51.100.88', 'timeout', '300s', '}']);
    await d.healer.check('test');
    expect(d.healer.stats.heals).toBe(0);
    expect(Object.keys((await bans()).ban4!).sort()).toEqual(['198.51.100.1', '198.51.100.2', '198.51.100.88']);
    expect(d.sync.stats.adopted).toBe(1);
    await d.flushed();
    expect(Object.keys((await bans()).ban4!)).toContain('198.51.100.77');
  });
});
