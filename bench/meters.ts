/**
 * Kernel scan meters under a spoofed-source flood (issue 12): the designs side by side, in the
 * lab's namespaces (gateway, scanner, client), with real packets:
 *
 *   1. kernel memory per element of each kind of dynamic set (one rule filling one set from a
 *      flood of 100,000 sources; /proc/slabinfo and /proc/meminfo before and after)
 *   2. for each design: a flood of 100,000 IPv4 sources (198.18.0.0/15) and 100,000 IPv6 sources
 *      (one /64 each, 2001:db8::/32) at full speed, three times: packets per second, softirq
 *      time per packet, the sets' fill, kernel memory; then `nmap -sS` of 101 closed ports (IPv4,
 *      then IPv6): caught or not, and the time from nmap's start to the scanner in scanners4/6
 *   3. the same, nmap started while a paced flood is under way (after 200,000 packets)
 *
 * Designs: none (no scan detection), before (per-source meters only), big (the same, 16 times
 * the size), stage (a first per-source stage with a short window), prefix (a /24 and /64
 * fallback), chosen (nft/ as it is: the hash-bucket fallback). Results: docs/scan-detection.md.
 *
 *   node_modules/.bin/node bench/meters.ts [--designs=before,big,...] [--ports=one|spread] [--only=elements|designs]
 *
 * The designs are patches over the rendered default ruleset (scan_detect replaced); the chosen one
 * is what nft/ renders. Sources stay inside 198.18.0.0/15 and 2001:db8::/32 (lab/flood-packets.ts);
 * every packet is sent from the scanner namespace to the gateway's; nothing leaves the lab.
 */
import { readFileSync } from 'node:fs';
import { parseConfigText } from '../src/config/config.ts';
import { Flood, type FloodResult, macAddress } from '../src/lab/flood.ts';
import { runNmap } from '../src/lab/nmap.ts';
import { createLabTopology, LAB_ADDR as A, type LabTopology } from '../src/lab/topology.ts';
import { startClient, startService } from '../src/lab/workload.ts';
import { parseIp } from '../src/net/ip.ts';
import { applyRuleset } from '../src/nft/apply.ts';
import { NftRunner } from '../src/nft/runner.ts';

process.env.NFTSENTRY_FORBID_HOST_NETNS = '1';
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const T = 'inet nftsentry';
const FAST = { w: 60, n: 10, reason: '0x2' };
const SLOW = { w: 3600, n: 5, reason: '0x3' };
const BAN = 3600;

type Fam = 4 | 6;
const sel = (f: Fam) => (f === 4 ? 'ip saddr' : 'ip6 saddr');
const nfp = (f: Fam) => (f === 4 ? 'ipv4' : 'ipv6');
const pair = (f: Fam) => `${sel(f)} . meta l4proto . th dport`;
const net = (f: Fam) => (f === 4 ? 'ip saddr & 255.255.255.0' : 'ip6 saddr & ffff:ffff:ffff:ffff::');
const addrType = (f: Fam) => (f === 4 ? 'ipv4_addr' : 'ipv6_addr');
const ban = (f: Fam, m: 'fast' | 'slow', reason: string) =>
  `add @scanners${f} { ${sel(f)} timeout ${BAN}s } add @scan_reason${f} { ${sel(f)} timeout ${BAN}s : ${reason} } counter name "drop_scan_${m}" drop`;
const set = (name: string, type: string, size: number) =>
  `add set ${T} ${name} { type ${type}; size ${size}; flags dynamic,timeout; }`;

const METERS = [
  ['fast', FAST],
  ['slow', SLOW],
] as const;

/** Today's per-address rule for one meter and family (nft/40-scan.nft). */
function counting(f: Fam, m: 'fast' | 'slow', p: typeof FAST): string {
  return `${pair(f)} != @scan_${m}_seen${f} add @scan_${m}_seen${f} { ${pair(f)} timeout ${p.w}s } add @scan_${m}${f} { ${sel(f)} timeout ${p.w}s limit rate over 1/week burst ${p.n} packets } ${ban(f, m, p.reason)}`;
}

interface Design {
  name: string;
  what: string;
  /** nft script run after the default ruleset was applied. */
  patch: string;
}

/**
 * scan_detect as jumps into one chain per meter: a pair already seen returns; the per-address
 * count as today; a packet the sets could not take (`!=` lookups: a lookup that finds an element
 * runs the element's limit, and so would count the packet once more) goes to `fallback`.
 */
function withFallback(
  name: string,
  what: string,
  decl: string[],
  fallback: (f: Fam, m: 'fast' | 'slow', p: typeof FAST) => string,
): Design {
  const lines = [`add counter ${T} meter_full`, ...decl, `flush chain ${T} scan_detect`];
  for (const [m] of METERS) lines.push(`add chain ${T} scan_${m}_x`, `add chain ${T} scan_${m}_full_x`);
  lines.push(
    `add rule ${T} scan_detect meta l4proto . th dport @trap_ports goto scan_ban_trap`,
    `add rule ${T} scan_detect jump scan_fast_x`,
    `add rule ${T} scan_detect jump scan_slow_x`,
  );
  for (const [m, p] of METERS) {
    const c = `scan_${m}_x`;
    for (const f of [4, 6] as const) lines.push(`add rule ${T} ${c} ${pair(f)} @scan_${m}_seen${f} return`);
    for (const f of [4, 6] as const)
      lines.push(`add rule ${T} ${c} meta nfproto ${nfp(f)} ${counting(f, m, p).replace(/^.*? != @\S+ /, '')}`);
    for (const f of [4, 6] as const) lines.push(`add rule ${T} ${c} ${sel(f)} != @scan_${m}${f} goto scan_${m}_full_x`);
    for (const f of [4, 6] as const)
      lines.push(`add rule ${T} ${c} ${pair(f)} != @scan_${m}_seen${f} goto scan_${m}_full_x`);
    for (const f of [4, 6] as const)
      lines.push(
        `add rule ${T} scan_${m}_full_x meta nfproto ${nfp(f)} counter name "meter_full" ${fallback(f, m, p)}`,
      );
  }
  return { name, what, patch: lines.join('\n') };
}

/** scan_detect as it was before the buckets: one rule per meter and family. */
function beforeRules(): string {
  const lines = [
    `flush chain ${T} scan_detect`,
    `add rule ${T} scan_detect meta l4proto . th dport @trap_ports goto scan_ban_trap`,
  ];
  for (const [m, p] of METERS)
    for (const f of [4, 6] as const) lines.push(`add rule ${T} scan_detect ${counting(f, m, p)}`);
  return lines.join('\n');
}

const DESIGNS: Record<string, () => Design> = {
  none: () => ({
    name: 'none',
    what: 'no scan detection (the cost baseline)',
    patch: `flush chain ${T} scan_detect`,
  }),
  before: () => ({ name: 'before', what: 'per-address meters only, size 65,536 (seen 262,144)', patch: beforeRules() }),
  big: () => ({
    name: 'big',
    what: 'per-address meters only, size 1,048,576 (seen 4,194,304)',
    patch: `${beforeRules()}\n${[4, 6]
      .flatMap((f) => [
        set(`scan_fast${f}`, addrType(f as Fam), 1 << 20),
        set(`scan_slow${f}`, addrType(f as Fam), 1 << 20),
        set(`rl_syn${f}`, addrType(f as Fam), 1 << 20),
        set(`scan_fast_seen${f}`, `${addrType(f as Fam)} . inet_proto . inet_service`, 1 << 22),
        set(`scan_slow_seen${f}`, `${addrType(f as Fam)} . inet_proto . inet_service`, 1 << 22),
      ])
      .join('\n')}`,
  }),
  stage: () => {
    const lines = [
      set('scan_once4', 'ipv4_addr', 1 << 20),
      set('scan_once6', 'ipv6_addr', 1 << 20),
      `flush chain ${T} scan_detect`,
      `add rule ${T} scan_detect meta l4proto . th dport @trap_ports goto scan_ban_trap`,
    ];
    for (const f of [4, 6] as const) {
      lines.push(
        `add rule ${T} scan_detect meta nfproto ${nfp(f)} add @scan_once${f} { ${sel(f)} timeout ${FAST.w}s limit rate 1/week burst 1 packets } return`,
      );
    }
    for (const [m, p] of METERS)
      for (const f of [4, 6] as const) lines.push(`add rule ${T} scan_detect ${counting(f, m, p)}`);
    return {
      name: 'stage',
      what: 'a first stage keyed by source (60 s, 1M): meters from the 2nd probe on',
      patch: lines.join('\n'),
    };
  },
  prefix: () =>
    withFallback(
      'prefix',
      'per-address meters; when full, meters keyed by /24 and /64',
      [4, 6].flatMap((f) =>
        METERS.flatMap(([m]) => [
          set(`scan_${m}_net${f}`, addrType(f as Fam), 65536),
          set(`scan_${m}_netseen${f}`, `${addrType(f as Fam)} . inet_proto . inet_service`, 262144),
        ]),
      ),
      (f, m, p) =>
        `${net(f)} . meta l4proto . th dport != @scan_${m}_netseen${f} add @scan_${m}_netseen${f} { ${net(f)} . meta l4proto . th dport timeout ${p.w}s } add @scan_${m}_net${f} { ${net(f)} timeout ${p.w}s limit rate over 1/week burst ${p.n} packets } ${ban(f, m, p.reason)}`,
    ),
  chosen: () => ({
    name: 'chosen',
    what: 'nft/ as it is: per-address meters; when full, 65,536 hash buckets (the rate limits too)',
    patch: '',
  }),
};

// ---------------------------------------------------------------- kernel memory

function meminfo(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * 1024;
  }
  return out;
}

function slabinfo(): Map<string, { objs: number; size: number }> {
  const out = new Map<string, { objs: number; size: number }>();
  for (const line of readFileSync('/proc/slabinfo', 'utf8').split('\n').slice(2)) {
    const f = line.split(/\s+/);
    if (f.length > 4) out.set(f[0]!, { objs: Number(f[1]), size: Number(f[3]) });
  }
  return out;
}

interface Memory {
  /** Bytes of slab objects allocated (slabinfo: active objects x object size, caches that grew). */
  objects: number;
  slab: number;
  /** Slab plus what the page allocator and vmalloc handed out (MemFree's drop less page cache). */
  total: number;
  /** The slab caches that grew most, by bytes: `kmalloc-128 +100000 x 128`. */
  caches: string[];
}

function memoryProbe(): () => Memory {
  const m0 = meminfo();
  const s0 = slabinfo();
  return () => {
    const m1 = meminfo();
    const s1 = slabinfo();
    const grew = [...s1]
      .map(([name, v]) => ({ name, d: v.objs - (s0.get(name)?.objs ?? 0), size: v.size }))
      .filter((c) => c.d > 5000);
    const objects = grew.reduce((n, c) => n + c.d * c.size, 0);
    const caches = grew
      .filter((c) => c.d * c.size > 512 * 1024)
      .sort((a, b) => b.d * b.size - a.d * a.size)
      .map((c) => `${c.name} +${c.d} x ${c.size}`);
    const used = (m: Record<string, number>) => m.MemTotal! - m.MemFree! - m.Cached! - m.Buffers!;
    return { objects, slab: m1.Slab! - m0.Slab!, total: used(m1) - used(m0), caches };
  };
}

// ---------------------------------------------------------------- lab

let lab: LabTopology;
let nft: NftRunner;
let macs: { srcMac: string; dstMac: string };

async function reset(design: Design, yaml = ''): Promise<void> {
  await applyRuleset(parseConfigText(`services: { tcp: [80] }\n${yaml}`), { runner: nft });
  for (const stale of SETS.filter((x) => /_(once|net|pairs)[46]$/.test(x))) {
    await nft.run(['flush', 'chain', 'inet', 'nftsentry', 'scan_detect']).catch(() => undefined);
    for (const m of ['fast', 'slow']) {
      await nft.run(['delete', 'chain', 'inet', 'nftsentry', `scan_${m}_x`]).catch(() => undefined);
      await nft.run(['delete', 'chain', 'inet', 'nftsentry', `scan_${m}_full_x`]).catch(() => undefined);
    }
    await nft.run(['delete', 'set', 'inet', 'nftsentry', stale]).catch(() => undefined);
  }
  await applyRuleset(parseConfigText(`services: { tcp: [80] }\n${yaml}`), { runner: nft });
  await nft.run(['reset', 'counters', 'table', 'inet', 'nftsentry']);
  await nft.runScript(
    [
      'flush set inet nftsentry scanners4',
      'flush set inet nftsentry scanners6',
      'flush map inet nftsentry scan_reason4',
      'flush map inet nftsentry scan_reason6',
      design.patch,
    ].join('\n'),
  );
}

async function count(set: string): Promise<number> {
  const r = await nft.run(['list', 'set', 'inet', 'nftsentry', set]).catch(() => null);
  if (!r) return -1;
  const body = /elements = \{([\s\S]*)\}/.exec(r.stdout)?.[1] ?? '';
  return body.trim() === '' ? 0 : body.split(',').length;
}

async function fill(sets: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of sets) {
    const n = await count(s);
    if (n > 0) out[s] = n;
  }
  return out;
}

/** Empties the meters (nft 1.0.6 reads every set's elements to list one counter: 9 s when full). */
async function flushMeters(): Promise<void> {
  for (const s of SETS.filter((x) => !x.startsWith('scanners')))
    await nft.run(['flush', 'set', 'inet', 'nftsentry', s]).catch(() => undefined);
}

async function counter(name: string): Promise<number> {
  const r = await nft.run(['list', 'counter', 'inet', 'nftsentry', name]).catch(() => null);
  return Number(/packets (\d+)/.exec(r?.stdout ?? '')?.[1] ?? -1);
}

/** `list set` of the one set (15 ms); `get element` makes nft 1.0.6 read every set's elements (11 s when full). */
async function inScanners(f: Fam, address: string): Promise<boolean> {
  const r = await nft.run(['list', 'set', 'inet', 'nftsentry', `scanners${f}`]);
  return new RegExp(`[{ ,]${address.replace(/\./g, '\\.')}[ ,}\n]`).test(r.stdout);
}

/** nmap -sS of 101 closed ports; how long from its start until the scanner is in scanners4/6. */
async function scan(f: Fam): Promise<{ caught: boolean; banMs: number | null; nmapMs: number }> {
  const target = f === 4 ? A.gwScan4 : A.gwScan6;
  const me = f === 4 ? A.scanner4 : A.scanner6;
  const t0 = performance.now();
  let banMs: number | null = null;
  const nmap = runNmap(lab.scanner, ['-sS', '-p', '2000-2100', '--max-retries', '1'], target, 60_000);
  let done = false;
  void nmap.finally(() => {
    done = true;
  });
  while (banMs === null && performance.now() - t0 < 15_000) {
    if (await inScanners(f, me)) banMs = performance.now() - t0;
    else if (done && performance.now() - t0 > 3000) break;
    else await new Promise((r) => setTimeout(r, 10));
  }
  const n = await nmap;
  return { caught: banMs !== null, banMs: banMs === null ? null : Math.round(banMs), nmapMs: Math.round(n.durationMs) };
}

/** Ticks (USER_HZ, 100/s) of all CPUs spent in softirq: where a veth's receive path (and nft) runs. */
function cpuSoftirq(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  return f[6]!;
}

const SETS = [4, 6].flatMap((f) => [
  `scan_fast${f}`,
  `scan_slow${f}`,
  `scan_fast_seen${f}`,
  `scan_slow_seen${f}`,
  `rl_syn${f}`,
  `scan_once${f}`,
  `scan_fast_net${f}`,
  `scan_slow_net${f}`,
  `scan_fast_buckets${f}`,
  `scan_slow_buckets${f}`,
  `rl_syn_buckets${f}`,
  `scan_fast_pairs${f}`,
  `scan_slow_pairs${f}`,
  `scanners${f}`,
]);

function floodOf(v4: number, v6: number, ports: number[]): Flood {
  return new Flood({
    v4,
    v6,
    dst4: parseIp(A.gwScan4)!.bytes,
    dst6: parseIp(A.gwScan6)!.bytes,
    ports,
    ...macs,
  });
}

// ---------------------------------------------------------------- 1. memory per element

async function elements(): Promise<void> {
  const kinds: Array<[string, string, string, Fam]> = [
    [
      'ipv4_addr, limit (a meter)',
      'ipv4_addr',
      'add @x { ip saddr timeout 60s limit rate over 1/week burst 10 packets }',
      4,
    ],
    [
      'ipv6_addr, limit (a meter)',
      'ipv6_addr',
      'add @x { ip6 saddr timeout 60s limit rate over 1/week burst 10 packets }',
      6,
    ],
    [
      'ipv4_addr . proto . port (seen)',
      'ipv4_addr . inet_proto . inet_service',
      'add @x { ip saddr . meta l4proto . th dport timeout 60s }',
      4,
    ],
    [
      'ipv6_addr . proto . port (seen)',
      'ipv6_addr . inet_proto . inet_service',
      'add @x { ip6 saddr . meta l4proto . th dport timeout 60s }',
      6,
    ],
    ['ipv4_addr, no expression', 'ipv4_addr', 'add @x { ip saddr timeout 60s }', 4],
    [
      'mark (a hash), limit',
      'mark',
      'add @x { jhash ip saddr mod 1048576 timeout 60s limit rate 1/week burst 1 packets }',
      4,
    ],
  ];
  const N = 100_000;
  const f4 = floodOf(N, 0, [9]);
  const f6 = floodOf(0, N, [9]);
  console.log(`\n## kernel memory per element (${N} elements from one flood; 3 runs each)`);
  console.log(
    '| set element | slab object bytes / element | all kernel bytes / element (noisy) | slab caches that grew |',
  );
  console.log('|---|---:|---:|---|');
  try {
    for (const [what, type, rule, fam] of kinds) {
      const slab: number[] = [];
      let caches: string[] = [];
      for (let run = 0; run < 3; run++) {
        await reset(DESIGNS.none!(), "rate_limits: { tcp_syn: { enabled: false, rate: '1/second', burst: 1 } }");
        await nft.runScript(
          `${set('x', type, 1 << 20)}\nflush set ${T} x\nadd rule ${T} scan_detect meta nfproto ${nfp(fam)} ${rule}`,
        );
        const probe = memoryProbe();
        await (fam === 4 ? f4 : f6).send(lab.scanner, 'eth0');
        const n = await count('x');
        const m = probe();
        slab.push(m.objects / n);
        caches = m.caches;
        await nft.run(['flush', 'chain', 'inet', 'nftsentry', 'scan_detect']);
        await nft.run(['delete', 'set', 'inet', 'nftsentry', 'x']).catch(() => undefined);
      }
      const med = (a: number[]) => Math.round([...a].sort((x, y) => x - y)[1]!);
      console.log(`| ${what} | ${med(slab)} | ${caches.slice(0, 3).join(', ')} |`);
    }
  } finally {
    f4.dispose();
    f6.dispose();
  }
}

// ---------------------------------------------------------------- 2./3. designs under flood

async function designs(names: string[], ports: number[]): Promise<void> {
  const N = 100_000;
  const flood = floodOf(N, N, ports);
  console.log(
    `\n## designs: a flood of ${N} IPv4 + ${N} IPv6 sources, ${ports.length === 1 ? 'one closed port' : `${ports.length} closed ports`}`,
  );
  console.log(
    '| design | flood pps (full speed, best of 3) | softirq us / packet (least of 3) | kernel MB after the flood (slab objects) | after: v4 caught (from nmap start) | after: v6 caught | during: v4 | during: v6 | meter_full after / during | fill after |',
  );
  console.log('|---|---:|---:|---:|---|---|---|---|---:|---|');
  try {
    for (const name of names) {
      const d = DESIGNS[name]!();
      // After: the whole flood at full speed (three times: the best rate, the least CPU, the
      // median memory), then the scans.
      const runs: Array<{ pps: number; cpuUs: number; slab: number; caches: string[] }> = [];
      for (let run = 0; run < 3; run++) {
        await reset(d);
        const probe = memoryProbe();
        const cpu0 = cpuSoftirq();
        const sent: FloodResult = await flood.send(lab.scanner, 'eth0');
        const cpuUs = ((cpuSoftirq() - cpu0) * 10_000) / sent.packets; // USER_HZ = 100
        const mem = probe();
        runs.push({ pps: sent.pps, cpuUs, slab: mem.objects, caches: mem.caches });
      }
      const filled = await fill(SETS);
      const a4 = await scan(4);
      const a6 = await scan(6);
      await flushMeters();
      const full = await counter('meter_full');
      // During: nmap while a paced flood is under way (25k packets/s, the sources sent three
      // times over, 24 s), from 8 s on (200,000 packets: the per-address sets are full by then).
      await reset(d);
      const paced = flood.send(lab.scanner, 'eth0', { pps: 25_000, loops: 3, timeoutMs: 60_000 });
      await new Promise((r) => setTimeout(r, 8000));
      const d4 = await scan(4);
      const d6 = await scan(6);
      const pacedResult = await paced;
      await flushMeters();
      const fullDuring = await counter('meter_full');
      const fmt = (s: { caught: boolean; banMs: number | null }) => (s.caught ? `yes, ${s.banMs} ms` : 'no');
      console.log(
        `| ${name} | ${Math.round(Math.max(...runs.map((r) => r.pps)))} | ${Math.min(...runs.map((r) => r.cpuUs)).toFixed(1)} | ${(runs.map((r) => r.slab).sort((x, y) => x - y)[1]! / 2 ** 20).toFixed(1)} | ${fmt(a4)} | ${fmt(a6)} | ${fmt(d4)} | ${fmt(d6)} | ${full < 0 ? '-' : `${full} / ${fullDuring}`} | ${Object.entries(
          filled,
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')} |`,
      );
      console.error(
        `   ${name}: ${d.what}; paced flood ${Math.round(pacedResult.pps)} pps; caches ${runs[1]!.caches.slice(0, 4).join(', ')}`,
      );
    }
  } finally {
    flood.dispose();
  }
}

lab = await createLabTopology();
const cleanup = () => void lab.destroy();
process.once('SIGINT', cleanup);
try {
  nft = new NftRunner({ netns: lab.gw.name });
  macs = { srcMac: await macAddress(lab.scanner, 'eth0'), dstMac: await macAddress(lab.gw, 'eth-scan') };
  await startService(lab.gw, 80);
  const client = await startClient(lab.client, [`http://${A.gwClient4}/`, `http://[${A.gwClient6}]/`], 50);
  const only = arg('only');
  if (!only || only === 'elements') await elements();
  if (!only || only === 'designs') {
    const names = (arg('designs') ?? 'none,before,big,stage,prefix,chosen').split(',');
    const ports = arg('ports') === 'spread' ? Array.from({ length: 1000 }, (_, i) => 3000 + i) : [9];
    await designs(names, ports);
  }
  const c = await client.stop();
  console.log(`\nthe lab client meanwhile: ${c.ok} requests answered, ${c.fail} failed`);
} finally {
  await lab.destroy();
}
