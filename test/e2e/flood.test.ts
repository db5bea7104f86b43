/**
 * The kernel meters under a flood of spoofed sources (issue 12): 100,000 IPv4 sources inside
 * 198.18.0.0/15 and 100,000 IPv6 sources each in a /64 of its own inside 2001:db8::/32, one SYN
 * each to closed ports of the gateway (sent by tcpreplay from a pcap that lab/flood-packets.ts
 * writes), fill every per-source meter. A real `nmap -sS` from the scanner namespace, during the
 * flood and right after it, is still banned (counted by hash bucket), the lab's client sees no
 * failure, and meter_full counts what the full meters could not take. Prints the flood's rate,
 * the meters' fill, the time to the ban and the kernel memory the flood took.
 *
 * nft 1.0.6 reads every element of a set to list it (2-10 s for a full meter here) and of every
 * set to list a counter: the test lists only small sets while the meters are full, and reads
 * the counters after flushing the meters.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/config.ts';
import { Flood, macAddress } from '../../src/lab/flood.ts';
import { addAddress } from '../../src/lab/netns.ts';
import { runNmap } from '../../src/lab/nmap.ts';
import { createLabTopology, LAB_ADDR as A, type LabTopology } from '../../src/lab/topology.ts';
import { type Client, startClient, startService } from '../../src/lab/workload.ts';
import { parseIp } from '../../src/net/ip.ts';
import { applyRuleset } from '../../src/nft/apply.ts';
import { METER_SETS } from '../../src/nft/objects.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { readKernelScanners } from '../../src/nft/scanners.ts';
import { readCounters, readSet } from '../../src/nft/state.ts';
import { waitFor } from '../helpers.ts';

const SOURCES = 100_000;
/** Closed ports the flood goes to (one per source, in turn; no trap port among them); nmap scans 2000-2100 and 2200-2300. */
const FLOOD_PORTS = Array.from({ length: 1000 }, (_, i) => 4000 + i);
/** A second address of the scanner, for the scan after the flood (the first is banned by then). */
const LATE4 = '198.18.0.3';
const LATE6 = '2001:db8::3';

let t: LabTopology;
let nft: NftRunner;
let client: Client;
let flood: Flood;

/** Bytes of slab objects (every cache: active objects x object size). */
function slabObjectBytes(): number {
  let n = 0;
  for (const line of readFileSync('/proc/slabinfo', 'utf8').split('\n').slice(2)) {
    const f = line.split(/\s+/);
    if (f.length > 4) n += Number(f[1]) * Number(f[3]);
  }
  return n;
}

/** Elements of a set whose listing is small (scanners, a bucket set just filling). */
async function size(set: string): Promise<number> {
  return (await readSet(nft, set)).length;
}

/**
 * nmap -sS of 101 closed ports from `source`; resolves with the milliseconds from nmap's start
 * until the source is in scanners4/6, and its reason. Waits at most `deadlineMs` for the ban.
 */
async function scanUntilBanned(family: 4 | 6, source: string, ports: string, deadlineMs: number) {
  const target = family === 4 ? A.gwScan4 : A.gwScan6;
  const set = family === 4 ? 'scanners4' : 'scanners6';
  const started = performance.now();
  // -S: the scanner has two addresses of each family; the kernel would pick the newer IPv6 one.
  const scan = runNmap(
    t.scanner,
    ['-sS', '-p', ports, '--max-retries', '1', '-S', source, '-e', 'eth0'],
    target,
    30_000,
  );
  try {
    const ms = await waitFor(
      async () => ((await readSet(nft, set)).some((e) => e.key === source) ? performance.now() - started : undefined),
      deadlineMs,
      `${source} in ${set}`,
      10,
    );
    const bannedAt = performance.now();
    const reason = (await readKernelScanners(nft)).find((s) => s.address === source)?.reason;
    return { ms: Math.round(ms), reason, bannedAt };
  } finally {
    await scan;
  }
}

beforeAll(async () => {
  t = await createLabTopology();
  nft = new NftRunner({ netns: t.gw.name });
  await applyRuleset(parseConfigText('services: { tcp: [80] }'), { runner: nft });
  await addAddress(t.scanner, 'eth0', `${LATE4}/24`);
  await addAddress(t.scanner, 'eth0', `${LATE6}/64`);
  await startService(t.gw, 80);
  client = await startClient(t.client, [`http://${A.gwClient4}/`, `http://[${A.gwClient6}]/`], 50);
  flood = new Flood({
    v4: SOURCES,
    v6: SOURCES,
    dst4: parseIp(A.gwScan4)!.bytes,
    dst6: parseIp(A.gwScan6)!.bytes,
    ports: FLOOD_PORTS,
    srcMac: await macAddress(t.scanner, 'eth0'),
    dstMac: await macAddress(t.gw, 'eth-scan'),
  });
});
afterAll(async () => {
  flood?.dispose();
  await t?.destroy();
});

describe('a flood of 100,000 spoofed IPv4 and 100,000 IPv6 sources', () => {
  it('fills the per-source meters; nmap during and after it is still banned; the client sees no failure', async () => {
    const slab0 = slabObjectBytes();
    // Three times over at 40,000 packets a second (15 s): the per-source meters are full after
    // the first 131,072 packets, and the flood goes on while nmap runs.
    const sending = flood.send(t.scanner, 'eth0', { pps: 40_000, loops: 3, timeoutMs: 60_000 });
    let floodEnded = Number.POSITIVE_INFINITY;
    void sending.then(() => {
      floodEnded = performance.now();
    });
    // Overflow has begun once a bucket set holds an element (read while it is still small).
    await waitFor(async () => ((await size('scan_fast_buckets4')) > 0 ? true : undefined), 30_000, 'a full scan_fast4');
    await waitFor(async () => ((await size('scan_fast_buckets6')) > 0 ? true : undefined), 30_000, 'a full scan_fast6');
    const during4 = await scanUntilBanned(4, A.scanner4, '2000-2100', 1000);
    const during6 = await scanUntilBanned(6, A.scanner6, '2000-2100', 1000);
    expect(during6.bannedAt, 'both bans came while the flood was under way').toBeLessThan(floodEnded);
    const result = await sending;
    const slab1 = slabObjectBytes();

    // After: the meters are still full (their windows are 60 s and 1 h); a fresh address scans.
    const after4 = await scanUntilBanned(4, LATE4, '2200-2300', 1000);
    const after6 = await scanUntilBanned(6, LATE6, '2200-2300', 1000);
    for (const r of [during4, during6, after4, after6]) expect(r.reason).toMatch(/^(fast|slow)_scan(_bucket)?$/);

    const fill = {
      scan_fast_buckets4: await size('scan_fast_buckets4'),
      scan_fast_buckets6: await size('scan_fast_buckets6'),
      scan_slow_buckets4: await size('scan_slow_buckets4'),
      scan_slow_buckets6: await size('scan_slow_buckets6'),
      scanners4: await size('scanners4'),
      scanners6: await size('scanners6'),
    };
    // The per-source meters (the slow ones: their 1 h window outlasts the test) are read last:
    // each listing takes seconds while they are full.
    const full = { scan_slow4: await size('scan_slow4'), scan_slow6: await size('scan_slow6') };
    expect(full).toEqual({ scan_slow4: 65536, scan_slow6: 65536 });
    // Spoofed one-packet sources rarely share a bucket with four others: a handful of bans.
    expect(fill.scanners4 + fill.scanners6).toBeLessThan(200);

    await nft.runScript(METER_SETS.map((s) => `flush set inet nftsentry ${s}`).join('\n'));
    const counters = Object.fromEntries((await readCounters(nft)).map((c) => [c.name, c.packets]));
    // Every source past the first 65,536 of each family, once per meter (fast, slow, SYN rate).
    expect(counters.meter_full).toBeGreaterThanOrEqual(2 * 3 * (SOURCES - 65536));
    const c = await client.stop();
    expect(c.fail).toBe(0);
    expect(c.ok).toBeGreaterThan(20);

    console.log(
      [
        `flood: ${result.packets} packets (${SOURCES} IPv4 + ${SOURCES} IPv6 sources, three times over) in ${result.seconds} s: ${Math.round(result.pps)} packets/s`,
        `per-source meters full: ${JSON.stringify(full)}; buckets and bans: ${JSON.stringify(fill)}`,
        `meter_full ${counters.meter_full} packets; drop_scan_fast ${counters.drop_scan_fast}, drop_scan_slow ${counters.drop_scan_slow}`,
        `time from nmap's start to the ban: during the flood IPv4 ${during4.ms} ms (${during4.reason}), IPv6 ${during6.ms} ms (${during6.reason}); after it IPv4 ${after4.ms} ms (${after4.reason}), IPv6 ${after6.ms} ms (${after6.reason})`,
        `kernel memory (slab objects, whole machine) during the flood: +${((slab1 - slab0) / 2 ** 20).toFixed(1)} MiB`,
        `lab client: ${c.ok} requests answered, ${c.fail} failed`,
      ].join('\n'),
    );
  });
});
