/**
 * The streaming ban-set reader (engine/kernel-bans.ts eachBanSetElement over nft/element-scanner.ts)
 * against real nft in a namespace made for this file: for sets with and without the `counter`
 * flag, with and without timeouts, hash and interval (`prefix . protocol`) sets, it gives exactly
 * what the whole-listing reader gives from the same listing, through the read session (the
 * daemon's path: nft's line handed over in pieces) and through a process per read. A missing set
 * is E_NFT_NOT_FOUND, a reader that throws ends the read with its error, and the session answers
 * the next read either way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netns } from '../../src/lab/netns.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { banSetElements, eachBanSetElement } from '../../src/engine/kernel-bans.ts';
import type { BanSetName } from '../../src/engine/ban-target.ts';
import type { SetElement } from '../../src/nft/state.ts';
import { ErrorCodes, isNftsentryError } from '../../src/errors.ts';

let ns: Netns;
let nft: NftRunner;
const N4 = 20_000;

/** The ban sets declared by hand: with and without `counter`, with and without timeouts. */
const TABLE = `table inet nftsentry {
  set ban4 { type ipv4_addr; flags timeout; counter; size 100000; }
  set ban6 { type ipv6_addr; flags timeout; }
  set ban6net64 { type ipv6_addr; flags timeout; counter; }
  set bannet4 { type ipv4_addr . inet_proto; flags interval, timeout; counter; }
  set bannet6 { type ipv6_addr . inet_proto; flags interval, timeout; }
}
`;

beforeAll(async () => {
  ns = await Netns.create('elread');
  nft = new NftRunner({ netns: ns.name });
  const v4 = Array.from({ length: N4 }, (_, i) => {
    const a = `198.18.${(i >> 8) & 255}.${i & 255}`;
    return i % 3 === 0 ? a : `${a} timeout ${600 + (i % 500)}s`;
  });
  await nft.runScript(
    `${TABLE}add element inet nftsentry ban4 { ${v4.join(', ')} }
add element inet nftsentry ban6 { 2001:db8::1 timeout 1h, 2001:db8::2 }
add element inet nftsentry ban6net64 { 2001:db8:1:2:: timeout 1h, 2001:db8:1:3:: }
add element inet nftsentry bannet4 { 203.0.113.0/24 . 0-255 timeout 1h, 198.51.100.7 . 0-255, 192.0.2.0/25 . 6 }
add element inet nftsentry bannet6 { 2001:db8:a::/48 . 0-255 timeout 1h, 2001:db8:b::1 . 0-255 }
`,
  );
});
afterAll(async () => {
  nft?.useReadSession(false);
  await ns?.delete();
});

const SETS: readonly BanSetName[] = ['ban4', 'ban6', 'ban6net64', 'bannet4', 'bannet6'];

/** Key and timeout, and whether it expires (`expires` counts down between two reads). */
const shape = (els: SetElement[]) => els.map((e) => [e.key, e.timeoutSec, e.expiresSec === null]);

async function streamed(set: BanSetName): Promise<SetElement[]> {
  const out: SetElement[] = [];
  await eachBanSetElement(nft, set, (e) => out.push(e));
  return out;
}

async function whole(set: BanSetName): Promise<SetElement[]> {
  return banSetElements(
    await nft.json(['list', 'set', 'inet', 'nftsentry', set]),
    set === 'ban6net64' ? 64 : undefined,
  );
}

describe('the streaming ban-set reader on real nft', () => {
  it('gives what the whole-listing reader gives, counters or not, timeouts or not, by process and by the read session', async () => {
    for (const session of [false, true]) {
      nft.useReadSession(session);
      for (const set of SETS)
        expect(shape(await streamed(set)), `${set}, session ${session}`).toEqual(shape(await whole(set)));
    }
    const ban4 = await streamed('ban4');
    expect(ban4).toHaveLength(N4);
    expect(ban4.filter((e) => e.timeoutSec === null)).toHaveLength(Math.ceil(N4 / 3));
    expect(ban4.find((e) => e.key === '198.18.0.1')).toMatchObject({ timeoutSec: 601 });
    // ban4 and ban6net64 have the counter flag (ban6 and bannet6 here do not): nft prints a counter
    // with every element of theirs, and the reader gives its packets and bytes.
    expect(JSON.stringify(await nft.json(['list', 'set', 'inet', 'nftsentry', 'ban4']))).toContain('"counter"');
    expect(await streamed('ban6net64')).toEqual([
      { key: '2001:db8:1:2::/64', timeoutSec: 3600, expiresSec: expect.any(Number), packets: 0, bytes: 0 },
      { key: '2001:db8:1:3::/64', timeoutSec: null, expiresSec: null, packets: 0, bytes: 0 },
    ]);
    // The element for protocol 6 only is not a ban nftsentry writes: left out.
    expect((await streamed('bannet4')).map((e) => e.key).sort()).toEqual(['198.51.100.7', '203.0.113.0/24']);
    expect((await streamed('bannet6')).map((e) => e.key).sort()).toEqual(['2001:db8:a::/48', '2001:db8:b::1']);
    nft.useReadSession(false);
  });

  it('a missing set is E_NFT_NOT_FOUND; a reader that throws ends the read with its error; the session answers the next read', async () => {
    nft.useReadSession(true);
    const missing = await eachBanSetElement(nft, 'nope' as BanSetName, () => undefined).catch((e: unknown) => e);
    expect(isNftsentryError(missing, ErrorCodes.NFT_NOT_FOUND)).toBe(true);
    let seen = 0;
    const thrown = await eachBanSetElement(nft, 'ban4', () => {
      if (++seen === 10) throw new Error('reader gave up');
    }).catch((e: unknown) => e);
    expect((thrown as Error).message).toBe('reader gave up');
    expect(seen).toBe(10);
    expect(shape(await streamed('ban6'))).toEqual(shape(await whole('ban6')));
    expect(await streamed('ban4')).toHaveLength(N4);
    nft.useReadSession(false);
  });
});
