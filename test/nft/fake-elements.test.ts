/**
 * The in-memory nft's elements, without root: timeouts on an explicit clock, add of an element
 * that exists, refresh and remove as elements.ts writes them, atomic failures with the runner's
 * codes and first lines, concatenated interval sets; and its JSON, read back through the
 * project's readers. test/kernel/fake-agrees.test.ts shows the kernel does the same.
 */
import { describe, expect, it } from 'vitest';
import { elementScript } from '../../src/nft/elements.ts';
import { readCounters, readSet } from '../../src/nft/state.ts';
import { readKernelScanners } from '../../src/nft/scanners.ts';
import { readBanSets } from '../../src/engine/kernel-bans.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { codeOf, entries, send, setup } from './fake-helpers.ts';

describe('FakeNft: elements', () => {
  it('timeouts run on the clock: expires counts down, an element whose time is up is gone', async () => {
    const { nft, advance } = await setup();
    await send(nft, {
      add: [
        { set: 'ban4', key: '198.18.0.1', timeoutSec: 60 },
        { set: 'ban4', key: '198.18.0.2' },
      ],
    });
    advance(30_500);
    expect(await entries(nft, 'ban4')).toEqual([
      ['198.18.0.1', 60, 29],
      ['198.18.0.2', null, null],
    ]);
    advance(29_500);
    expect(await entries(nft, 'ban4')).toEqual([['198.18.0.2', null, null]]);
    // Gone for deletes too: removing it is still no error (add + delete).
    expect((await codeOf(nft.run(['delete', 'element', 'inet', 'nftsentry', 'ban4', '{ 198.18.0.1 }'])))?.code).toBe(
      ErrorCodes.NFT_NOT_FOUND,
    );
    await send(nft, { remove: [{ set: 'ban4', key: '198.18.0.1' }] });
  });

  it('add of an element that exists: another timeout replaces it and restarts it, the same one changes nothing, none makes it permanent', async () => {
    const { nft, advance } = await setup();
    await send(nft, {
      add: [
        { set: 'ban4', key: '198.18.0.1', timeoutSec: 60 },
        { set: 'ban4', key: '198.18.0.2', timeoutSec: 60 },
        { set: 'ban4', key: '198.18.0.3', timeoutSec: 60 },
      ],
    });
    advance(10_000);
    await nft.run([
      'add',
      'element',
      'inet',
      'nftsentry',
      'ban4',
      '{ 198.18.0.1 timeout 60s, 198.18.0.2 timeout 120s, 198.18.0.3 }',
    ]);
    expect(await entries(nft, 'ban4')).toEqual([
      ['198.18.0.1', 60, 50],
      ['198.18.0.2', 120, 120],
      ['198.18.0.3', null, null],
    ]);
  });

  it('refresh restarts the timeout whatever the kernel held; remove succeeds for present and missing elements', async () => {
    const { nft, advance } = await setup();
    await send(nft, {
      add: [
        { set: 'ban4', key: '198.18.0.1', timeoutSec: 60 },
        { set: 'bannet4', key: '198.51.100.0/24', timeoutSec: 60 },
      ],
    });
    advance(10_000);
    await nft.runScript(
      elementScript({
        refresh: [
          { set: 'ban4', key: '198.18.0.1', timeoutSec: 60 },
          { set: 'ban6', key: '2001:db8::1', timeoutSec: 30 },
        ],
        remove: [
          { set: 'bannet4', key: '198.51.100.0/24' },
          { set: 'bannet6', key: '2001:db8:a::/48' },
          { set: 'ban6net64', key: '2001:db8:1:2::/64' },
        ],
      }),
    );
    expect(await entries(nft, 'ban4')).toEqual([['198.18.0.1', 60, 60]]);
    expect(await entries(nft, 'ban6')).toEqual([['2001:db8::1', 30, 30]]);
    expect(await entries(nft, 'bannet4')).toEqual([]);
  });

  it("a failing statement fails its whole transaction (script or nft -i line), with the runner's code and first line", async () => {
    const { nft } = await setup();
    const line = await codeOf(
      nft
        .openSession()
        .run([
          'add element inet nftsentry ban4 { 198.18.0.7 timeout 60s }',
          'delete element inet nftsentry ban4 { 198.18.0.8 }',
        ]),
    );
    expect(line).toEqual({
      code: ErrorCodes.NFT_NOT_FOUND,
      message: 'nft failed: Error: Could not process rule: No such file or directory',
    });
    const script = await codeOf(
      nft.runScript(
        'add element inet nftsentry ban4 { 198.18.0.7 }\nadd element inet nftsentry ban4 { 198.18.0.300 }\n',
      ),
    );
    expect(script).toEqual({
      code: ErrorCodes.NFT_REJECTED,
      message: 'nft failed: Error: Could not resolve hostname: Name or service not known',
    });
    expect(await entries(nft, 'ban4')).toEqual([]);
    const errors = {
      missingSet: await codeOf(send(nft, { add: [{ set: 'ban5', key: '198.18.0.1' }] })),
      missingTable: await codeOf(nft.run(['add', 'element', 'inet', 'nosuch', 'ban4', '{ 198.18.0.1 }'])),
      wrongFamily: await codeOf(nft.run(['add', 'element', 'inet', 'nftsentry', 'ban4', '{ 2001:db8::1 }'])),
      prefixInHashSet: await codeOf(nft.run(['add', 'element', 'inet', 'nftsentry', 'ban4', '{ 198.18.0.0/24 }'])),
      mapWithoutData: await codeOf(nft.run(['add', 'element', 'inet', 'nftsentry', 'scan_reason4', '{ 198.18.0.1 }'])),
    };
    expect(errors).toEqual({
      missingSet: {
        code: 'E_NFT_NOT_FOUND',
        message: 'nft failed: Error: No such file or directory; did you mean set ‘ban4’ in table inet ‘nftsentry’?',
      },
      missingTable: { code: 'E_NFT_NOT_FOUND', message: 'nft failed: Error: No such file or directory' },
      wrongFamily: {
        code: 'E_NFT_REJECTED',
        message: 'nft failed: Error: Could not resolve hostname: Address family for hostname not supported',
      },
      prefixInHashSet: {
        code: 'E_NFT_REJECTED',
        message:
          "nft failed: Error: You must add 'flags interval' to your set declaration if you want to add prefix elements",
      },
      mapWithoutData: {
        code: 'E_NFT_REJECTED',
        message: 'nft failed: Error: Could not process rule: Invalid argument',
      },
    });
  });

  it('concatenated interval sets: an element whose first or last point lies in another exists; one around it is taken', async () => {
    const { nft } = await setup();
    await send(nft, { add: [{ set: 'bannet4', key: '198.51.100.0/24', timeoutSec: 60 }] });
    expect((await codeOf(send(nft, { add: [{ set: 'bannet4', key: '198.51.100.64/26' }] })))?.code).toBe(
      ErrorCodes.NFT_EXISTS,
    );
    await send(nft, { add: [{ set: 'bannet4', key: '198.51.96.0/20' }] });
    expect((await readSet(nft, 'bannet4')).map((e) => e.key)).toEqual([
      '198.51.100.0/24 . 0-255',
      '198.51.96.0/20 . 0-255',
    ]);
  });
});

describe("FakeNft: reads in nft 1.0.6's JSON", () => {
  it("sets, prefixes, concatenations and maps as nft prints them, read back by the project's readers", async () => {
    const { nft, advance } = await setup();
    await send(nft, {
      add: [
        { set: 'ban4', key: '198.18.0.1', timeoutSec: 600 },
        { set: 'ban6net64', key: '2001:db8:1:2::/64', timeoutSec: 600 },
        { set: 'bannet4', key: '198.51.100.0/24' },
        { set: 'bannet6', key: '2001:db8:a::/48', timeoutSec: 600 },
        { set: 'scanners4', key: '198.18.7.7', timeoutSec: 3600 },
        { set: 'scan_reason4', key: '198.18.7.7', timeoutSec: 3600, data: 2 },
      ],
    });
    advance(1500);
    expect((await nft.json(['list', 'set', 'inet', 'nftsentry', 'bannet4'])).nftables).toEqual([
      { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
      {
        set: {
          family: 'inet',
          name: 'bannet4',
          table: 'nftsentry',
          type: ['ipv4_addr', 'inet_proto'],
          handle: 38,
          size: 110000,
          flags: ['interval', 'timeout'],
          elem: [
            {
              elem: {
                val: { concat: [{ prefix: { addr: '198.51.100.0', len: 24 } }, { range: [0, 255] }] },
                counter: { packets: 0, bytes: 0 },
              },
            },
          ],
          stmt: [{ counter: null }],
        },
      },
    ]);
    expect((await nft.json(['list', 'map', 'inet', 'nftsentry', 'scan_reason4'])).nftables[1]).toEqual({
      map: {
        family: 'inet',
        name: 'scan_reason4',
        table: 'nftsentry',
        type: 'ipv4_addr',
        handle: 42,
        map: 'mark',
        size: 262144,
        flags: ['timeout'],
        elem: [[{ elem: { val: '198.18.7.7', timeout: 3600, expires: 3598 } }, 2]],
      },
    });
    const bans = Object.fromEntries(await readBanSets(nft));
    expect(bans).toMatchObject({
      ban4: [{ key: '198.18.0.1', timeoutSec: 600, expiresSec: 598, packets: 0, bytes: 0 }],
      ban6net64: [{ key: '2001:db8:1:2::/64' }],
      bannet4: [{ key: '198.51.100.0/24', timeoutSec: null }],
      bannet6: [{ key: '2001:db8:a::/48', timeoutSec: 600 }],
    });
    expect(await readKernelScanners(nft)).toEqual([
      { address: '198.18.7.7', reason: 'fast_scan', timeoutSec: 3600, expiresSec: 3598 },
    ]);
    nft.setCounter('drop_banned', 7, 420);
    expect((await readCounters(nft)).find((c) => c.name === 'drop_banned')).toEqual({
      name: 'drop_banned',
      comment: 'source in ban4/ban6',
      packets: 7,
      bytes: 420,
    });
    expect(() => nft.setCounter('no_such_counter', 1, 1)).toThrow(/no counter/);
  });
});
