/**
 * readBanHits on real nft in a namespace: the counters of chosen ban targets in ban4, ban6net64
 * (elements printed without their /64) and bannet4 (printed `prefix . 0-255`), each set read once
 * as a stream; a target that is not there (expired, never added) is left out and does not hide
 * the others; packets sent to a banned address show in its counter.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Netns } from '../../src/lab/netns.ts';
import { readBanHits } from '../../src/engine/kernel-bans.ts';
import { NftRunner } from '../../src/nft/runner.ts';

let ns: Netns;
let nft: NftRunner;

beforeAll(async () => {
  ns = await Netns.create('counters');
  nft = new NftRunner({ netns: ns.name });
  // 198.18.44.0/24 on lo: a ping to .2 goes through the output hook, where ban4 drops and counts it.
  await ns.run('ip', ['link', 'set', 'lo', 'up']);
  await ns.run('ip', ['addr', 'add', '198.18.44.1/24', 'dev', 'lo']);
  await nft.runScript(`table inet nftsentry {
  set ban4 { type ipv4_addr; flags timeout; counter; }
  set ban6net64 { type ipv6_addr; flags timeout; counter; }
  set bannet4 { type ipv4_addr . inet_proto; flags interval,timeout; counter; }
  chain out { type filter hook output priority 0; ip daddr @ban4 drop; }
}
add element inet nftsentry ban4 { 198.18.44.2 timeout 1h, 198.18.44.3 timeout 1h }
add element inet nftsentry ban6net64 { 2001:db8:7:: timeout 1h }
add element inet nftsentry bannet4 { 198.51.100.0/24 . 0-255 timeout 1h }
`);
});
afterAll(async () => {
  await ns?.delete();
});

it('reads the counters of chosen targets, a set at a time; a missing one is left out, the others still read', async () => {
  await ns.exec('ping', ['-q', '-c', '3', '-i', '0.2', '-W', '1', '198.18.44.2'], { timeoutMs: 10_000 });
  const got = await readBanHits(nft, [
    '198.18.44.2',
    '198.18.44.99',
    '198.18.44.3',
    '2001:db8:7::/64',
    '198.51.100.0/24',
  ]);
  expect(Object.fromEntries(got)).toEqual({
    '198.18.44.2': { packets: 3, bytes: 252 },
    '198.18.44.3': { packets: 0, bytes: 0 },
    '2001:db8:7::/64': { packets: 0, bytes: 0 },
    '198.51.100.0/24': { packets: 0, bytes: 0 },
  });
  expect((await readBanHits(nft, ['198.18.44.98', 'not an address'])).size).toBe(0);
});
