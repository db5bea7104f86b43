/**
 * The ruleset against the real kernel, in a namespace made for this file: atomic apply,
 * idempotent re-apply, ban elements kept, other tables untouched, broken config changes nothing.
 * (The host-namespace guard: exec.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Allowlist } from '../../src/engine/allowlist.ts';
import { parsePrefix } from '../../src/net/ip.ts';
import { Store } from '../../src/store/store.ts';
import { Netns } from '../../src/lab/netns.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { applyRuleset } from '../../src/nft/apply.ts';
import { readSet, readCounters, tableExists } from '../../src/nft/state.ts';
import { loadConfig, parseConfigText } from '../../src/config/config.ts';
import { COUNTERS } from '../../src/nft/objects.ts';
import { REPO, runCli } from '../helpers.ts';

let ns: Netns;
let nft: NftRunner;
const FULL = join(REPO, 'test/fixtures/full.yaml');
const BROKEN = join(REPO, 'test/fixtures/broken.yaml');
const list = async () => (await nft.run(['list', 'table', 'inet', 'nftsentry'])).stdout;
/** The listing without the parts that change on their own (time left on an element). */
const stable = (s: string) => s.replace(/ expires [0-9hmsd]+/g, '');

beforeAll(async () => {
  ns = await Netns.create('apply');
  nft = new NftRunner({ netns: ns.name });
});
afterAll(async () => {
  await ns?.delete();
});

describe('apply', () => {
  it('loads the full ruleset, and applying twice gives an identical table', async () => {
    const config = loadConfig(FULL);
    await applyRuleset(config, { runner: nft });
    const first = await list();
    await applyRuleset(config, { runner: nft });
    expect(await list()).toBe(first);
    expect(first).toContain('type filter hook input priority filter; policy drop;');
    expect(first).toContain('type filter hook forward priority filter; policy drop;');
    expect(first).toContain('type filter hook prerouting priority raw; policy accept;');
    const counters = (await readCounters(nft)).map((c) => c.name).sort();
    expect(counters).toEqual([...COUNTERS].sort());
    expect((await readSet(nft, 'trap_ports')).map((e) => e.key)).toEqual([
      'tcp . 23',
      'tcp . 445',
      'tcp . 3389',
      'udp . 1900',
    ]);
    expect((await readSet(nft, 'services')).map((e) => e.key)).toEqual([
      'tcp . 22',
      'tcp . 80',
      'tcp . 443',
      'tcp . 8000-8010',
      'udp . 53',
      'udp . 51820',
    ]);
    expect((await readSet(nft, 'allow4')).map((e) => e.key)).toEqual(['192.0.2.10 . 0-255', '203.0.113.0/24 . 0-255']);
    expect(first).toContain('ip saddr . tcp dport { 198.51.100.0/24 . 2222, 198.51.100.0/24 . 9100-9101 } accept');
  });

  it('keeps ban set elements (with their timeouts) across a re-apply, also with a different config', async () => {
    await applyRuleset(loadConfig(FULL), { runner: nft });
    await nft.runScript(
      [
        'add element inet nftsentry ban4 { 198.18.9.1 timeout 1h, 198.18.9.2 }',
        'add element inet nftsentry ban6 { 2001:db8:9::1 timeout 2h }',
        'add element inet nftsentry bannet4 { 198.18.10.0/24 . 0-255 timeout 1h }',
        'add element inet nftsentry bannet6 { 2001:db8:a::/64 . 0-255 timeout 1h }',
        'add element inet nftsentry scanners4 { 198.18.9.3 timeout 1h }',
        'add element inet nftsentry scan_reason4 { 198.18.9.3 timeout 1h : 0x2 }',
        'add element inet nftsentry scanners6 { 2001:db8:9::3 timeout 1h }',
      ].join('\n'),
    );
    const before = stable(await list());
    await applyRuleset(parseConfigText('services: { tcp: [80] }\nforward: { policy: accept }'), { runner: nft });
    await applyRuleset(loadConfig(FULL), { runner: nft });
    expect(stable(await list())).toBe(before);
    const ban4 = await readSet(nft, 'ban4');
    expect(ban4.map((e) => [e.key, e.timeoutSec])).toEqual([
      ['198.18.9.1', 3600],
      ['198.18.9.2', null],
    ]);
    expect(ban4[0]!.expiresSec).toBeGreaterThan(3500);
    expect((await readSet(nft, 'bannet6')).map((e) => e.key)).toEqual(['2001:db8:a::/64 . 0-255']);
    expect((await readSet(nft, 'scan_reason4', 'map'))[0]).toMatchObject({ key: '198.18.9.3', data: 2 });
  });

  it('overlapping config entries load (the concatenated sets take no overlaps: covered prefixes dropped, port ranges merged)', async () => {
    const config = parseConfigText(`allowlist: [10.0.0.0/8, 10.1.0.0/16, 10.0.0.0/8, "2001:db8::/32", "2001:db8:1::/48"]
services: { tcp: [22, "20-25", "24-30", 80, 81], udp: [53] }
scan_detection: { trap_ports: { tcp: [445, 445], udp: [] } }
`);
    await applyRuleset(config, { runner: nft });
    expect((await readSet(nft, 'allow4')).map((e) => e.key)).toEqual(['10.0.0.0/8 . 0-255']);
    expect((await readSet(nft, 'allow6')).map((e) => e.key)).toEqual(['2001:db8::/32 . 0-255']);
    expect((await readSet(nft, 'services')).map((e) => e.key)).toEqual(['tcp . 20-30', 'tcp . 80-81', 'udp . 53']);
    expect((await readSet(nft, 'trap_ports')).map((e) => e.key)).toEqual(['tcp . 445']);
  });

  it('changes the forward policy in place', async () => {
    await applyRuleset(parseConfigText('forward: { policy: accept }'), { runner: nft });
    expect(await list()).toContain('hook forward priority filter; policy accept;');
    await applyRuleset(parseConfigText('forward: { policy: drop }'), { runner: nft });
    expect(await list()).toContain('hook forward priority filter; policy drop;');
  });

  it('never touches another table (Docker, firewalld, iptables-nft keep working beside it)', async () => {
    await nft.runScript(
      [
        'table ip docker_like {',
        '  chain DOCKER {',
        '    type filter hook forward priority filter; policy accept;',
        '    counter accept',
        '  }',
        '}',
        'table inet firewalld_like {',
        '  set s { type ipv4_addr; elements = { 198.18.7.7 }; }',
        '  chain c { type filter hook input priority 10; policy accept; }',
        '}',
      ].join('\n'),
    );
    const others = async () => (await nft.run(['list', 'tables'])).stdout;
    const docker = async () => (await nft.run(['list', 'table', 'ip', 'docker_like'])).stdout;
    const fw = async () => (await nft.run(['list', 'table', 'inet', 'firewalld_like'])).stdout;
    const [t0, d0, f0] = [await others(), await docker(), await fw()];
    await applyRuleset(loadConfig(FULL), { runner: nft });
    await applyRuleset(parseConfigText(''), { runner: nft });
    expect([await others(), await docker(), await fw()]).toEqual([t0, d0, f0]);
  });

  it('rebuilds from nothing after `nft flush ruleset`', async () => {
    await nft.run(['flush', 'ruleset']);
    expect(await tableExists(nft)).toBe(false);
    await applyRuleset(loadConfig(FULL), { runner: nft });
    expect(await tableExists(nft)).toBe(true);
  });
});

describe('the CLI', () => {
  it('check accepts a good config through nft -c and changes nothing', async () => {
    await applyRuleset(parseConfigText(''), { runner: nft });
    const before = await list();
    const r = await runCli(['-c', FULL, '--netns', ns.name, 'check']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(await list()).toBe(before);
  });

  it('a broken config: clear errors naming each key, exit 2, no nft change', async () => {
    await applyRuleset(loadConfig(FULL), { runner: nft });
    const before = await list();
    for (const cmd of ['apply', 'check']) {
      const r = await runCli(['-c', BROKEN, '--netns', ns.name, cmd]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain('services.udpp: unknown key');
      expect(r.stderr).toContain('services.tcp[1]: Too big');
      expect(r.stderr).toContain('allowlist[0]: "10.0.0.1/8" has host bits set');
      expect(r.stderr).toContain('scan_detection.fast.window');
    }
    expect(await list()).toBe(before);
  });

  it('render prints what apply loads; apply loads it', async () => {
    const rendered = await runCli(['-c', FULL, 'render']);
    expect(rendered.exitCode).toBe(0);
    expect(rendered.stdout).toContain('table inet nftsentry {');
    await nft.run(['flush', 'ruleset']);
    const applied = await runCli(['-c', FULL, '--netns', ns.name, 'apply']);
    expect(applied.exitCode).toBe(0);
    expect(await list()).toContain('meta l4proto . th dport @services accept');
  });

  it("apply renders the live allowlist (the config's and the API's entries from the store), as the daemon does", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nftsentry-apply-'));
    try {
      const storePath = join(dir, 'state.db');
      const configPath = join(dir, 'nftsentry.yaml');
      writeFileSync(configPath, `${readFileSync(FULL, 'utf8')}\nstore: { path: ${storePath} }\n`);
      const store = new Store(storePath);
      new Allowlist(store, [], Date.now()).add(parsePrefix('198.18.77.0/24')!, 'from the API', Date.now());
      store.close();
      const r = await runCli(['-c', configPath, '--netns', ns.name, 'apply']);
      expect(r.exitCode, r.stderr).toBe(0);
      const allow4 = (await readSet(nft, 'allow4')).map((e) => e.key);
      expect(allow4.some((k) => k.startsWith('198.18.77.0/24 '))).toBe(true);
      expect(allow4.some((k) => k.startsWith('203.0.113.0/24 '))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing config file: exit 2 with the path', async () => {
    const r = await runCli(['-c', '/nonexistent/nftsentry.yaml', '--netns', ns.name, 'apply']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('/nonexistent/nftsentry.yaml');
  });
});
