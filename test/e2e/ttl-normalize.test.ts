/**
 * TTL normalisation with real packets: nmap sends SYNs with TTL (hop limit) 5 from the scanner
 * namespace; tcpdump in the gateway namespace captures them twice: on the wire (AF_PACKET, before
 * any netfilter hook: still 5, what an AF_PACKET IDS sees) and through NFLOG from a chain after
 * nftsentry's input chain accepted them (the packet as the service's socket gets it: 64). Routed
 * packets are captured where they arrive, in the host behind the gateway: 4 (decremented once)
 * with `forward: false`, 64 with `forward: true`.
 */
import type { ResultPromise } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLabTopology, LAB_ADDR, type LabTopology } from '../../src/lab/topology.ts';
import type { Netns } from '../../src/lab/netns.ts';
import { runNmap } from '../../src/lab/nmap.ts';
import { startService } from '../../src/lab/workload.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { applyRuleset } from '../../src/nft/apply.ts';
import { parseConfigText } from '../../src/config/config.ts';

const A = LAB_ADDR;
const NFLOG_GROUP = 7;
let t: LabTopology;
let nft: NftRunner;
/** tcpdumps of the running test: stopped after it (a failed one would hold its NFLOG group). */
const captures = new Set<ResultPromise>();
afterEach(async () => {
  for (const c of captures) c.kill('SIGTERM');
  await Promise.allSettled([...captures]);
  captures.clear();
});

async function apply(ttl: string) {
  await applyRuleset(parseConfigText(`services: { tcp: [80] }\n${ttl}`), { runner: nft });
}

/**
 * tcpdump in `ns` on `iface` (an interface, or `nflog:N`), until `count` packets: resolves once it
 * listens, with a promise of the TTL / hop limit of each packet captured (in an object: an async
 * function's promise would wait for the inner one).
 */
async function capture(
  ns: Netns,
  iface: string,
  count: number,
  filter: string[] = [],
): Promise<{ ttls: Promise<number[]> }> {
  const child: ResultPromise = ns.spawn(
    'tcpdump',
    ['-Z', 'root', '-n', '-v', '-l', '-c', String(count), '-i', iface, ...filter],
    { timeout: 20_000, buffer: true },
  );
  captures.add(child);
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (/listening on/.test(err)) resolve();
    });
    void child.then((r) => reject(new Error(`tcpdump ended before listening: ${String(r.stderr)}`)));
  });
  return {
    ttls: child.then((r) => [...String(r.stdout).matchAll(/\b(?:ttl|hlim) (\d+)/g)].map((m) => Number(m[1]))),
  };
}

/**
 * One SYN with TTL (IPv4) or hop limit (IPv6) 5 from the scanner; nmap's reading of the port.
 * --send-ip: through the kernel's raw IP socket, so that the kernel resolves the neighbour (nmap's
 * own IPv6 neighbour solicitation would carry hop limit 5 too, and RFC 4861 has it ignored).
 */
async function synTtl5(target: string, port = 80, ttl = 5): Promise<string | undefined> {
  const args = ['-sS', '-p', String(port), '--ttl', String(ttl), '--send-ip', '--max-retries', '0'];
  const r = await runNmap(t.scanner, args, target);
  return r.ports[`tcp/${port}`];
}

beforeAll(async () => {
  t = await createLabTopology({ inner: true });
  nft = new NftRunner({ netns: t.gw.name });
  // The observer: its own table, after nftsentry's input chain (priority 0) accepted the packet.
  await nft.runScript(
    [
      'table inet observe {',
      `\tchain input { type filter hook input priority 100; policy accept; tcp dport 80 ip saddr ${A.scanner4} log group ${NFLOG_GROUP}; tcp dport 80 ip6 saddr ${A.scanner6} log group ${NFLOG_GROUP}; }`,
      '}',
    ].join('\n'),
  );
  await startService(t.gw, 80);
});
afterAll(async () => {
  await t?.destroy();
});

describe('ttl_normalize', () => {
  for (const [family, target] of [
    [4, A.gwScan4],
    [6, A.gwScan6],
  ] as const) {
    it(`IPv${family}: a SYN arriving with 5 reaches the service with 64; the wire still shows 5`, async () => {
      await apply('ttl_normalize: { ttl: 64 }');
      const wire = await capture(t.gw, 'eth-scan', 1, ['tcp', 'dst', 'port', '80']);
      const delivered = await capture(t.gw, `nflog:${NFLOG_GROUP}`, 1);
      // open: the SYN reached the service (for IPv6 also: neighbour discovery, hop limit 255, untouched).
      expect(await synTtl5(target)).toBe('open');
      expect(await wire.ttls).toEqual([5]);
      expect(await delivered.ttls).toEqual([64]);
    });
  }

  it('a packet arriving with 255 is left alone (neighbour discovery, VRRP and GTSM rely on it)', async () => {
    await apply('ttl_normalize: { ttl: 64 }');
    // One family at a time, one packet each: the scanner's kernel answers the SYN/ACK with a RST.
    for (const target of [A.gwScan4, A.gwScan6]) {
      const wire = await capture(t.gw, 'eth-scan', 1, ['tcp', 'dst', 'port', '80']);
      const delivered = await capture(t.gw, `nflog:${NFLOG_GROUP}`, 1);
      expect(await synTtl5(target, 80, 255)).toBe('open');
      expect(await wire.ttls).toEqual([255]);
      expect(await delivered.ttls).toEqual([255]);
    }
  });

  it('off (absent): the service gets the TTL the packet came with, and the TTL chains are gone', async () => {
    await apply('ttl_normalize: { ttl: 64 }');
    await apply('');
    const chains = (await nft.json(['list', 'chains', 'inet'])).nftables.flatMap((o) =>
      o.chain && (o.chain as { table: string }).table === 'nftsentry' ? [(o.chain as { name: string }).name] : [],
    );
    expect(chains).not.toContain('ttl_input');
    expect(chains).not.toContain('ttl_forward');
    const delivered = await capture(t.gw, `nflog:${NFLOG_GROUP}`, 1);
    expect(await synTtl5(A.gwScan4)).toBe('open');
    expect(await delivered.ttls).toEqual([5]);
  });

  it('forwarded packets keep their TTL unless forward: true (then 64 where they arrive)', async () => {
    const inner = t.inner!;
    await apply('ttl_normalize: { ttl: 64 }');
    let arrived = await capture(inner, 'eth0', 1, ['tcp', 'dst', 'port', '80']);
    await synTtl5(A.inner4);
    expect(await arrived.ttls).toEqual([4]);
    await apply('ttl_normalize: { ttl: 64, forward: true }');
    arrived = await capture(inner, 'eth0', 2, ['tcp', 'dst', 'port', '80']);
    await synTtl5(A.inner4);
    await synTtl5(A.inner6);
    expect(await arrived.ttls).toEqual([64, 64]);
  });
});
