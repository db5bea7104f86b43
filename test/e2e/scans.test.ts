/**
 * Real nmap from a scanner namespace against the gateway namespace running the ruleset, over 1000
 * ports, IPv4 and IPv6, while a client keeps using the service. Scan detection is off here so
 * that every probe meets the flag, conntrack and policy rules themselves (detection is tested in
 * detection.test.ts, rate limits too). A control run without the ruleset shows the same assertions failing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLabTopology, LAB_ADDR, type LabTopology } from '../../src/lab/topology.ts';
import { runNmap } from '../../src/lab/nmap.ts';
import { NMAP_FAST } from '../../src/lab/lab.ts';
import { startClient, startService, type Client, type Service } from '../../src/lab/workload.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { applyRuleset } from '../../src/nft/apply.ts';
import { readCounters } from '../../src/nft/state.ts';
import { parseConfigText } from '../../src/config/config.ts';

let t: LabTopology;
let nft: NftRunner;
let service: Service;
let client: Client;
const TARGETS = [LAB_ADDR.gwScan4, LAB_ADDR.gwScan6];

beforeAll(async () => {
  t = await createLabTopology();
  nft = new NftRunner({ netns: t.gw.name });
  // Rate limits are set far above nmap's pace here: an -sT right after an -sS would otherwise find
  // the scanner's SYN bucket empty and read port 80 as filtered (correctly). They have their own test.
  await applyRuleset(
    parseConfigText(`services: { tcp: [80] }
scan_detection: { enabled: false }
rate_limits: { tcp_syn: { rate: 100000/second, burst: 100000 }, udp_new: { rate: 100000/second, burst: 100000 } }`),
    { runner: nft },
  );
  service = await startService(t.gw, 80);
  client = await startClient(t.client, [`http://${LAB_ADDR.gwClient4}/`, `http://[${LAB_ADDR.gwClient6}]/`], 50);
});
afterAll(async () => {
  await t?.destroy();
});

const counters = async () => Object.fromEntries((await readCounters(nft)).map((c) => [c.name, c.packets]));

describe('nmap against the ruleset (1000 ports)', () => {
  const tcpStealth: Array<[string, string]> = [
    ['-sN', 'drop_flags_null'],
    ['-sF', 'drop_flags_fin_noack'],
    ['-sX', 'drop_flags_xmas'],
    ['-sA', 'drop_new_not_syn'],
    ['-sM', 'drop_invalid'],
  ];
  for (const target of TARGETS) {
    for (const [flag, counter] of tcpStealth) {
      it(`${flag} ${target}: nothing closed or unfiltered; every probe dropped by ${counter}`, async () => {
        const before = await counters();
        const r = await runNmap(t.scanner, [flag, ...NMAP_FAST], target);
        expect(r.exitCode).toBe(0);
        expect(Object.values(r.byState).reduce((a, b) => a + b, 0)).toBe(1000);
        expect(r.byState.closed ?? 0).toBe(0);
        expect(r.byState.unfiltered ?? 0).toBe(0);
        const after = await counters();
        expect(after[counter]! - before[counter]!).toBeGreaterThanOrEqual(1000);
      });
    }
    for (const flag of ['-sS', '-sT']) {
      it(`${flag} ${target}: only the service reads open, the rest filtered`, async () => {
        const r = await runNmap(t.scanner, [flag, ...NMAP_FAST], target);
        expect(r.byState).toEqual({ open: 1, filtered: 999 });
        expect(r.ports['tcp/80']).toBe('open');
      });
    }
    it(`-sU ${target}: nothing reads closed`, async () => {
      const r = await runNmap(t.scanner, ['-sU', ...NMAP_FAST], target);
      expect(Object.values(r.byState).reduce((a, b) => a + b, 0)).toBe(1000);
      expect(r.byState.closed ?? 0).toBe(0);
    });
  }

  it('the client, requesting steadily through every scan, saw zero failures', async () => {
    const r = await client.stop();
    expect(r.ok).toBeGreaterThan(50);
    expect(r.fail).toBe(0);
  });

  it('control: without the ruleset the same scans see closed and unfiltered ports', async () => {
    await nft.run(['delete', 'table', 'inet', 'nftsentry']);
    const syn = await runNmap(t.scanner, ['-sS', ...NMAP_FAST], LAB_ADDR.gwScan4);
    expect(syn.byState.closed).toBeGreaterThan(900);
    const ack = await runNmap(t.scanner, ['-sA', ...NMAP_FAST], LAB_ADDR.gwScan6);
    expect(ack.byState.unfiltered).toBeGreaterThan(900);
    await service.stop();
  });
});
