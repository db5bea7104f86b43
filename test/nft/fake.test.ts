/**
 * The in-memory nft (src/nft/fake.ts) on its own, without root: the rendered ruleset, its re-apply
 * and upgrade, check mode, flush and delete, and the test hooks. Elements and reads:
 * fake-elements.test.ts. test/kernel/fake-agrees.test.ts shows the kernel does the same.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeNft } from '../../src/nft/fake.ts';
import { applyRuleset, runRuleset } from '../../src/nft/apply.ts';
import { loadTemplates, renderRuleset } from '../../src/nft/ruleset.ts';
import { readSet, tableExists } from '../../src/nft/state.ts';
import { parseConfigText } from '../../src/config/config.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { REPO } from '../helpers.ts';
import { codeOf, entries, FULL, send, setup } from './fake-helpers.ts';

const OLD = readFileSync(join(REPO, 'test/fixtures/ruleset-plain-bannet.nft'), 'utf8');

describe('FakeNft: the ruleset', () => {
  it('applies the rendered ruleset; applying it again keeps the table and the ban elements', async () => {
    const { nft } = await setup();
    await send(nft, { add: [{ set: 'ban4', key: '198.18.0.1', timeoutSec: 600 }] });
    // The text listing: rules get new handles, as in the kernel.
    const first = (await nft.run(['list', 'ruleset'])).stdout;
    await applyRuleset(FULL, { runner: nft });
    expect((await nft.run(['list', 'ruleset'])).stdout).toBe(first);
    expect(await entries(nft, 'ban4')).toEqual([['198.18.0.1', 600, 600]]);
    expect(await entries(nft, 'allow4')).toEqual([
      ['192.0.2.10 . 0-255', null, null],
      ['203.0.113.0/24 . 0-255', null, null],
    ]);
    const text = (await nft.run(['list', 'table', 'inet', 'nftsentry'])).stdout;
    expect(text).toContain('type filter hook forward priority filter; policy drop;');
    expect(text).toContain('meta l4proto . th dport @services accept');
  });

  it('refuses a re-declaration that differs (E_NFT_EXISTS) and a rule against a set of another type, atomically', async () => {
    const { nft } = await setup();
    const before = await nft.json(['list', 'ruleset']);
    const redeclared = await codeOf(
      nft.runScript(
        'add element inet nftsentry ban4 { 198.18.0.1 }\ntable inet nftsentry {\n\tset ban4 { type ipv4_addr; flags interval; }\n}\n',
      ),
    );
    expect(redeclared).toEqual({
      code: ErrorCodes.NFT_EXISTS,
      message: 'nft failed: Error: Could not process rule: File exists',
    });
    const mismatch = await codeOf(
      nft.runScript('table inet nftsentry {\n\tchain x {\n\t\tip saddr @bannet4 drop\n\t}\n}\n'),
    );
    expect(mismatch).toEqual({
      code: ErrorCodes.NFT_REJECTED,
      message:
        'nft failed: Error: datatype mismatch, expected IPv4 address, expression has type concatenation of (IPv4 address, Internet protocol)',
    });
    expect(await nft.json(['list', 'ruleset'])).toEqual(before);
  });

  it('check mode validates and changes nothing', async () => {
    const { nft } = await setup();
    const before = await nft.json(['list', 'ruleset']);
    await nft.runScript('flush set inet nftsentry allow4\ndelete table inet nftsentry\n', { check: true });
    expect(
      (await codeOf(nft.runScript('delete element inet nftsentry ban4 { 198.18.0.9 }\n', { check: true })))?.code,
    ).toBe(ErrorCodes.NFT_NOT_FOUND);
    expect(await nft.json(['list', 'ruleset'])).toEqual(before);
  });

  it('flush table empties the chains and keeps the sets; flush ruleset removes the table', async () => {
    const { nft } = await setup();
    await send(nft, { add: [{ set: 'ban4', key: '198.18.0.1', timeoutSec: 600 }] });
    expect(JSON.stringify(await nft.json(['list', 'chain', 'inet', 'nftsentry', 'prerouting']))).toContain('"@ban4"');
    await nft.run(['flush', 'table', 'inet', 'nftsentry']);
    expect(JSON.stringify(await nft.json(['list', 'chain', 'inet', 'nftsentry', 'prerouting']))).not.toContain(
      '"@ban4"',
    );
    expect(await entries(nft, 'ban4')).toHaveLength(1);
    await nft.run(['flush', 'set', 'inet', 'nftsentry', 'ban4']);
    expect(await entries(nft, 'ban4')).toEqual([]);
    await nft.run(['flush', 'ruleset']);
    expect(await tableExists(nft)).toBe(false);
    expect((await codeOf(send(nft, { remove: [{ set: 'ban4', key: '0.0.0.0' }] })))?.code).toBe(
      ErrorCodes.NFT_NOT_FOUND,
    );
  });

  it('delete: a set or chain still referred to is busy; unreferenced ones and the table go', async () => {
    const { nft } = await setup();
    expect(await codeOf(nft.run(['delete', 'set', 'inet', 'nftsentry', 'ban4']))).toEqual({
      code: ErrorCodes.NFT_REJECTED,
      message: 'nft failed: Error: Could not process rule: Device or resource busy',
    });
    expect((await codeOf(nft.run(['delete', 'chain', 'inet', 'nftsentry', 'tcp_flags'])))?.code).toBe(
      ErrorCodes.NFT_REJECTED,
    );
    await nft.runScript(
      'flush table inet nftsentry\ndelete chain inet nftsentry tcp_flags\ndelete set inet nftsentry ban4\n',
    );
    expect((await codeOf(readSet(nft, 'ban4')))?.code).toBe(ErrorCodes.NFT_NOT_FOUND);
    await nft.run(['delete', 'table', 'inet', 'nftsentry']);
    expect(await tableExists(nft)).toBe(false);
  });

  it('upgrades the plain interval bannet4/bannet6 and the uncounted ban sets of an older version, carrying their elements over with the time left', async () => {
    let now = 0;
    const nft = new FakeNft({ clock: () => now });
    await nft.runScript(
      `${OLD}\nadd element inet nftsentry bannet4 { 198.18.10.0/24 timeout 1h, 198.18.11.0/24 }\nadd element inet nftsentry ban4 { 198.18.9.1 timeout 1h }\n`,
    );
    now += 600_000;
    const render = (u?: Parameters<typeof renderRuleset>[2]) => renderRuleset(parseConfigText(''), loadTemplates(), u);
    expect((await codeOf(nft.runScript(render())))?.code).toBe(ErrorCodes.NFT_REJECTED);
    expect((await runRuleset(nft, render, { check: true })).upgrade?.sets).toContain('bannet4');
    await applyRuleset(parseConfigText(''), { runner: nft });
    expect(await entries(nft, 'bannet4')).toEqual([
      ['198.18.10.0/24 . 0-255', 3000, 3000],
      ['198.18.11.0/24 . 0-255', null, null],
    ]);
    // ban4 had no `counter`: replaced too, its element carried with the time it had left.
    expect(await entries(nft, 'ban4')).toEqual([['198.18.9.1', 3000, 3000]]);
    const sets = (await nft.json(['-t', 'list', 'table', 'inet', 'nftsentry'])).nftables.flatMap((o) =>
      'set' in o ? [(o.set as { name: string }).name] : [],
    );
    expect(sets).not.toContain('services_tcp');
  });
});

describe('FakeNft: test hooks', () => {
  it('records every write transaction as its statements, failed ones included', async () => {
    const nft = new FakeNft();
    await nft.runScript(
      'table inet t {\n\tset s { type ipv4_addr; flags timeout; }\n}\nadd element inet t s { 198.18.0.1 }\n',
    );
    await nft
      .openSession()
      .run(['add element inet t s { 198.18.0.2 }', 'delete element inet t s { 198.18.0.9 }'])
      .catch(() => undefined);
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
    for (let i = 0; i < 2; i++)
      expect((await codeOf(send(nft, { add: [{ set: 'ban4', key: '198.18.0.1' }] })))?.code).toBe(
        ErrorCodes.NFT_REJECTED,
      );
    expect(await entries(nft, 'ban4')).toEqual([]);
    await send(nft, { add: [{ set: 'ban4', key: '198.18.0.1' }] });
    nft.failNext(ErrorCodes.NFT_NOT_FOUND, 1, 'read');
    expect((await codeOf(readSet(nft, 'ban4')))?.code).toBe(ErrorCodes.NFT_NOT_FOUND);
    expect(await entries(nft, 'ban4')).toEqual([['198.18.0.1', null, null]]);
    nft.failNext(ErrorCodes.NFT_TIMEOUT, 1, 'any');
    expect(await codeOf(nft.openSession().run(['flush set inet nftsentry ban4']))).toEqual({
      code: ErrorCodes.NFT_TIMEOUT,
      message: 'nft failed: E_NFT_TIMEOUT (FakeNft.failNext)',
    });
    expect(await entries(nft, 'ban4')).toHaveLength(1);
  });

  it('sessions share the state, run one call at a time, are running from their first call until closed, refuse calls after', async () => {
    const { nft } = await setup();
    const a = nft.openSession();
    const b = nft.openSession();
    expect(a.running).toBe(false);
    await Promise.all([
      a.run(['add element inet nftsentry ban4 { 198.18.0.1 }']),
      b.run(['add element inet nftsentry ban4 { 198.18.0.2 }']),
    ]);
    expect(a.running && b.running).toBe(true);
    a.close();
    expect(a.running).toBe(false);
    expect(await codeOf(a.run(['delete element inet nftsentry ban4 { 198.18.0.2 }']))).toMatchObject({
      code: 'E_NFT_CLOSED',
    });
    await b.run(['delete element inet nftsentry ban4 { 198.18.0.2 }']);
    expect(await entries(nft, 'ban4')).toEqual([['198.18.0.1', null, null]]);
    nft.useReadSession(true);
    expect(await entries(nft, 'ban4')).toHaveLength(1);
  });
});
