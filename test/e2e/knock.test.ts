/**
 * Port knocking with real packets: nmap SYNs (and UDP probes) from the scanner namespace to the
 * gateway, a real HTTP service on the guarded port, the base ruleset in the kernel. The guarded
 * port reads filtered until the right sequence; it opens for the knocking source only, and closes
 * again after open_for; a wrong order or a too-slow knock does not open it; the knocker is never
 * banned for its knocks while another source touching as many closed ports is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLabTopology, LAB_ADDR, type LabTopology } from '../../src/lab/topology.ts';
import { runNmap } from '../../src/lab/nmap.ts';
import { httpReaches, startService } from '../../src/lab/workload.ts';
import type { Netns } from '../../src/lab/netns.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { applyRuleset } from '../../src/nft/apply.ts';
import { readCounters, readSet } from '../../src/nft/state.ts';
import { readKernelScanners } from '../../src/nft/scanners.ts';
import { parseConfigText } from '../../src/config/config.ts';
import { waitFor } from '../helpers.ts';

const A = LAB_ADDR;
const GUARDED = 2222;
const SEQUENCE = [7001, 7002, 7003];
let t: LabTopology;
let nft: NftRunner;

/**
 * Applies the ruleset with knocking on (apply flushes the knock state and the meters). The fast
 * meter bans more than 6 distinct closed ports: a knocker touches 3 knock ports again and again.
 */
async function apply(knock = '') {
  await applyRuleset(
    parseConfigText(`services: { tcp: [80] }
scan_detection:
  fast: { ports: 6, window: 10m }
  slow: { enabled: false, ports: 5, window: 1h }
  trap_ports: { tcp: [2323] }
knock: { sequence: [${SEQUENCE.join(', ')}], ports: [${GUARDED}], stage_timeout: 5s, open_for: 10s${knock} }
`),
    { runner: nft },
  );
}

/** One knock: a single probe to `port`, nothing retransmitted. */
async function knock(from: Netns, target: string, port: number, proto: 'tcp' | 'udp' = 'tcp') {
  const scan = proto === 'tcp' ? '-sS' : '-sU';
  const r = await runNmap(from, [scan, '-p', String(port), '--max-retries', '0', '--max-rtt-timeout', '100ms'], target);
  expect(r.exitCode).toBe(0);
}

async function knockAll(from: Netns, target: string, ports: readonly number[], proto: 'tcp' | 'udp' = 'tcp') {
  for (const p of ports) await knock(from, target, p, proto);
}

/** What nmap reads on the guarded port from `ns`: open, filtered... */
async function guardedState(from: Netns, target: string): Promise<string | undefined> {
  const r = await runNmap(
    from,
    ['-sS', '-p', String(GUARDED), '--max-retries', '1', '--max-rtt-timeout', '200ms'],
    target,
  );
  return r.ports[`tcp/${GUARDED}`];
}

/** A new connection to the guarded port gets an answer (3 s: a loaded machine answers late). */
const opens = (from: Netns, host: string) => httpReaches(from, url(host), 3000);

const url = (host: string) => (host.includes(':') ? `http://[${host}]:${GUARDED}/` : `http://${host}:${GUARDED}/`);

async function scanners(): Promise<string[]> {
  return (await readKernelScanners(nft)).map((s) => s.address);
}

beforeAll(async () => {
  t = await createLabTopology();
  nft = new NftRunner({ netns: t.gw.name });
  await apply();
  await startService(t.gw, GUARDED);
});
afterAll(async () => {
  await t?.destroy();
});

describe('port knocking', () => {
  it('the guarded port reads filtered before a knock (IPv4 and IPv6)', async () => {
    expect(await guardedState(t.scanner, A.gwScan4)).toBe('filtered');
    expect(await guardedState(t.scanner, A.gwScan6)).toBe('filtered');
    expect(await httpReaches(t.scanner, url(A.gwScan4))).toBe(false);
  });

  it('the right sequence opens it for the knocking source only, then it closes after open_for', async () => {
    await apply();
    await knockAll(t.scanner, A.gwScan4, SEQUENCE);
    expect(await opens(t.scanner, A.gwScan4)).toBe(true);
    expect((await readSet(nft, 'knock_open4')).map((e) => e.key)).toEqual([A.scanner4]);
    // Another source, same port, same moment: still filtered.
    expect(await guardedState(t.client, A.gwClient4)).toBe('filtered');
    expect(await httpReaches(t.client, url(A.gwClient4))).toBe(false);
    // IPv4 admission does not open IPv6: the source is an address.
    expect(await httpReaches(t.scanner, url(A.gwScan6))).toBe(false);
    // open_for runs out (the kernel drops the element): new connections are filtered again.
    await waitFor(
      async () => ((await readSet(nft, 'knock_open4')).length === 0 ? true : undefined),
      30_000,
      'the close',
    );
    expect(await httpReaches(t.scanner, url(A.gwScan4))).toBe(false);
    expect(await guardedState(t.scanner, A.gwScan4)).toBe('filtered');
  });

  it('IPv6: the right sequence opens it', async () => {
    await apply();
    await knockAll(t.scanner, A.gwScan6, SEQUENCE);
    expect(await opens(t.scanner, A.gwScan6)).toBe(true);
    expect((await readSet(nft, 'knock_open6')).map((e) => e.key)).toEqual([A.scanner6]);
  });

  it('a wrong order does not open it, and a wrong knock in the middle starts over', async () => {
    await apply();
    await knockAll(t.scanner, A.gwScan4, [7002, 7001, 7003]);
    expect(await httpReaches(t.scanner, url(A.gwScan4))).toBe(false);
    await knockAll(t.scanner, A.gwScan4, [7001, 7003, 7002, 7003]);
    expect(await httpReaches(t.scanner, url(A.gwScan4))).toBe(false);
    expect(await readSet(nft, 'knock_open4')).toEqual([]);
    // After the failed attempts the right sequence still works: nothing was locked.
    await knockAll(t.scanner, A.gwScan4, SEQUENCE);
    expect(await opens(t.scanner, A.gwScan4)).toBe(true);
  });

  it('a too-slow knock does not open it', async () => {
    await apply();
    await knockAll(t.scanner, A.gwScan4, [7001, 7002]);
    expect((await readSet(nft, 'knock4')).map((e) => e.key)).toEqual([`${A.scanner4} . 7003`]);
    // Wait until the stage has timed out in the kernel (stage_timeout 5s), then the last knock.
    await waitFor(
      async () => ((await readSet(nft, 'knock4')).length === 0 ? true : undefined),
      10_000,
      'stage timeout',
    );
    await knock(t.scanner, A.gwScan4, 7003);
    expect(await httpReaches(t.scanner, url(A.gwScan4))).toBe(false);
    expect(await readSet(nft, 'knock_open4')).toEqual([]);
  });

  it('UDP knocks (protocol: udp) open the guarded TCP port; TCP ones then do not', async () => {
    await apply(', protocol: udp');
    await knockAll(t.scanner, A.gwScan4, SEQUENCE, 'tcp');
    expect(await httpReaches(t.scanner, url(A.gwScan4))).toBe(false);
    await knockAll(t.scanner, A.gwScan4, SEQUENCE, 'udp');
    expect(await opens(t.scanner, A.gwScan4)).toBe(true);
  });

  it('the knocker is not banned for its knocks; a source touching as many closed ports is', async () => {
    await apply();
    for (let i = 0; i < 3; i++) await knockAll(t.scanner, A.gwScan4, [7003, 7002, 7001]);
    await knockAll(t.scanner, A.gwScan6, [7003, 7002, 7001]);
    expect(await scanners()).toEqual([]);
    const drops = Object.fromEntries((await readCounters(nft)).map((c) => [c.name, c.packets]));
    expect(drops.drop_knock).toBeGreaterThanOrEqual(12);
    expect(drops.drop_scan_fast ?? 0).toBe(0);
    // The meter is live: seven closed ports that are not knock ports ban the client.
    await runNmap(
      t.client,
      ['-sS', '-p', '7011-7017', '--max-retries', '0', '--max-rtt-timeout', '100ms'],
      A.gwClient4,
    );
    expect(await scanners()).toEqual([A.client4]);
    // The knocker still gets in.
    await knockAll(t.scanner, A.gwScan4, SEQUENCE);
    expect(await opens(t.scanner, A.gwScan4)).toBe(true);
  });
});
