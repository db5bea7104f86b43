/**
 * IPv6 /64 bans in the hash set ban6net64, against the real kernel in the lab namespaces: the
 * element is the /64's network address (written by nft/elements.ts, read back as addr/64 by the
 * engine's kernel reader), a packet from any address inside it is dropped in prerouting while
 * other sources still get through, the element and its timeout survive a re-apply, and removing
 * it lets the source back in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLabTopology, LAB_ADDR, type LabTopology } from '../../src/lab/topology.ts';
import { httpReaches, startService } from '../../src/lab/workload.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { applyRuleset } from '../../src/nft/apply.ts';
import { elementScript } from '../../src/nft/elements.ts';
import { readCounters, readSet } from '../../src/nft/state.ts';
import { readBanSets } from '../../src/engine/kernel-bans.ts';
import { parseBanTarget } from '../../src/engine/ban-target.ts';
import { parseConfigText } from '../../src/config/config.ts';
import type { Netns } from '../../src/lab/netns.ts';

let t: LabTopology;
let nft: NftRunner;
const A = LAB_ADDR;
const config = parseConfigText('services: { tcp: [80] }\n');

const reaches = (ns: Netns, url: string) => httpReaches(ns, url);
const scannerUrl = `http://[${A.gwScan6}]/`;
const clientUrl = `http://[${A.gwClient6}]/`;
const bannedNet = async () => (await readCounters(nft)).find((c) => c.name === 'drop_banned_net')!.packets;

beforeAll(async () => {
  t = await createLabTopology();
  nft = new NftRunner({ netns: t.gw.name });
  await applyRuleset(config, { runner: nft });
  await startService(t.gw, 80);
});
afterAll(async () => {
  await t?.destroy();
});

describe('ban6net64', () => {
  it('a banned /64 (network address in the hash set) drops every address in it; another /64 still gets through', async () => {
    expect(await reaches(t.scanner, scannerUrl)).toBe(true);
    expect(await reaches(t.client, clientUrl)).toBe(true);
    // The engine's path: the target 2001:db8::/64 (holding the scanner 2001:db8::2) maps to
    // ban6net64, and its element change is written as the bare network address.
    const target = parseBanTarget('2001:db8::/64')!;
    expect(target.set).toBe('ban6net64');
    await nft.runScript(elementScript({ add: [{ set: target.set, key: target.text, timeoutSec: 3600 }] }));
    expect((await readSet(nft, 'ban6net64')).map((e) => [e.key, e.timeoutSec])).toEqual([['2001:db8::', 3600]]);
    expect((await readBanSets(nft)).get('ban6net64')!.map((e) => e.key)).toEqual(['2001:db8::/64']);
    expect(await readSet(nft, 'bannet6')).toEqual([]);
    const before = await bannedNet();
    expect(await reaches(t.scanner, scannerUrl)).toBe(false);
    expect(await bannedNet()).toBeGreaterThan(before);
    expect(await reaches(t.client, clientUrl)).toBe(true);
    // IPv4 from the same host is not in the ban.
    expect(await reaches(t.scanner, `http://${A.gwScan4}/`)).toBe(true);
  });

  it('the element and its timeout survive a re-apply; removing it lets the /64 back in', async () => {
    const [was] = await readSet(nft, 'ban6net64');
    await applyRuleset(config, { runner: nft });
    const [now] = await readSet(nft, 'ban6net64');
    expect(now!.key).toBe('2001:db8::');
    expect(now!.timeoutSec).toBe(3600);
    expect(now!.expiresSec).toBeLessThanOrEqual(was!.expiresSec!);
    expect(now!.expiresSec).toBeGreaterThan(3500);
    expect(await reaches(t.scanner, scannerUrl)).toBe(false);
    expect(await reaches(t.client, clientUrl)).toBe(true);
    await nft.runScript(elementScript({ remove: [{ set: 'ban6net64', key: '2001:db8::/64' }] }));
    expect(await readSet(nft, 'ban6net64')).toEqual([]);
    expect(await reaches(t.scanner, scannerUrl)).toBe(true);
  });
});
