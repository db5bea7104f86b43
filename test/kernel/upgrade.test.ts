/**
 * Upgrading a running system whose kernel still has the older bannet4/bannet6 and config sets
 * (plain interval sets, before they became concatenations), in a namespace made for this file:
 * the older version's rendered ruleset is loaded with prefix bans in it, then `check`, `apply`
 * and an engine start of this version find the sets replaced in one transaction (the old
 * per-protocol port sets deleted), the bans in the new sets with the time they had left, and
 * nothing else changed; the ban sets without `counter` replaced the same way, their elements kept
 * with their time left. And from the version before the hash buckets (meters without a
 * fallback), with bans held and a smaller `size` on one meter: a plain apply.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netns } from '../../src/lab/netns.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { applyRuleset } from '../../src/nft/apply.ts';
import { readSet } from '../../src/nft/state.ts';
import { parseConfigText } from '../../src/config/config.ts';
import { Daemon } from '../../src/cli/commands/daemon.ts';
import { silentLogger } from '../../src/log.ts';
import { parsePrefix } from '../../src/net/ip.ts';
import { REPO, runCli } from '../helpers.ts';

let ns: Netns;
let nft: NftRunner;
let dir: string;
const engines: Daemon[] = [];
const OLD = readFileSync(join(REPO, 'test/fixtures/ruleset-plain-bannet.nft'), 'utf8');
const BEFORE_BUCKETS = readFileSync(join(REPO, 'test/fixtures/ruleset-before-buckets.nft'), 'utf8');
const setType = async (name: string) => {
  const j = await nft.json(['-t', 'list', 'set', 'inet', 'nftsentry', name]);
  return (j.nftables.find((o) => 'set' in o)!.set as { type: unknown }).type;
};
const entries = async (name: string) => (await readSet(nft, name)).map((e) => [e.key, e.timeoutSec]);
/** A ban set replaced to gain `counter`: its elements carried with the time they had left (now their timeout). */
const carried = async (name: string, key: string, sec: number) => {
  const e = await readSet(nft, name);
  expect(e.map((x) => x.key)).toEqual([key]);
  expect(e[0]!.timeoutSec).toBeGreaterThan(sec - 60);
  expect(e[0]!.timeoutSec).toBeLessThanOrEqual(sec);
  expect(e[0]!.packets).toBe(0);
};
const list = async () =>
  (await nft.run(['list', 'table', 'inet', 'nftsentry'])).stdout.replace(/ expires [0-9hmsd]+/g, '');

/** The older version's table, with prefix bans in its plain interval sets. */
async function loadOld(elements: string[]): Promise<void> {
  await nft.run(['flush', 'ruleset']);
  await nft.runScript(`${OLD}\n${elements.join('\n')}\n`);
  expect(await setType('bannet4')).toBe('ipv4_addr');
  expect(await setType('bannet6')).toBe('ipv6_addr');
}

beforeAll(async () => {
  ns = await Netns.create('upgrade');
  nft = new NftRunner({ netns: ns.name });
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-upgrade-'));
});
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop().catch(() => undefined);
});
afterAll(async () => {
  await ns?.delete();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('upgrade from plain interval bannet4/bannet6', () => {
  it('check passes and changes nothing; apply replaces both sets in one transaction, carries their elements over, keeps the rest', async () => {
    await loadOld([
      'add element inet nftsentry bannet4 { 198.18.10.0/24 timeout 1h, 198.18.11.0/24 }',
      'add element inet nftsentry bannet6 { 2001:db8:a::/48 timeout 2h }',
      'add element inet nftsentry ban4 { 198.18.9.1 timeout 1h }',
      'add element inet nftsentry ban6net64 { 2001:db8:9:: timeout 1h }',
    ]);
    const before = await list();
    const check = await runCli(['-c', join(REPO, 'test/fixtures/full.yaml'), '--netns', ns.name, 'check']);
    expect(check.stderr).toBe('');
    expect(check.exitCode).toBe(0);
    expect(await list()).toBe(before);

    const config = parseConfigText('');
    await applyRuleset(config, { runner: nft });
    expect(await setType('bannet4')).toEqual(['ipv4_addr', 'inet_proto']);
    expect(await setType('bannet6')).toEqual(['ipv6_addr', 'inet_proto']);
    // Carried over with the time they had left (now their timeout), a permanent one permanent.
    const b4 = await readSet(nft, 'bannet4');
    expect(b4.map((e) => e.key)).toEqual(['198.18.10.0/24 . 0-255', '198.18.11.0/24 . 0-255']);
    expect(b4[0]!.timeoutSec).toBeGreaterThan(3500);
    expect(b4[0]!.timeoutSec).toBeLessThanOrEqual(3600);
    expect(b4[1]!.timeoutSec).toBe(null);
    const b6 = await readSet(nft, 'bannet6');
    expect(b6.map((e) => e.key)).toEqual(['2001:db8:a::/48 . 0-255']);
    expect(b6[0]!.timeoutSec).toBeGreaterThan(7100);
    // The ban sets of the older version count nothing: replaced with `counter`, elements kept.
    await carried('ban4', '198.18.9.1', 3600);
    await carried('ban6net64', '2001:db8:9::', 3600);
    const after = await list();
    expect(after).toContain(
      'ip saddr . ip protocol @bannet4 ip saddr . ip protocol != @allow4 counter name "drop_banned_net" drop',
    );
    expect(after).not.toContain('ip saddr @bannet4');
    // The config sets became concatenations as well; the per-protocol port sets are gone.
    expect(await setType('allow4')).toEqual(['ipv4_addr', 'inet_proto']);
    expect(await setType('services')).toEqual(['inet_proto', 'inet_service']);
    for (const gone of ['services_tcp', 'services_udp', 'fwd_services_tcp', 'fwd_services_udp', 'trap_tcp', 'trap_udp'])
      expect(after).not.toContain(`set ${gone} `);
    // From here on a plain re-apply: nothing to replace, the table stays as it is.
    await applyRuleset(config, { runner: nft });
    expect(await list()).toBe(after);
  });

  it("an engine start on the older table: the store's prefix bans and a kernel-only one end up in the new sets", async () => {
    const config = parseConfigText(
      `home_networks: [10.0.0.0/8]\nstore: { path: ${dir}/state.db }\napi: { enabled: false }\n`,
    );
    await nft.run(['flush', 'ruleset']);
    const first = new Daemon(config, { log: silentLogger(), nft });
    engines.push(first);
    await first.start();
    await first.operations.ban({ address: parsePrefix('198.51.100.0/24')!, durationSec: 600, reason: 'net4' });
    await first.operations.ban({ address: parsePrefix('2001:db8:77::/48')!, durationSec: 600, reason: 'net6' });
    await first.stop();
    // As the older version left the kernel: its ruleset, the store's bans in the plain sets, and
    // one the store does not know (a crash between nft and the store).
    await loadOld([
      'add element inet nftsentry bannet4 { 198.51.100.0/24 timeout 590s, 203.0.113.0/24 timeout 500s }',
      'add element inet nftsentry bannet6 { 2001:db8:77::/48 timeout 590s }',
    ]);
    const e = new Daemon(config, { log: silentLogger(), nft });
    engines.push(e);
    await e.start();
    await e.sync.reconciled;
    expect(await setType('bannet4')).toEqual(['ipv4_addr', 'inet_proto']);
    expect(await setType('bannet6')).toEqual(['ipv6_addr', 'inet_proto']);
    expect((await readSet(nft, 'bannet4')).map((x) => x.key).sort()).toEqual([
      '198.51.100.0/24 . 0-255',
      '203.0.113.0/24 . 0-255',
    ]);
    expect((await readSet(nft, 'bannet6')).map((x) => x.key)).toEqual(['2001:db8:77::/48 . 0-255']);
    expect(e.operations.getBan(parsePrefix('198.51.100.7')!)).toMatchObject({
      address: '198.51.100.0/24',
      reason: 'net4',
    });
    expect(e.operations.getBan(parsePrefix('203.0.113.7')!)).toMatchObject({
      address: '203.0.113.0/24',
      reason: 'adopted from kernel',
    });
    expect(e.operations.getBan(parsePrefix('2001:db8:77::1')!)).toMatchObject({
      address: '2001:db8:77::/48',
      reason: 'net6',
    });
    // Unbans reach the new sets.
    expect(await e.operations.unban(parsePrefix('198.51.100.0/24')!)).toBe(true);
    expect(await e.operations.unban(parsePrefix('203.0.113.0/24')!)).toBe(true);
    expect(await e.operations.unban(parsePrefix('2001:db8:77::/48')!)).toBe(true);
    expect(await readSet(nft, 'bannet4')).toEqual([]);
    expect(await readSet(nft, 'bannet6')).toEqual([]);
  });
});

describe('upgrade from the meters without hash buckets', () => {
  it('apply adds the bucket sets, chains and meter_full, takes a new size, keeps every ban and scanner', async () => {
    await nft.run(['flush', 'ruleset']);
    // The older ruleset, with scan_slow4 declared smaller than now (the kernel takes a new size).
    await nft.runScript(
      BEFORE_BUCKETS.replace(
        'set scan_slow4 { type ipv4_addr; size 65536;',
        'set scan_slow4 { type ipv4_addr; size 4096;',
      ),
    );
    await nft.runScript(
      [
        'add element inet nftsentry ban4 { 198.18.9.1 timeout 1h }',
        'add element inet nftsentry scanners4 { 198.18.9.2 timeout 1h }',
        'add element inet nftsentry scan_reason4 { 198.18.9.2 timeout 1h : 0x2 }',
        'add element inet nftsentry scanners6 { 2001:db8:9::2 timeout 1h }',
      ].join('\n'),
    );
    const size = async (name: string) => {
      const j = await nft.json(['-t', 'list', 'set', 'inet', 'nftsentry', name]);
      return (j.nftables.find((o) => 'set' in o)!.set as { size?: number }).size;
    };
    expect(await size('scan_slow4')).toBe(4096);
    await applyRuleset(parseConfigText(''), { runner: nft });
    expect(await size('scan_slow4')).toBe(65536);
    expect(await size('scan_fast_buckets4')).toBe(65536);
    await carried('ban4', '198.18.9.1', 3600);
    expect(await entries('scanners4')).toEqual([['198.18.9.2', 3600]]);
    expect(await entries('scanners6')).toEqual([['2001:db8:9::2', 3600]]);
    expect((await readSet(nft, 'scan_reason4', 'map')).map((e) => e.data)).toEqual([2]);
    const after = await list();
    expect(after).toContain('counter meter_full {');
    expect(after).toContain('jump scan_fast');
    expect(after).toContain('goto scan_slow_full');
    expect(after).not.toMatch(/chain scan_detect \{[^}]*add @scan_fast4/);
    // And a second apply changes nothing.
    await applyRuleset(parseConfigText(''), { runner: nft });
    expect(await list()).toBe(after);
  });
});
