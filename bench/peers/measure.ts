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
  /** The burst ends early once no element has arrived for this long. */
  stallMs: number;
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
  burst: { count: number; in: number; ms?: number; lastMs: number; capMs: number; stalled?: boolean };
  held: { held: number; before: number; killed: boolean };
  flush: { back: number; total: number; sent: number; ms?: number; windowMs: number };
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

/**
 * Distinct sources appended in one write: ms until all are in the kernel. Otherwise, at the cap
 * or once none has arrived for `stallMs`, how many are in and when the last one came. The monitor
 * is the clock; a listing after 2 s without news from it catches what it did not print.
 */
async function burst(run: Run, o: Options, log: (m: string) => void): Promise<PeerResult['burst']> {
  const addrs = Sources.burst(o.burst);
  appendFileSync(run.eve, addrs.map((a) => etScanLine(a)).join('\n') + '\n');
  const t0 = performance.now();
  const capMs = o.burstCapMs;
  let listed = new Set<string>();
  let listedAt = t0;
  let lastList = t0;
  let lastReport = t0;
  let count = 0;
  let grewAt = t0;
  for (;;) {
    let n = 0;
    let monitorLast = t0;
    let allByMonitor = true;
    for (const a of addrs) {
      const t = run.watch.seen.get(a);
      if (t !== undefined) {
        n++;
        if (t > monitorLast) monitorLast = t;
      } else {
        allByMonitor = false;
        if (listed.has(a)) n++;
      }
    }
    const now = performance.now();
    if (n > count) {
      count = n;
      grewAt = now;
    }
    if (n === addrs.length) {
      if (!allByMonitor) run.notes.push('the burst end was seen by a listing, not the monitor (time +-2 s)');
      const ms = (allByMonitor ? monitorLast : listedAt) - t0;
      return { count: o.burst, in: n, ms, lastMs: ms, capMs };
    }
    if (now - t0 >= capMs || now - grewAt > o.stallMs) {
      return { count: o.burst, in: n, lastMs: grewAt - t0, capMs, stalled: now - t0 < capMs };
    }
    if (now - lastReport >= 10_000) {
      lastReport = now;
      log(`  ${n} of ${addrs.length} in the kernel after ${((now - t0) / 1000).toFixed(0)} s`);
    }
    // Listing 10,000 elements costs CPU the daemon competes for: only once the monitor has been
    // silent for 2 s.
    if (now - lastList >= 2000 && now - Math.max(grewAt, monitorLast) >= 2000) {
      lastList = now;
      listed = await kernelAddresses(run.ns);
      listedAt = performance.now();
    }
    await sleep(50);
  }
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
  const b = await burst(a, o, log);
  const rssMb = a.running.procs.reduce((sum, p) => sum + peakRssMb(p.pid), 0);
  const before = (await kernelAddresses(ns)).size;
  const inTime = await stopAll(a);
  notes.push(...(peer.diagnose?.(a.dir) ?? []));
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
    flush: {
      back,
      total: mine.length,
      sent: wanted.length,
      ...(ms === undefined ? {} : { ms }),
      windowMs: o.flushWindowMs,
    },
    ipv6,
    rssMb,
    notes,
  };
}
