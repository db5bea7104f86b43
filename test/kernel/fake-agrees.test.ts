/**
 * The in-memory nft (src/nft/fake.ts) may stand in for the kernel only as far as this test shows:
 * the same operations, in the same order, go to real nft in a namespace made for this file and
 * to a FakeNft, and every read afterwards must agree (keys, timeouts, `expires` within a
 * tolerance, set definitions, the rules' set references, counters), as must every error code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Netns } from '../../src/lab/netns.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { FakeNft } from '../../src/nft/fake.ts';
import type { Nft, NftTransactions } from '../../src/nft/nft.ts';
import { applyRuleset, runRuleset } from '../../src/nft/apply.ts';
import { elementStatements, elementScript, type ElementBatch } from '../../src/nft/elements.ts';
import { loadTemplates, renderRuleset } from '../../src/nft/ruleset.ts';
import { readSet } from '../../src/nft/state.ts';
import { readTableShape, shapeFindings } from '../../src/nft/table-shape.ts';
import { loadConfig, parseConfigText } from '../../src/config/config.ts';
import { REPO, waitFor } from '../helpers.ts';
import { normalise, outcome, snapshot } from './nft-snapshot.ts';

/** Seconds `expires` may differ by: both floor the time left, and the two run moments apart. */
const EXPIRES_TOLERANCE = 2;
const FULL = loadConfig(join(REPO, 'test/fixtures/full.yaml'));
const OLD = readFileSync(join(REPO, 'test/fixtures/ruleset-plain-bannet.nft'), 'utf8');

let ns: Netns;
let real: NftRunner;
const fake = new FakeNft();
const sessions = new Map<Nft, NftTransactions>();

/** Runs `op` on both; the outcomes (value or error code) must be equal. Returns the code, if any. */
async function both(op: (nft: Nft) => Promise<unknown>): Promise<string | null> {
  const r = await outcome(() => op(real));
  const f = await outcome(() => op(fake));
  expect(f).toEqual(r);
  return 'error' in r ? r.error : null;
}

const session = (nft: Nft): NftTransactions => {
  const open = sessions.get(nft) ?? nft.openSession();
  sessions.set(nft, open);
  return open;
};
const sendLine = (batch: ElementBatch) =>
  both((nft) =>
    session(nft)
      .run(elementStatements(batch))
      .then(() => 'ok'),
  );
const sendScript = (batch: ElementBatch) => both((nft) => nft.runScript(elementScript(batch)).then(() => 'ok'));
const raw = (statement: string) =>
  both((nft) =>
    session(nft)
      .run([statement])
      .then(() => 'ok'),
  );

/**
 * The snapshots of both must be equal, `expires` within the tolerance. `timeoutsToo`: timeouts
 * as well, where they were carried over from the time an element had left (each side read its
 * own clock, moments apart, and floors the seconds).
 */
async function agree(timeoutsToo = false): Promise<Record<string, unknown>> {
  const expiresReal: number[] = [];
  const expiresFake: number[] = [];
  const r = normalise(await snapshot(real), expiresReal, timeoutsToo);
  const f = normalise(await snapshot(fake), expiresFake, timeoutsToo);
  expect(f).toEqual(r);
  expect(expiresFake.length).toBe(expiresReal.length);
  const apart = expiresReal.map((e, i) => Math.abs(e - expiresFake[i]!));
  expect(Math.max(0, ...apart)).toBeLessThanOrEqual(EXPIRES_TOLERANCE);
  return r as Record<string, unknown>;
}

beforeAll(async () => {
  ns = await Netns.create('fakeagree');
  real = new NftRunner({ netns: ns.name });
});
afterAll(async () => {
  for (const s of sessions.values()) s.close();
  await ns?.delete();
});

describe('the fake and the kernel agree', () => {
  it('on the base ruleset, applied and applied again', async () => {
    expect(await both((nft) => applyRuleset(FULL, { runner: nft }).then(() => 'ok'))).toBe(null);
    await agree();
    expect(await both((nft) => applyRuleset(FULL, { runner: nft }).then(() => 'ok'))).toBe(null);
    const s = await agree();
    expect(s['chain prerouting']).toContain('@ban4 @allow4 counter:drop_banned drop');
  });

  it('on element batches: adds with timeouts, prefixes, maps, refresh and remove of present and missing elements', async () => {
    expect(
      await sendLine({
        add: [
          { set: 'ban4', key: '198.18.0.1', timeoutSec: 600 },
          { set: 'ban4', key: '198.18.0.2', timeoutSec: 3600 },
          { set: 'ban6', key: '2001:db8::1', timeoutSec: 600 },
          { set: 'ban6net64', key: '2001:db8:1:2::/64', timeoutSec: 900 },
          { set: 'bannet4', key: '198.51.100.0/24', timeoutSec: 600 },
          { set: 'bannet4', key: '198.18.5.7' },
          { set: 'bannet6', key: '2001:db8:a::/48', timeoutSec: 1200 },
          { set: 'scanners4', key: '198.18.7.7', timeoutSec: 3600 },
          { set: 'scan_reason4', key: '198.18.7.7', timeoutSec: 3600, data: 2 },
          { set: 'scanners6', key: '2001:db8:7::7', timeoutSec: 3600 },
        ],
      }),
    ).toBe(null);
    await agree();
    expect(
      await sendScript({
        refresh: [
          { set: 'ban4', key: '198.18.0.1', timeoutSec: 1200 },
          { set: 'ban4', key: '198.18.0.3', timeoutSec: 60 },
        ],
        remove: [
          { set: 'ban4', key: '198.18.0.2' },
          { set: 'ban4', key: '198.18.0.99' },
          { set: 'bannet6', key: '2001:db8:b::/48' },
        ],
      }),
    ).toBe(null);
    await agree();
    // A plain add of an element that exists: another timeout replaces it, none makes it permanent.
    expect(await raw('add element inet nftsentry ban4 { 198.18.0.1 timeout 300s, 198.18.0.3 }')).toBe(null);
    const s = await agree();
    expect(s['read ban4']).toEqual([
      { key: '198.18.0.1', timeoutSec: 300, packets: 0, bytes: 0 },
      { key: '198.18.0.3', timeoutSec: null, packets: 0, bytes: 0 },
    ]);
  });

  it('on refused statements, with the same codes, and a failed transaction changes nothing', async () => {
    const codes = {
      deleteMissing: await raw('delete element inet nftsentry ban4 { 198.18.0.200 }'),
      missingSet: await raw('add element inet nftsentry ban5 { 198.18.0.1 }'),
      missingTable: await raw('add element inet nosuch ban4 { 198.18.0.1 }'),
      badAddress: await raw('add element inet nftsentry ban4 { 198.18.0.300 }'),
      wrongFamily: await raw('add element inet nftsentry ban4 { 2001:db8::1 }'),
      prefixInHashSet: await raw('add element inet nftsentry ban4 { 198.18.0.0/24 }'),
      timeoutWithoutFlag: await raw('add element inet nftsentry allow4 { 198.18.9.0/24 . 0-255 timeout 60s }'),
      mapWithoutData: await raw('add element inet nftsentry scan_reason4 { 198.18.7.8 }'),
      otherMapData: await raw('add element inet nftsentry scan_reason4 { 198.18.7.7 : 1 }'),
      insidePrefix: await raw('add element inet nftsentry bannet4 { 198.51.100.64/26 . 0-255 }'),
      fewerProtocols: await raw('add element inet nftsentry bannet4 { 198.51.100.0/24 . 6 }'),
      redeclared: await both((nft) =>
        nft.runScript('table inet nftsentry {\n\tset ban4 { type ipv6_addr; flags timeout; }\n}\n').then(() => 'ok'),
      ),
      setInUse: await raw('delete set inet nftsentry ban4'),
      chainInUse: await raw('delete chain inet nftsentry tcp_flags'),
      counterInUse: await raw('delete counter inet nftsentry drop_banned'),
      missingChain: await raw('flush chain inet nftsentry nosuch'),
      syntax: await raw('add elemnt inet nftsentry ban4 { 198.18.0.1 }'),
    };
    expect(codes).toEqual({
      deleteMissing: 'E_NFT_NOT_FOUND',
      missingSet: 'E_NFT_NOT_FOUND',
      missingTable: 'E_NFT_NOT_FOUND',
      badAddress: 'E_NFT_REJECTED',
      wrongFamily: 'E_NFT_REJECTED',
      prefixInHashSet: 'E_NFT_REJECTED',
      timeoutWithoutFlag: 'E_NFT_REJECTED',
      mapWithoutData: 'E_NFT_REJECTED',
      otherMapData: 'E_NFT_EXISTS',
      insidePrefix: 'E_NFT_EXISTS',
      fewerProtocols: 'E_NFT_EXISTS',
      redeclared: 'E_NFT_EXISTS',
      setInUse: 'E_NFT_REJECTED',
      chainInUse: 'E_NFT_REJECTED',
      counterInUse: 'E_NFT_REJECTED',
      missingChain: 'E_NFT_NOT_FOUND',
      syntax: 'E_NFT_REJECTED',
    });
    // Removing a map element is add (with data) + delete: other data than the kernel's fails.
    expect(
      await sendLine({
        remove: [
          { set: 'scanners4', key: '198.18.7.7' },
          { set: 'scan_reason4', key: '198.18.7.7', data: 0 },
        ],
      }),
    ).toBe('E_NFT_EXISTS');
    // A prefix containing one already there is taken (the kernel checks only its first and last point).
    expect(await raw('add element inet nftsentry bannet4 { 198.51.96.0/20 . 0-255 timeout 60s }')).toBe(null);
    const before = await agree();
    expect(await sendLine({ add: [{ set: 'ban4', key: '198.18.1.1', timeoutSec: 60 }], remove: [], refresh: [] })).toBe(
      null,
    );
    expect(
      await raw(
        'add element inet nftsentry ban4 { 198.18.1.2 timeout 60s }; delete element inet nftsentry ban4 { 198.18.1.3 }',
      ),
    ).toBe('E_NFT_NOT_FOUND');
    expect(
      await both((nft) =>
        nft
          .runScript(
            'add element inet nftsentry ban4 { 198.18.1.4 }\nadd element inet nftsentry ban4 { 198.18.1.300 }\n',
          )
          .then(() => 'ok'),
      ),
    ).toBe('E_NFT_REJECTED');
    const after = await agree();
    expect((after['read ban4'] as unknown[]).length).toBe((before['read ban4'] as unknown[]).length + 1);
  });

  it('on check mode, flush set, flush table and a re-apply', async () => {
    const before = await agree();
    expect(
      await both((nft) => nft.runScript('flush set inet nftsentry ban4\n', { check: true }).then(() => 'ok')),
    ).toBe(null);
    expect(
      await both((nft) =>
        nft.runScript('delete element inet nftsentry ban4 { 198.18.0.250 }\n', { check: true }).then(() => 'ok'),
      ),
    ).toBe('E_NFT_NOT_FOUND');
    expect(await agree()).toEqual(before);
    expect(await both((nft) => nft.run(['flush', 'set', 'inet', 'nftsentry', 'bannet4']).then(() => 'ok'))).toBe(null);
    expect((await agree())['read bannet4']).toEqual([]);
    expect(await both((nft) => nft.run(['flush', 'table', 'inet', 'nftsentry']).then(() => 'ok'))).toBe(null);
    const flushed = await agree();
    expect(flushed['chain prerouting']).toEqual([]);
    expect(JSON.stringify(await fake.json(['list', 'chain', 'inet', 'nftsentry', 'prerouting']))).not.toContain(
      '"@ban4"',
    );
    expect(flushed['read ban4']).toEqual(before['read ban4']);
    expect(await both((nft) => applyRuleset(FULL, { runner: nft }).then(() => 'ok'))).toBe(null);
    const reapplied = await agree();
    expect(reapplied['chain prerouting']).toEqual(before['chain prerouting']);
  });

  it('on timeouts running out, and on re-adding an element with the same or another timeout', async () => {
    expect(
      await sendLine({
        add: [
          { set: 'ban4', key: '198.18.3.3', timeoutSec: 1 },
          { set: 'bannet4', key: '198.51.3.0/24', timeoutSec: 1 },
          { set: 'ban4', key: '198.18.3.4', timeoutSec: 600 },
          { set: 'ban4', key: '198.18.3.5', timeoutSec: 600 },
        ],
      }),
    ).toBe(null);
    await waitFor(
      async () => ((await readSet(real, 'ban4')).some((e) => e.key === '198.18.3.3') ? undefined : true),
      5000,
      'the element to expire',
    );
    await waitFor(
      async () => ((await readSet(real, 'bannet4')).some((e) => e.key.startsWith('198.51.3.')) ? undefined : true),
      5000,
      'the prefix to expire',
    );
    const s = await agree();
    expect((s['read ban4'] as Array<{ key: string }>).map((e) => e.key)).not.toContain('198.18.3.3');
    // Two seconds on (a restarted 600 s timeout would read 599 or 600 in either): the same timeout
    // leaves the time left alone, another restarts it.
    const left = async () => (await readSet(real, 'ban4')).find((e) => e.key === '198.18.3.4')?.expiresSec ?? 600;
    await waitFor(async () => ((await left()) <= 597 ? true : undefined), 5000, "two seconds off the element's time");
    expect(
      await sendLine({
        add: [
          { set: 'ban4', key: '198.18.3.4', timeoutSec: 600 },
          { set: 'ban4', key: '198.18.3.5', timeoutSec: 900 },
        ],
      }),
    ).toBe(null);
    for (const nft of [real, fake]) {
      const els = await readSet(nft, 'ban4');
      expect(els.find((e) => e.key === '198.18.3.4')).toMatchObject({
        timeoutSec: 600,
        expiresSec: expect.toSatisfy((x: number) => x <= 598),
      });
      expect(els.find((e) => e.key === '198.18.3.5')).toMatchObject({
        timeoutSec: 900,
        expiresSec: expect.toSatisfy((x: number) => x >= 898),
      });
    }
    await agree();
  });

  it('on what each kind of damage does to the table shape (self-healing compares it with the expected one)', async () => {
    const damages = [
      'flush chain inet nftsentry input',
      'delete chain inet nftsentry forward',
      'add rule inet nftsentry prerouting accept',
      'flush chain inet nftsentry prerouting\ndelete set inet nftsentry ban4',
      'delete element inet nftsentry allow4 { 192.0.2.10 . 0-255 }',
      'flush set inet nftsentry services',
      'flush table inet nftsentry',
      'delete table inet nftsentry',
    ];
    for (const damage of damages) {
      const findings = await both(async (nft) => {
        await applyRuleset(FULL, { runner: nft });
        const expected = await readTableShape(nft);
        await nft.runScript(`${damage}\n`);
        return shapeFindings(expected, await readTableShape(nft));
      });
      expect(findings, damage).toBe(null);
    }
    expect(await both((nft) => applyRuleset(FULL, { runner: nft }).then(() => 'ok'))).toBe(null);
  });

  it('on the upgrade from the plain interval bannet4/bannet6 of an older version', async () => {
    expect(await both((nft) => nft.run(['flush', 'ruleset']).then(() => 'ok'))).toBe(null);
    expect(await agree()).toEqual({ table: null });
    const elements = [
      'add element inet nftsentry bannet4 { 198.18.10.0/24 timeout 1h, 198.18.11.0/24 }',
      'add element inet nftsentry bannet6 { 2001:db8:a::/48 timeout 2h }',
      'add element inet nftsentry ban4 { 198.18.9.1 timeout 1h }',
    ];
    expect(await both((nft) => nft.runScript(`${OLD}\n${elements.join('\n')}\n`).then(() => 'ok'))).toBe(null);
    const old = await agree();
    // nft's own checks of plain interval sets.
    expect(await raw('add element inet nftsentry bannet4 { 198.18.10.0/25 }')).toBe('E_NFT_REJECTED');
    expect(await raw('delete element inet nftsentry bannet4 { 198.18.12.0/24 }')).toBe('E_NFT_NOT_FOUND');
    const config = parseConfigText('');
    const render = () => (u?: Parameters<typeof renderRuleset>[2]) => renderRuleset(config, loadTemplates(), u);
    expect(await both((nft) => nft.runScript(render()(), { check: true }).then(() => 'ok'))).toBe('E_NFT_REJECTED');
    expect(await both((nft) => runRuleset(nft, render(), { check: true }).then((x) => x.upgrade?.sets))).toBe(null);
    expect(await agree()).toEqual(old);
    expect(await both((nft) => applyRuleset(config, { runner: nft }).then(() => 'ok'))).toBe(null);
    const upgraded = await agree(true);
    expect(upgraded['read bannet4']).toMatchObject([
      { key: '198.18.10.0/24 . 0-255' },
      { key: '198.18.11.0/24 . 0-255', timeoutSec: null },
    ]);
    expect(upgraded['chain prerouting']).toContain('@bannet4 @allow4 counter:drop_banned_net drop');
  });
});
