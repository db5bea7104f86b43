/**
 * The peer benchmark's measurements on one daemon, in its own namespace, each step bounded in
 * time. Phase A (one instance): alert-to-kernel latency (file path, and nftsentry's socket
 * alternated with it), the distinct-source burst, peak RSS, then the bans still in the kernel
 * once the daemon is stopped. Phase B (a fresh instance): an IPv6 alert, then `nft flush ruleset`
 * and the bans back within the window.
 */
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Peer, Running } from './daemons.ts';
import { etScanLine, Sources } from './eve.ts';
import { ElementWatch, kernelAddresses, peakRssMb, sleep, type PeerNs } from './ns.ts';

export interface Options {
  samples: number;
  burst: number;
  burstCapMs: number;
  flushWindowMs: number;
  sampleTimeoutMs: number;
}

export interface Latency {
  p50: number;
  p99: number;
  n: number;
  lost: number;
}

export interface PeerResult {
  label: string;
  file?: Latency;
  socket?: Latency;
  burst: { count: number; ms?: number; capMs: number; inKernelAtCap?: number };
  held: { held: number; before: number; killed: boolean };
  flush: { back: number; total: number; ms?: number; windowMs: number };
  ipv6: boolean;
  rssMb: number;
  notes: string[];
}

interface Run {
  ns: PeerNs;
  dir: string;
  eve: string;
  watch: ElementWatch;
  running: Running;
  sources: Sources;
  notes: string[];
}

/** Temporary directories of this run (configs, logs, state), removed by the caller at the end. */
export const tempDirs: string[] = [];

async function startRun(peer: Peer, ns: PeerNs, sources: Sources, notes: string[]): Promise<Run> {
  const dir = mkdtempSync(`/tmp/nspeer-${peer.key}-`);
  tempDirs.push(dir);
  const eve = join(dir, 'eve.json');
  writeFileSync(eve, '');
  const watch = new ElementWatch(ns, join(dir, 'monitor.log'));
  await sleep(300);
  const running = await peer.start(ns, dir);
  const run: Run = { ns, dir, eve, watch, running, sources, notes };
  // Ready once an appended alert reaches the kernel: a daemon that tails from the end of the file
  // misses lines written before it opened it, so one is appended every second until one lands.
  const deadline = Date.now() + 90_000;
  for (;;) {
    const t = await fileSample(run, sources.nextV4(), 1000);
    if (t !== undefined) break;
    for (const p of running.procs) {
      if (p.child.exitCode !== null) throw new Error(`${p.name} exited (${p.child.exitCode}); log in ${dir}`);
    }
    if (Date.now() > deadline)
      throw new Error(`${peer.label}: no alert reached the kernel within 90 s; logs in ${dir}`);
  }
  return run;
}

/** Appends one alert line; ms from the end of the append to the element's commit, or undefined. */
async function fileSample(run: Run, ip: string, timeoutMs: number): Promise<number | undefined> {
  const seen = run.watch.waitFor(ip, timeoutMs);
  appendFileSync(run.eve, etScanLine(ip) + '\n');
  const t0 = performance.now();
  const t = await seen;
  return t === undefined ? undefined : t - t0;
}

async function socketSample(run: Run, sock: Socket, ip: string, timeoutMs: number): Promise<number | undefined> {
  const seen = run.watch.waitFor(ip, timeoutMs);
  await new Promise<void>((resolve) => sock.write(etScanLine(ip) + '\n', () => resolve()));
  const t0 = performance.now();
  const t = await seen;
  return t === undefined ? undefined : t - t0;
}

function openSocket(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ path }, () => resolve(s));
    s.once('error', reject);
  });
}

function summarize(values: number[], lost: number): Latency {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), n: s.length, lost };
}

const gap = () => sleep(20 + Math.random() * 100);

/** Latency samples; with a socket, file and socket alternate, after 10 warm-up alerts on each. */
async function latency(run: Run, o: Options): Promise<{ file: Latency; socket?: Latency }> {
  const sock = run.running.socketPath ? await openSocket(run.running.socketPath) : undefined;
  const file: number[] = [];
  const viaSocket: number[] = [];
  let lostFile = 0;
  let lostSocket = 0;
  try {
    for (let i = 0; i < 10; i++) {
      await fileSample(run, run.sources.nextV4(), o.sampleTimeoutMs);
      if (sock) await socketSample(run, sock, run.sources.nextV4(), o.sampleTimeoutMs);
      await gap();
    }
    for (let i = 0; i < o.samples; i++) {
      const f = await fileSample(run, run.sources.nextV4(), o.sampleTimeoutMs);
      if (f === undefined) lostFile++;
      else file.push(f);
      await gap();
      if (!sock) continue;
      const s = await socketSample(run, sock, run.sources.nextV4(), o.sampleTimeoutMs);
      if (s === undefined) lostSocket++;
      else viaSocket.push(s);
      await gap();
    }
  } finally {
    sock?.destroy();
  }
  return { file: summarize(file, lostFile), ...(sock ? { socket: summarize(viaSocket, lostSocket) } : {}) };
}

/** Distinct sources appended in one write: ms until all are in the kernel, or the count there at the cap. */
async function burst(run: Run, o: Options): Promise<PeerResult['burst']> {
  const addrs = Sources.burst(o.burst);
  const text = addrs.map((a) => etScanLine(a)).join('\n') + '\n';
  appendFileSync(run.eve, text);
  const t0 = performance.now();
  const allSeen = () => addrs.every((a) => run.watch.seen.has(a));
  let lastPoll = t0;
  while (performance.now() - t0 < o.burstCapMs) {
    if (allSeen()) {
      const last = Math.max(...addrs.map((a) => run.watch.seen.get(a)!));
      return { count: o.burst, ms: last - t0, capMs: o.burstCapMs };
    }
    // The monitor is the clock; a listing every 2 s is the fallback should it have missed events.
    if (performance.now() - lastPoll > 2000) {
      lastPoll = performance.now();
      const k = await kernelAddresses(run.ns);
      if (addrs.every((a) => k.has(a))) {
        run.notes.push('burst end seen by listing (monitor missed events)');
        return { count: o.burst, ms: performance.now() - t0, capMs: o.burstCapMs };
      }
    }
    await sleep(50);
  }
  const k = await kernelAddresses(run.ns);
  return { count: o.burst, capMs: o.burstCapMs, inKernelAtCap: addrs.filter((a) => k.has(a)).length };
}

async function stopAll(run: Run): Promise<boolean> {
  const inTime = await Promise.all(run.running.procs.map((p) => run.ns.stop(p, 30_000)));
  return inTime.every(Boolean);
}

export async function measurePeer(peer: Peer, ns: PeerNs, o: Options, log: (m: string) => void): Promise<PeerResult> {
  const notes: string[] = [];
  const sources = new Sources();
  // Phase A.
  log(`${peer.label}: starting`);
  const a = await startRun(peer, ns, sources, notes);
  log(`${peer.label}: latency (${o.samples} samples${a.running.socketPath ? ' per path' : ''})`);
  const lat = await latency(a, o);
  log(`${peer.label}: burst of ${o.burst} (cap ${o.burstCapMs / 1000} s)`);
  const b = await burst(a, o);
  const rssMb = a.running.procs.reduce((sum, p) => sum + peakRssMb(p.pid), 0);
  const before = (await kernelAddresses(ns)).size;
  const inTime = await stopAll(a);
  if (!inTime) notes.push('did not exit within 30 s of SIGTERM: killed');
  await sleep(1000);
  const held = (await kernelAddresses(ns)).size;
  await a.watch.close();
  await ns.run('nft', ['flush', 'ruleset']);

  // Phase B: a fresh instance.
  log(`${peer.label}: IPv6 and nft flush ruleset`);
  const r = await startRun(peer, ns, sources, notes);
  const ipv6 = (await fileSample(r, sources.nextV6(), 10_000)) !== undefined;
  const wanted = Array.from({ length: 20 }, () => sources.nextV4());
  appendFileSync(r.eve, wanted.map((w) => etScanLine(w)).join('\n') + '\n');
  await Promise.all(wanted.map((w) => r.watch.waitFor(w, 15_000)));
  const present = await kernelAddresses(ns);
  const mine = wanted.filter((w) => present.has(w));
  await ns.run('nft', ['flush', 'ruleset']);
  const t0 = performance.now();
  let back = 0;
  let ms: number | undefined;
  while (performance.now() - t0 < o.flushWindowMs) {
    await sleep(200);
    const k = await kernelAddresses(ns);
    back = mine.filter((w) => k.has(w)).length;
    if (back === mine.length && mine.length > 0) {
      ms = performance.now() - t0;
      break;
    }
  }
  await stopAll(r);
  await r.watch.close();
  await ns.run('nft', ['flush', 'ruleset']);
  return {
    label: peer.label,
    file: lat.file,
    ...(lat.socket ? { socket: lat.socket } : {}),
    burst: b,
    held: { held, before, killed: !inTime },
    flush: { back, total: mine.length, ...(ms === undefined ? {} : { ms }), windowMs: o.flushWindowMs },
    ipv6,
    rssMb,
    notes,
  };
}
