/**
 * The in-memory nft (src/nft/fake.ts) on its own, without root: the rendered ruleset and its
 * re-apply and upgrade, element batches as elements.ts writes them (timeouts on an explicit
 * clock, refresh, remove of present and missing elements), flush and delete, atomic failures with
 * the runner's codes, JSON read back through the project's readers, and the test hooks.
 * test/kernel/fake-agrees.test.ts shows the kernel does the same.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeNft } from '../../src/nft/fake.ts';
import { applyRuleset, runRuleset } from '../../src/nft/apply.ts';
import { elementScript, elementStatements, type ElementBatch } from '../../src/nft/elements.ts';
import { loadTemplates, renderRuleset } from '../../src/nft/ruleset.ts';
import { readCounters, readSet, tableExists } from '../../src/nft/state.ts';
import { readKernelScanners } from '../../src/nft/scanners.ts';
import { readBanSets } from '../../src/engine/kernel-sync.ts';
import { loadConfig, parseConfigText } from '../../src/config/config.ts';
import { ErrorCodes, isNftsentryError } from '../../src/errors.ts';
import { REPO } from '../helpers.ts';

const FULL = loadConfig(join(REPO, 'test/fixtures/full.yaml'));
const OLD = readFileSync(join(REPO, 'test/fixtures/ruleset-plain-bannet.nft'), 'utf8');

/** A fake on a clock the test moves, with the full ruleset applied. */
async function setup(): Promise<{ nft: FakeNft; advance: (ms: number) => void }> {
  let now = 50_000;
  const nft = new FakeNft({ clock: () => now });
  await applyRuleset(FULL, { runner: nft });
  return { nft, advance: (ms) => (now += ms) };
}

const send = (nft: FakeNft, batch: ElementBatch) => nft.openSession().run(elementStatements(batch));
const entries = async (nft: FakeNft, set: string) => (await readSet(nft, set)).map((e) => [e.key, e.timeoutSec, e.expiresSec]);
async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string } | null> {
  try {
    await p;
    return null;
  } catch (err) {
    if (!isNftsentryError(err)) throw err;
    return { code: err.code, message: err.message };
  }
}

describe('FakeNft: the ruleset', () => {
  it('applies the rendered ruleset; applying it again keeps the table and the ban elements', async () => {
    const { nft } = await setup();
    await send(nft, { add: [{ set: 'ban4', key: '198.18.0.1', timeoutSec: 600 }] });
    // The text listing: rules get new handles, as in the kernel.
    const first = (await nft.run(['list', 'ruleset'])).stdout;
    await applyRuleset(FULL, { runner: nft });
    expect((await nft.run(['list', 'ruleset'])).stdout).toBe(first);
    expect(await entries(nft, 'ban4')).toEqual([['198.18.0.1', 600, 600]]);
    expect(await entries(nft, 'allow4')).toEqual([['192.0.2.10 . 0-255', null, null], ['203.0.113.0/24 . 0-255', null, null]]);
    const text = (await nft.run(['list', 'table', 'inet', 'nftsentry'])).stdout;
    expect(text).toContain('type filter hook forward priority filter; policy drop;');
    expect(text).toContain('meta l4proto . th dport @services accept');
  });

  it('refuses a re-declaration that differs (E_NFT_EXISTS) and a rule against a set of another type, atomically', async () => {
    const { nft } = await setup();
    const before = await nft.json(['list', 'ruleset']);
    const redeclared = await codeOf(nft.runScript('add element inet nftsentry ban4 { 198.18.0.1 }\ntable inet nftsentry {\n\tset ban4 { type ipv4_addr; flags interval; }\n}\n'));
    expect(redeclared).toEqual({ code: ErrorCodes.NFT_EXISTS, message: 'nft failed: Error: Could not process rule: File exists' });
    const mismatch = await codeOf(nft.runScript('table inet nftsentry {\n\tchain x {\n\t\tip saddr @bannet4 drop\n\t}\n}\n'));
    expect(mismatch).toEqual({
      code: ErrorCodes.NFT_REJECTED,
      message: 'nft failed: Error: datatype mismatch, expected IPv4 address, expression has type concatenation of (IPv4 address, Internet protocol)',
    });
    expect(await nft.json(['list', 'ruleset'])).toEqual(before);
  });

  it('check mode validates and changes nothing', async () => {
    const { nft } = await setup();
    const before = await nft.json(['list', 'ruleset']);
    await nft.runScript('flush set inet nftsentry allow4\ndelete table inet nftsentry\n', { check: true });
    expect((await codeOf(nft.runScript('delete element inet nftsentry ban4 { 198.18.0.9 }\n', { check: true })))?.code).toBe(ErrorCodes.NFT_NOT_FOUND);
    expect(await nft.json(['list', 'ruleset'])).toEqual(before);
  });

  it('flush table empties the chains and keeps the sets; flush ruleset removes the table', async () => {
    const { nft } = await setup();
    await send(nft, { add: [{ set: 'ban4', key: '198.18.0.1', timeoutSec: 600 }] });
    expect(JSON.stringify(await nft.json(['list', 'chain', 'inet', 'nftsentry', 'prerouting']))).toContain('"@ban4"');
    await nft.run(['flush', 'table', 'inet', 'nftsentry']);
    expect(JSON.stringify(await nft.json(['list', 'chain', 'inet', 'nftsentry', 'prerouting']))).not.toContain('"@ban4"');
    expect(await entries(nft, 'ban4')).toHaveLength(1);
    await nft.run(['flush', 'set', 'inet', 'nftsentry', 'ban4']);
    expect(await entries(nft, 'ban4')).toEqual([]);
    await nft.run(['flush', 'ruleset']);
    expect(await tableExists(nft)).toBe(false);
    expect((await codeOf(send(nft, { remove: [{ set: 'ban4', key: '0.0.0.0' }] })))?.code).toBe(ErrorCodes.NFT_NOT_FOUND);
  });

  it('delete: a set or chain still referred to is busy; unreferenced ones and the table go', async () => {
    const { nft } = await setup();
    expect(await codeOf(nft.run(['delete', 'set', 'inet', 'nftsentry', 'ban4']))).toEqual({
      code: ErrorCodes.NFT_REJECTED, message: 'nft failed: Error: Could not process rule: Device or resource busy',
    });
    expect((await codeOf(nft.run(['delete', 'chain', 'inet', 'nftsentry', 'tcp_flags'])))?.code).toBe(ErrorCodes.NFT_REJECTED);
    await nft.runScript('flush table inet nftsentry\ndelete chain inet nftsentry tcp_flags\ndelete set inet nftsentry ban4\n');
    expect((await codeOf(readSet(nft, 'ban4')))?.code).toBe(ErrorCodes.NFT_NOT_FOUND);
    await nft.run(['delete', 'table', 'inet', 'nftsentry']);
    expect(await tableExists(nft)).toBe(false);
  });

  it('upgrades the plain interval bannet4/bannet6 of an older version, carrying their elements over with the time left', async () => {
    let now = 0;
    const nft = new FakeNft({ clock: () => now });
    await nft.runScript(`${OLD}\nadd element inet nftsentry bannet4 { 198.18.10.0/24 timeout 1h, 198.18.11.0/24 }\nadd element inet nftsentry ban4 { 198.18.9.1 timeout 1h }\n`);
    now += 600_000;
    const render = (u?: Parameters<typeof renderRuleset>[2]) => renderRuleset(parseConfigText(''), loadTemplates(), u);
    expect((await codeOf(nft.runScript(render())))?.code).toBe(ErrorCodes.NFT_REJECTED);
    expect((await runRuleset(nft, render, { check: true })).upgrade?.sets).toContain('bannet4');
    await applyRuleset(parseConfigText(''), { runner: nft });
    expect(await entries(nft, 'bannet4')).toEqual([['198.18.10.0/24 . 0-255', 3000, 3000], ['198.18.11.0/24 . 0-255', null, null]]);
    expect(await entries(nft, 'ban4')).toEqual([['198.18.9.1', 3600, 3000]]);
    const sets = (await nft.json(['-t', 'list', 'table', 'inet', 'nftsentry'])).nftables.flatMap((o) => ('set' in o ? [(o.set as { name: string }).name] : []));
    expect(sets).not.toContain('services_tcp');
  });
});

describe('FakeNft: elements', () => {
  it('timeouts run on the clock: expires counts down, an element whose time is up is gone', async () => {
    const { nft, advance } = await setup();
    await send(nft, { add: [{ set: 'ban4', key: '198.18.0.1', timeoutSec: 60 }, { set: 'ban4', key: '198.18.0.2' }] });
    advance(30_500);
    expect(await entries(nft, 'ban4')).toEqual([['198.18.0.1', 60, 29], ['198.18.0.2', null, null]]);
    advance(29_500);
    expect(await entries(nft, 'ban4')).toEqual([['198.18.0.2', null, null]]);
    // Gone for deletes too: removing it is still no error (add + delete).
    expect((await codeOf(nft.run(['delete', 'element', 'inet', 'nftsentry', 'ban4', '{ 198.18.0.1 }'])))?.code).toBe(ErrorCodes.NFT_NOT_FOUND);
    await send(nft, { remove: [{ set: 'ban4', key: '198.18.0.1' }] });
  });

  it('add of an element that exists: another timeout replaces it and restarts it, the same one changes nothing, none makes it permanent', async () => {
    const { nft, advance } = await setup();
    await send(nft, { add: [{ set: 'ban4', key: '198.18.0.1', timeoutSec: 60 }, { set: 'ban4', key: '198.18.0.2', timeoutSec: 60 }, { set: 'ban4', key: '198.18.0.3', timeoutSec: 60 }] });
    advance(10_000);
    await nft.run(['add', 'element', 'inet', 'nftsentry', 'ban4', '{ 198.18.0.1 timeout 60s, 198.18.0.2 timeout 120s, 198.18.0.3 }']);
    expect(await entries(nft, 'ban4')).toEqual([['198.18.0.1', 60, 50], ['198.18.0.2', 120, 120], ['198.18.0.3', null, null]]);
  });

  it('refresh restarts the timeout whatever the kernel held; remove succeeds for present and missing elements', async () => {
    const { nft, advance } = await setup();
    await send(nft, { add: [{ set: 'ban4', key: '198.18.0.1', timeoutSec: 60 }, { set: 'bannet4', key: '198.51.100.0/24', timeoutSec: 60 }] });
    advance(10_000);
    await nft.runScript(elementScript({
      refresh: [{ set: 'ban4', key: '198.18.0.1', timeoutSec: 60 }, { set: 'ban6', key: '2001:db8::1', timeoutSec: 30 }],
      remove: [{ set: 'bannet4', key: '198.51.100.0/24' }, { set: 'bannet6', key: '2001:db8:a::/48' }, { set: 'ban6net64', key: '2001:db8:1:2::/64' }],
    }));
    expect(await entries(nft, 'ban4')).toEqual([['198.18.0.1', 60, 60]]);
    expect(await entries(nft, 'ban6')).toEqual([['2001:db8::1', 30, 30]]);
    expect(await entries(nft, 'bannet4')).toEqual([]);
  });

  it('a failing statement fails its whole transaction (script or nft -i line), with the runner\'s code and first line', async () => {
    const { nft } = await setup();
    const line = await codeOf(nft.openSession().run(['add element inet nftsentry ban4 { 198.18.0.7 timeout 60s }', 'delete element inet nftsentry ban4 { 198.18.0.8 }']));
    expect(line).toEqual({ code: ErrorCodes.NFT_NOT_FOUND, message: 'nft failed: Error: Could not process rule: No such file or directory' });
    const script = await codeOf(nft.runScript('add element inet nftsentry ban4 { 198.18.0.7 }\nadd element inet nftsentry ban4 { 198.18.0.300 }\n'));
    expect(script).toEqual({ code: ErrorCodes.NFT_REJECTED, message: 'nft failed: Error: Could not resolve hostname: Name or service not known' });
    expect(await entries(nft, 'ban4')).toEqual([]);
    const errors = {
      missingSet: await codeOf(send(nft, { add: [{ set: 'ban5', key: '198.18.0.1' }] })),
      missingTable: await codeOf(nft.run(['add', 'element', 'inet', 'nosuch', 'ban4', '{ 198.18.0.1 }'])),
      wrongFamily: await codeOf(nft.run(['add', 'element', 'inet', 'nftsentry', 'ban4', '{ 2001:db8::1 }'])),
      prefixInHashSet: await codeOf(nft.run(['add', 'element', 'inet', 'nftsentry', 'ban4', '{ 198.18.0.0/24 }'])),
      mapWithoutData: await codeOf(nft.run(['add', 'element', 'inet', 'nftsentry', 'scan_reason4', '{ 198.18.0.1 }'])),
    };
    expect(errors).toEqual({
      missingSet: { code: 'E_NFT_NOT_FOUND', message: 'nft failed: Error: No such file or directory; did you mean set ‘ban4’ in table inet ‘nftsentry’?' },
      missingTable: { code: 'E_NFT_NOT_FOUND', message: 'nft failed: Error: No such file or directory' },
      wrongFamily: { code: 'E_NFT_REJECTED', message: 'nft failed: Error: Could not resolve hostname: Address family for hostname not supported' },
      prefixInHashSet: { code: 'E_NFT_REJECTED', message: "nft failed: Error: You must add 'flags interval' to your set declaration if you want to add prefix elements" },
      mapWithoutData: { code: 'E_NFT_REJECTED', message: 'nft failed: Error: Could not process rule: Invalid argument' },
    });
  });

  it('concatenated interval sets: an element whose first or last point lies in another exists; one around it is taken', async () => {
    const { nft } = await setup();
    await send(nft, { add: [{ set: 'bannet4', key: '198.51.100.0/24', timeoutSec: 60 }] });
    expect((await codeOf(send(nft, { add: [{ set: 'bannet4', key: '198.51.100.64/26' }] })))?.code).toBe(ErrorCodes.NFT_EXISTS);
    await send(nft, { add: [{ set: 'bannet4', key: '198.51.96.0/20' }] });
    expect((await readSet(nft, 'bannet4')).map((e) => e.key)).toEqual(['198.51.100.0/24 . 0-255', '198.51.96.0/20 . 0-255']);
  });
});

describe('FakeNft: reads in nft 1.0.6\'s JSON', () => {
  it('sets, prefixes, concatenations and maps as nft prints them, read back by the project\'s readers', async () => {
    const { nft, advance } = await setup();
    await send(nft, {
      add: [
        { set: 'ban4', key: '198.18.0.1', timeoutSec: 600 }, { set: 'ban6net64', key: '2001:db8:1:2::/64', timeoutSec: 600 },
        { set: 'bannet4', key: '198.51.100.0/24' }, { set: 'bannet6', key: '2001:db8:a::/48', timeoutSec: 600 },
        { set: 'scanners4', key: '198.18.7.7', timeoutSec: 3600 }, { set: 'scan_reason4', key: '198.18.7.7', timeoutSec: 3600, data: 2 },
      ],
    });
    advance(1500);
    expect((await nft.json(['list', 'set', 'inet', 'nftsentry', 'bannet4'])).nftables).toEqual([
      { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
      { set: { family: 'inet', name: 'bannet4', table: 'nftsentry', type: ['ipv4_addr', 'inet_proto'], handle: 31, flags: ['interval', 'timeout'],
        elem: [{ concat: [{ prefix: { addr: '198.51.100.0', len: 24 } }, { range: [0, 255] }] }] } },
    ]);
    expect((await nft.json(['list', 'map', 'inet', 'nftsentry', 'scan_reason4'])).nftables[1]).toEqual({
      map: { family: 'inet', name: 'scan_reason4', table: 'nftsentry', type: 'ipv4_addr', handle: 35, map: 'mark', size: 262144, flags: ['timeout'],
        elem: [[{ elem: { val: '198.18.7.7', timeout: 3600, expires: 3598 } }, 2]] },
    });
    const bans = Object.fromEntries(await readBanSets(nft));
    expect(bans).toMatchObject({
      ban4: [{ key: '198.18.0.1', timeoutSec: 600, expiresSec: 598 }], ban6net64: [{ key: '2001:db8:1:2::/64' }],
      bannet4: [{ key: '198.51.100.0/24', timeoutSec: null }], bannet6: [{ key: '2001:db8:a::/48', timeoutSec: 600 }],
    });
    expect(await readKernelScanners(nft)).toEqual([{ address: '198.18.7.7', reason: 'fast_scan', timeoutSec: 3600, expiresSec: 3598 }]);
    nft.setCounter('drop_banned', 7, 420);
    expect((await readCounters(nft)).find((c) => c.name === 'drop_banned')).toEqual({ name: 'drop_banned', comment: 'source in ban4/ban6', packets: 7, bytes: 420 });
    expect(() => nft.setCounter('no_such_counter', 1, 1)).toThrow(/no counter/);
  });
});

describe('FakeNft: test hooks', () => {
  it('records every write transaction as its statements, failed ones included', async () => {
    const nft = new FakeNft();
    await nft.runScript('table inet t {\n\tset s { type ipv4_addr; flags timeout; }\n}\nadd element inet t s { 198.18.0.1 }\n');
    await nft.openSession().run(['add element inet t s { 198.18.0.2 }', 'delete element inet t s { 198.18.0.9 }']).catch(() => undefined);
    await nft.run(['flush', 'set', 'inet', 't', 's']);
    await nft.json(['list', 'set', 'inet', 't', 's']);
    expect(nft.transactions).toEqual([
      ['table inet t {\n\tset s { type ipv4_addr; flags timeout; }\n}', 'add element inet t s { 198.18.0.1 }'],
      ['add element inet t s { 198.18.0.2 }', 'delete element inet t s { 198.18.0.9 }'],
      ['flush set inet t s'],
    ]);
  });

  it('failNext fails the next writes (or reads) with the code given, and nothing changes', async () => {
    const { nft } = await setup();
    nft.failNext(ErrorCodes.NFT_REJECTED, 2);
    for (let i = 0; i < 2; i++) expect((await codeOf(send(nft, { add: [{ set: 'ban4', key: '198.18.0.1' }] })))?.code).toBe(ErrorCodes.NFT_REJECTED);
    expect(await entries(nft, 'ban4')).toEqual([]);
    await send(nft, { add: [{ set: 'ban4', key: '198.18.0.1' }] });
    nft.failNext(ErrorCodes.NFT_NOT_FOUND, 1, 'read');
    expect((await codeOf(readSet(nft, 'ban4')))?.code).toBe(ErrorCodes.NFT_NOT_FOUND);
    expect(await entries(nft, 'ban4')).toEqual([['198.18.0.1', null, null]]);
    nft.failNext(ErrorCodes.NFT_TIMEOUT, 1, 'any');
    expect(await codeOf(nft.openSession().run(['flush set inet nftsentry ban4']))).toEqual({
      code: ErrorCodes.NFT_TIMEOUT, message: 'nft failed: E_NFT_TIMEOUT (FakeNft.failNext)',
    });
    expect(await entries(nft, 'ban4')).toHaveLength(1);
  });

  it('sessions share the state, run one call at a time, and are running from their first call until closed', async () => {
    const { nft } = await setup();
    const a = nft.openSession();
    const b = nft.openSession();
    expect(a.running).toBe(false);
    await Promise.all([a.run(['add element inet nftsentry ban4 { 198.18.0.1 }']), b.run(['add element inet nftsentry ban4 { 198.18.0.2 }'])]);
    expect(a.running && b.running).toBe(true);
    a.close();
    expect(a.running).toBe(false);
    await a.run(['delete element inet nftsentry ban4 { 198.18.0.2 }']);
    expect(a.running).toBe(true);
    expect(await entries(nft, 'ban4')).toEqual([['198.18.0.1', null, null]]);
    nft.useReadSession(true);
    expect(await entries(nft, 'ban4')).toHaveLength(1);
  });
});
