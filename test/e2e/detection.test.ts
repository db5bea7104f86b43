/**
 * In-kernel scan detection with real nmap: the fast meter, trap ports, the slow meter,
 * retransmissions counted once, exemptions, per-source rate limits, and the forward chain.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLabTopology, LAB_ADDR, type LabTopology } from '../../src/lab/topology.ts';
import { runNmap } from '../../src/lab/nmap.ts';
import { httpReaches, startClient, startService, type Client } from '../../src/lab/workload.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { applyRuleset } from '../../src/nft/apply.ts';
import { readCounters, readSet } from '../../src/nft/state.ts';
import { readKernelScanners } from '../../src/nft/scanners.ts';
import { parseConfigText } from '../../src/config/config.ts';
import { waitFor } from '../helpers.ts';

let t: LabTopology;
let nft: NftRunner;
let client: Client;
const A = LAB_ADDR;
const FAST = ['--max-retries', '0', '--max-rtt-timeout', '50ms'];

/** Applies a config and forgets every earlier detection (scanner sets are kept by apply). */
async function reset(yaml: string) {
  await applyRuleset(parseConfigText(`services: { tcp: [80] }\n${yaml}`), { runner: nft });
  await nft.runScript(
    ['scanners4', 'scanners6']
      .map((s) => `flush set inet nftsentry ${s}`)
      .concat(['flush map inet nftsentry scan_reason4', 'flush map inet nftsentry scan_reason6'])
      .join('\n'),
  );
}

async function banned(family: 4 | 6): Promise<Array<{ address: string; reason: string; timeoutSec: number | null }>> {
  return (await readKernelScanners(nft))
    .filter((e) => e.address.includes(':') === (family === 6))
    .map((e) => ({ address: e.address, reason: e.reason, timeoutSec: e.timeoutSec }));
}

const scannerReaches = (url: string) => httpReaches(t.scanner, url);

beforeAll(async () => {
  t = await createLabTopology({ inner: true });
  nft = new NftRunner({ netns: t.gw.name });
  await reset('');
  await startService(t.gw, 80);
  client = await startClient(t.client, [`http://${A.gwClient4}/`, `http://[${A.gwClient6}]/`], 50);
});
afterAll(async () => {
  await t?.destroy();
});

describe('fast meter', () => {
  for (const [family, target, scanner, url] of [
    [4, A.gwScan4, A.scanner4, `http://${A.gwScan4}/`],
    [6, A.gwScan6, A.scanner6, `http://[${A.gwScan6}]/`],
  ] as const) {
    it(`IPv${family}: 10 closed ports pass; the 11th puts the scanner in scanners${family} (time printed), then it is cut off`, async () => {
      await reset(
        'scan_detection: { slow: { enabled: false, ports: 5, window: 1h }, trap_ports: { tcp: [] }, ban_timeout: 2h }',
      );
      expect(await scannerReaches(url)).toBe(true);
      await runNmap(t.scanner, ['-sS', '-p', '1000-1009', ...FAST], target);
      expect(await banned(family)).toEqual([]);
      // The crossing: one more distinct port. nmap's own start-up counts against the second.
      const started = performance.now();
      const scan = runNmap(t.scanner, ['-sS', '-p', '1010', ...FAST], target);
      try {
        const entry = await waitFor(
          async () => (await banned(family)).find((e) => e.address === scanner),
          3000,
          'the ban',
          10,
        );
        console.log(`${family}: banned ${Math.round(performance.now() - started)} ms after the crossing scan started`);
        expect(entry).toEqual({ address: scanner, reason: 'fast_scan', timeoutSec: 7200 });
      } finally {
        await scan;
      }
      expect(await scannerReaches(url)).toBe(false);
    });
  }
});

describe('trap ports', () => {
  it('one SYN to a trap port bans at once (IPv4 and IPv6), one UDP datagram too', async () => {
    await reset('scan_detection: { trap_ports: { tcp: [2323], udp: [1900] } }');
    await runNmap(t.scanner, ['-sS', '-p', '2323', '--max-retries', '0'], A.gwScan6);
    expect(await banned(6)).toEqual([{ address: A.scanner6, reason: 'trap_port', timeoutSec: 3600 }]);
    expect(await banned(4)).toEqual([]);
    await runNmap(t.scanner, ['-sU', '-p', '1900', '--max-retries', '0'], A.gwScan4);
    expect(await banned(4)).toEqual([{ address: A.scanner4, reason: 'trap_port', timeoutSec: 3600 }]);
    const c = Object.fromEntries((await readCounters(nft)).map((x) => [x.name, x.packets]));
    expect(c.drop_scan_trap).toBeGreaterThanOrEqual(2);
  });
});

describe('slow meter and counting', () => {
  it('catches a slow scan the fast meter misses (windows shortened for the test)', async () => {
    await reset(
      'scan_detection: { fast: { ports: 3, window: 1s }, slow: { ports: 5, window: 10m }, trap_ports: { tcp: [] } }',
    );
    // Five closed ports, one every 1.2 s: never more than 3 within any 1 s -> the fast meter stays quiet.
    await runNmap(t.scanner, ['-sS', '-p', '2001-2005', '--scan-delay', '1200ms', '--max-retries', '0'], A.gwScan4);
    expect(await banned(4)).toEqual([]);
    await runNmap(t.scanner, ['-sS', '-p', '2006', '--max-retries', '0'], A.gwScan4);
    expect(await banned(4)).toEqual([{ address: A.scanner4, reason: 'slow_scan', timeoutSec: 3600 }]);
  });

  it('retransmissions to one port count once; the 6th distinct port bans', async () => {
    await reset('scan_detection: { trap_ports: { tcp: [] } }');
    // nmap retransmits to a port that never answers: many SYNs, one (source, port) pair.
    await runNmap(
      t.scanner,
      ['-sS', '-p', '3000', '--max-retries', '9', '--min-rtt-timeout', '20ms', '--max-rtt-timeout', '20ms'],
      A.gwScan4,
    );
    await runNmap(t.scanner, ['-sS', '-p', '3001-3004', '--max-retries', '3', '--max-rtt-timeout', '20ms'], A.gwScan4);
    const seen = (await readSet(nft, 'scan_slow_seen4')).map((e) => e.key).sort();
    expect(seen).toEqual([3000, 3001, 3002, 3003, 3004].map((p) => `${A.scanner4} . tcp . ${p}`));
    const c = Object.fromEntries((await readCounters(nft)).map((x) => [x.name, x.packets]));
    expect(c.drop_policy_input).toBeGreaterThanOrEqual(10);
    expect(await banned(4)).toEqual([]);
    await runNmap(t.scanner, ['-sS', '-p', '3005', '--max-retries', '0'], A.gwScan4);
    expect((await banned(4)).map((e) => e.address)).toEqual([A.scanner4]);
  });

  it('home networks and the allowlist are never counted or banned', async () => {
    await reset(
      `home_networks: ["${A.scanner6}"]\nallowlist: [198.18.0.0/24]\nscan_detection: { trap_ports: { tcp: [2323] } }`,
    );
    await runNmap(t.scanner, ['-sS', '-p', '2323,4000-4020', '--max-retries', '0'], A.gwScan4);
    await runNmap(t.scanner, ['-sS', '-p', '2323,4000-4020', '--max-retries', '0'], A.gwScan6);
    expect(await banned(4)).toEqual([]);
    expect(await banned(6)).toEqual([]);
  });
});

describe('rate limits', () => {
  it('ICMP echo: about 1/s after a burst of 5 per source', async () => {
    await reset('');
    const r = await t.scanner.exec('ping', ['-n', '-q', '-c', '40', '-i', '0.01', '-W', '1', A.gwScan4]);
    const received = Number(/(\d+) received/.exec(r.stdout)?.[1]);
    expect(received).toBeGreaterThanOrEqual(5);
    expect(received).toBeLessThanOrEqual(7);
    const c = Object.fromEntries((await readCounters(nft)).map((x) => [x.name, x.packets]));
    expect(c.drop_rate_icmp).toBeGreaterThanOrEqual(33);
  });
});

describe('forward chain (a host behind the gateway)', () => {
  it('stealth flags never reach the inner host; a trap port on routed traffic bans the scanner', async () => {
    await reset('scan_detection: { trap_ports: { tcp: [23] } }');
    // Without a firewall the inner host would answer a NULL scan with RSTs ("closed").
    const nul = await runNmap(t.scanner, ['-sN', '-p', '1-200', '--max-retries', '0'], A.inner4);
    expect(nul.byState).toEqual({ 'open|filtered': 200 });
    expect(await banned(4)).toEqual([]);
    await runNmap(t.scanner, ['-sS', '-p', '23', '--max-retries', '0'], A.inner4);
    expect(await banned(4)).toEqual([{ address: A.scanner4, reason: 'trap_port', timeoutSec: 3600 }]);
    const after = await runNmap(t.scanner, ['-sS', '-p', '1-50', '--max-retries', '0'], A.inner4);
    expect(after.byState).toEqual({ filtered: 50 });
  });
});

describe('the legitimate client', () => {
  it('saw zero failures through all of the above', async () => {
    const r = await client.stop();
    expect(r.ok).toBeGreaterThan(20);
    expect(r.fail).toBe(0);
  });
});
