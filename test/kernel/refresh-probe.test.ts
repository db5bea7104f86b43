/**
 * The refresh probe on real nft in a namespace: this kernel updates an element's timeout and
 * expiry on a re-add with `timeout T expires T` and keeps its counter (so a refresh is one add,
 * and the hits since the ban survive it); the probe works in a table of its own, whatever the ban
 * sets hold, and leaves nothing behind.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Netns } from '../../src/lab/netns.ts';
import { kernelRefreshesInPlace, sharedRefreshProbe } from '../../src/nft/refresh-probe.ts';
import { NftRunner } from '../../src/nft/runner.ts';

let ns: Netns;
let nft: NftRunner;

beforeAll(async () => {
  ns = await Netns.create('refresh');
  nft = new NftRunner({ netns: ns.name });
});
afterAll(async () => {
  await ns.delete();
});

it('answers true on this kernel, in a table of its own: the ban sets untouched, no table left', async () => {
  await nft.runScript('table inet nftsentry {\n  set ban4 { type ipv4_addr; flags timeout; counter; }\n}\n');
  await nft.runScript('add element inet nftsentry ban4 { 198.18.0.9 timeout 1h }\n');
  const probe = sharedRefreshProbe();
  const [a, b] = await Promise.all([probe(nft), probe(nft)]);
  expect([a, b]).toEqual([true, true]);
  expect(await kernelRefreshesInPlace(nft)).toBe(true);
  const ruleset = (await nft.run(['list', 'ruleset'])).stdout;
  expect(ruleset).not.toContain('nftsentry_probe');
  expect(ruleset).toContain('198.18.0.9');
  expect(ruleset).not.toContain('0.0.0.0');
  // What a refresh relies on, shown directly: with the same timeout a plain re-add leaves the
  // time left alone; with `expires` it restarts the clock; another timeout is taken; the counter stays.
  await nft.runScript('add element inet nftsentry ban4 { 198.18.0.9 timeout 1h expires 10s }\n');
  await nft.runScript('add element inet nftsentry ban4 { 198.18.0.9 timeout 1h }\n');
  const listed9 = async () => (await nft.run(['list', 'set', 'inet', 'nftsentry', 'ban4'])).stdout;
  expect(await listed9()).toMatch(/198\.18\.0\.9 counter packets 0 bytes 0 timeout 1h expires \d+s\d+ms/);
  await nft.runScript('add element inet nftsentry ban4 { 198.18.0.9 timeout 1h expires 1h }\n');
  expect(await listed9()).toMatch(/198\.18\.0\.9 counter packets 0 bytes 0 timeout 1h expires 59m/);
  await nft.runScript('add element inet nftsentry ban4 { 198.18.0.9 timeout 2d expires 2d }\n');
  expect(await listed9()).toMatch(/198\.18\.0\.9 counter packets 0 bytes 0 timeout 2d expires 1d23h59m/);
});
