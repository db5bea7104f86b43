/**
 * The streaming reader of `nft -j list set` output (nft/element-scanner.ts): the items of the
 * set's `elem` array come out as JSON.parse gives them, whatever the pieces the text arrives in;
 * text that is not a set listing is refused with E_NFT_FAILED. The engine's ban-set reader on top
 * of it (eachBanSetElement) runs against the fake here and the real kernel in
 * test/kernel/element-reader.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.ts';
import { banSetElements, eachBanSetElement } from '../../src/engine/kernel-bans.ts';
import { ElementScanner } from '../../src/nft/element-scanner.ts';
import type { SetElement } from '../../src/nft/state.ts';
import { send, setup } from './fake-helpers.ts';

const META = { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } };
const ITEMS: unknown[] = [
  '198.51.100.1',
  { elem: { val: '198.51.100.2', timeout: 3600, expires: 3599 } },
  { elem: { val: '198.51.100.3', timeout: 60, expires: 42, counter: { packets: 7, bytes: 420 } } },
  { elem: { val: '198.51.100.4', counter: { packets: 0, bytes: 0 } } },
  { prefix: { addr: '198.51.100.0', len: 24 } },
  { range: ['198.51.100.10', '198.51.100.20'] },
  { elem: { val: { concat: [{ prefix: { addr: '2001:db8:1::', len: 48 } }, { range: [0, 255] }] }, timeout: 9 } },
  { concat: ['2001:db8:3::1', { range: [0, 255] }] },
  12345,
  'with \\"quotes\\" and ] } [ {',
];
/** A listing as nft prints it, with a header whose strings hold brackets and an `elem` text. */
const listing = (elem: unknown[] | undefined, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    nftables: [
      META,
      {
        set: {
          family: 'inet',
          name: 'ban4',
          table: 'nftsentry',
          type: 'ipv4_addr',
          handle: 3,
          comment: 'a "elem": [ {tricky} ] \\ comment',
          flags: ['timeout', 'elem'],
          ...extra,
          ...(elem ? { elem } : {}),
        },
      },
    ],
  });

function scanAll(pieces: string[]): unknown[] {
  const out: unknown[] = [];
  const s = new ElementScanner((item) => out.push(item));
  for (const p of pieces) s.push(p);
  s.end();
  expect(s.count).toBe(out.length);
  return out;
}

const code = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'no error';
};

describe('ElementScanner', () => {
  const text = listing(ITEMS);
  const want = (JSON.parse(text) as { nftables: Array<{ set?: { elem: unknown[] } }> }).nftables[1]!.set!.elem;

  it('gives every item of the elem array, as JSON.parse does, for the text in one piece', () => {
    expect(want).toHaveLength(ITEMS.length);
    expect(scanAll([text])).toEqual(want);
  });

  it('gives the same items whatever the pieces: cut at every place, and one character at a time', () => {
    for (let at = 0; at <= text.length; at++) expect(scanAll([text.slice(0, at), text.slice(at)])).toEqual(want);
    expect(scanAll([...text])).toEqual(want);
  });

  it('takes nft pretty-printed (spaces and newlines between tokens) and a map listing ([key, data] items)', () => {
    const pretty = JSON.stringify(JSON.parse(text), null, 2);
    expect(scanAll(pretty.match(/[\s\S]{1,7}/g)!)).toEqual(want);
    const map = JSON.stringify({
      nftables: [
        META,
        {
          map: {
            name: 'scan_reason4',
            elem: [
              ['198.51.100.1', 2],
              [{ prefix: { addr: '10.0.0.0', len: 8 } }, 'x'],
            ],
          },
        },
      ],
    });
    expect(scanAll([map])).toEqual([
      ['198.51.100.1', 2],
      [{ prefix: { addr: '10.0.0.0', len: 8 } }, 'x'],
    ]);
  });

  it('an empty set (no elem key, or an empty array) gives nothing', () => {
    expect(scanAll([listing(undefined)])).toEqual([]);
    expect(scanAll([listing([])])).toEqual([]);
    // An `elem` array deeper than the set's own keys is not the set's elements.
    expect(scanAll([listing(undefined, { stmt: [{ elem: ['not', 'an', 'element'] }] })])).toEqual([]);
  });

  it('refuses what is not a whole set listing: E_NFT_FAILED, also on every later piece', () => {
    expect(code(() => scanAll([text.slice(0, -5)]))).toBe(ErrorCodes.NFT_FAILED);
    expect(code(() => scanAll(['']))).toBe(ErrorCodes.NFT_FAILED);
    expect(code(() => scanAll([`${text}]}`]))).toBe(ErrorCodes.NFT_FAILED);
    const broken = listing(['198.51.100.1']).replace('"198.51.100.1"', '{"elem": nonsense}');
    const s = new ElementScanner(() => undefined);
    expect(code(() => s.push(broken))).toBe(ErrorCodes.NFT_FAILED);
    expect(code(() => s.push(']}'))).toBe(ErrorCodes.NFT_FAILED);
    expect(code(() => s.end())).toBe(ErrorCodes.NFT_FAILED);
  });
});

describe('eachBanSetElement (the ban-set reader) on the fake nft', () => {
  it('gives what the whole-listing reader gives, for every ban set, in pieces', async () => {
    const { nft } = await setup();
    await send(nft, {
      add: [
        { set: 'ban4', key: '198.51.100.7', timeoutSec: 600 },
        { set: 'ban4', key: '198.51.100.8' },
        ...Array.from({ length: 300 }, (_, i) => ({
          set: 'ban4' as const,
          key: `198.18.${1 + (i >> 8)}.${i & 255}`,
          timeoutSec: 60 + i,
        })),
        { set: 'ban6', key: '2001:db8::7', timeoutSec: 600 },
        { set: 'ban6net64', key: '2001:db8:1::/64', timeoutSec: 600 },
        { set: 'bannet4', key: '203.0.113.0/24', timeoutSec: 600 },
        { set: 'bannet6', key: '2001:db8:2::/48' },
      ],
    });
    for (const set of ['ban4', 'ban6', 'ban6net64', 'bannet4', 'bannet6'] as const) {
      const streamed: SetElement[] = [];
      await eachBanSetElement(nft, set, (e) => streamed.push(e));
      const listed = await nft.json(['list', 'set', 'inet', 'nftsentry', set]);
      expect(streamed, set).toEqual(banSetElements(listed, set === 'ban6net64' ? 64 : undefined));
      expect(streamed.length, set).toBe(set === 'ban4' ? 302 : 1);
    }
  });
});
