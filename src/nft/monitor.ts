/**
 * A long-lived `nft monitor` (started through exec.ts, in the runner's namespace): what changes in
 * the kernel's rulesets, one transaction at a time, at no cost while nothing changes.
 *
 * nft 1.0.6 prints each change of a transaction on a line (`delete rule inet nftsentry input
 * handle 75`, `delete element inet nftsentry ban4 { 198.51.100.7 timeout 1h expires 59m }`), then
 * `# new generation N by process PID (COMM)`: the process is the one that committed it, so the
 * daemon's own transactions are told apart by pid (NftProcesses) and their lines are not kept.
 * Things it does not print: elements expiring by timeout (no event at all) and what the datapath
 * adds to dynamic sets.
 *
 * Known faults of nft 1.0.6's monitor, which the owner has to live with (docs/engine.md):
 * - it reads every table with every set element when it starts (about 680 bytes of memory per
 *   element) and caches every element it sees added afterwards (200-340 bytes each, never
 *   freed), so the process is replaced after `recycleBytes` of output;
 * - it pairs consecutive element events of a concatenated interval set (bannet4/6, the config
 *   sets) as if they were the two ends of one range: every other one prints nothing, the others
 *   print garbage, and sometimes it exits ("Memory allocation failure");
 * - it crashes (SIGSEGV) when a set it saw deleted is created again.
 * So the process is restarted whenever it exits, and every restart is a `gap`: what happened
 * until it listens again is unknown, and the owner checks the kernel in full.
 *
 * It listens once its netlink socket is subscribed to the nftables group (seen in /proc, so no
 * transaction is needed to find out, which would make nft read the ruleset again; see
 * watchStart), or once it printed a generation.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { type NftExecConfig, spawnNft } from './exec.ts';
import type { MonitorEvents, MonitorGeneration, MonitorHandle, MonitorOptions, MonitorStats } from './nft.ts';

const GENERATION = /^# new generation (\d+)(?: by process (\d+) \([^)]*\))?$/;

/**
 * Pure: `nft monitor`'s stdout, in chunks as they come -> whole generations. A transaction with
 * many changes takes nft a while to print (tens of microseconds a line: seconds for `nft flush
 * set` of 100k elements), but the kernel committed it before nft printed its first line: once
 * the open one has `earlyLines` lines, `takeEarly` hands them over (once), and its generation is
 * marked `early`.
 */
export class GenerationReader {
  private partial = '';
  private lines: string[] = [];
  private truncated = false;
  private early: 'no' | 'due' | 'taken' = 'no';
  private readonly owns: (pid: number) => boolean;
  private readonly maxLines: number;
  private readonly earlyLines: number;

  constructor(owns: (pid: number) => boolean, maxLines = 1_000_000, earlyLines = 1000) {
    this.owns = owns;
    this.maxLines = maxLines;
    this.earlyLines = earlyLines;
  }

  push(chunk: string): MonitorGeneration[] {
    const out: MonitorGeneration[] = [];
    const text = this.partial + chunk;
    let from = 0;
    for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', from)) {
      const line = text.slice(from, at);
      from = at + 1;
      const g = line.startsWith('# new generation ') ? GENERATION.exec(line) : null;
      if (!g) {
        if (this.lines.length < this.maxLines) this.lines.push(line);
        else this.truncated = true;
        if (this.early === 'no' && this.lines.length >= this.earlyLines) this.early = 'due';
        continue;
      }
      const pid = g[2] === undefined ? null : Number(g[2]);
      const own = pid !== null && this.owns(pid);
      const early = this.early === 'taken';
      out.push({ gen: Number(g[1]), pid, own, lines: own ? [] : this.lines, truncated: this.truncated, early });
      this.lines = [];
      this.truncated = false;
      this.early = 'no';
    }
    this.partial = text.slice(from);
    return out;
  }

  /** The first lines of a transaction still being printed, once it has `earlyLines`; else null. */
  takeEarly(): string[] | null {
    if (this.early !== 'due') return null;
    this.early = 'taken';
    return this.lines.slice(0, this.earlyLines);
  }
}

/** A process that listened at least this long is not dying young: the next restart is quick again. */
const HEALTHY_MS = 10_000;
/** How often a starting process is looked at (has it subscribed yet?). */
const SUBSCRIBE_POLL_MS = 20;
/** NETLINK_NETFILTER, and the bit of NFNLGRP_NFTABLES in /proc/net/netlink's group mask. */
const NETLINK_NETFILTER = 12;
const NFTABLES_GROUP = 1 << (7 - 1);

/**
 * True once process `pid` holds a netfilter netlink socket subscribed to the nftables group
 * (from /proc/PID/net/netlink, the process's own network namespace, and its file descriptors).
 */
export function subscribed(pid: number): boolean {
  let table: string;
  const sockets = new Set<string>();
  try {
    table = readFileSync(`/proc/${pid}/net/netlink`, 'utf8');
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'utf8' });
      if (link.startsWith('socket:[')) sockets.add(link.slice(8, -1));
    }
  } catch {
    return false;
  }
  return table
    .split('\n')
    .slice(1)
    .some((line) => {
      const f = line.trim().split(/\s+/);
      return (
        Number(f[1]) === NETLINK_NETFILTER &&
        (Number.parseInt(f[3] ?? '0', 16) & NFTABLES_GROUP) !== 0 &&
        sockets.has(f[9] ?? '')
      );
    });
}

export class NftMonitor implements MonitorHandle {
  readonly stats: MonitorStats = { starts: 0, exits: 0, recycles: 0, generations: 0, foreign: 0, lostEvents: 0 };
  private readonly exec: NftExecConfig;
  private readonly events: MonitorEvents;
  private readonly o: Required<MonitorOptions>;
  private child: ChildProcess | null = null;
  private running = false;
  private listen = false;
  private bytes = 0;
  private listenedAt = 0;
  private delayMs: number;
  private restartTimer: NodeJS.Timeout | null = null;
  private startTimer: NodeJS.Timeout | null = null;
  private quietTimer: NodeJS.Timeout | null = null;

  constructor(exec: NftExecConfig, events: MonitorEvents, options: MonitorOptions = {}) {
    this.exec = exec;
    this.events = events;
    this.o = {
      recycleBytes: options.recycleBytes ?? 8 << 20,
      quietMs: options.quietMs ?? 2000,
      startTimeoutMs: options.startTimeoutMs ?? 20_000,
      restartDelayMs: options.restartDelayMs ?? { min: 100, max: 60_000 },
    };
    this.delayMs = this.o.restartDelayMs.min;
  }

  /** True while the running process is subscribed (or has printed a generation). */
  get listening(): boolean {
    return this.listen;
  }

  /** The running process's pid (tests). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.spawn();
  }

  /** Stops the process; nothing is restarted and no event follows. */
  stop(): void {
    this.running = false;
    this.end(this.child);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }

  private spawn(): void {
    this.restartTimer = null;
    if (!this.running) return;
    let child: ChildProcess;
    try {
      child = spawnNft(this.exec, ['monitor'], { stdout: true, stdin: false });
    } catch (err) {
      // The namespace is gone or the guard refused it: try again later, as for a crash.
      this.events.gap(`nft monitor did not start: ${(err as Error).message}`);
      this.restartLater(false);
      return;
    }
    this.child = child;
    this.stats.starts++;
    this.bytes = 0;
    this.watchStart(child);
    const reader = new GenerationReader((pid) => this.exec.processes?.owns(pid) ?? false);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      if (this.child !== child) return;
      this.bytes += chunk.length;
      for (const g of reader.push(chunk)) this.deliver(g);
      const early = reader.takeEarly();
      if (early) this.events.early?.(early);
      if (this.bytes >= this.o.recycleBytes) this.recycleWhenQuiet(child);
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      // `# ERROR: We lost some netlink events!`: the socket overflowed; nft goes on listening.
      if (this.child === child && text.includes('lost some netlink events')) {
        this.stats.lostEvents++;
        this.events.gap('nft monitor lost netlink events');
      }
    });
    child.on('error', () => undefined);
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      const healthy = this.listen && performance.now() - this.listenedAt >= HEALTHY_MS;
      this.end(child);
      this.stats.exits++;
      this.events.gap(`nft monitor exited (${signal ?? `code ${code}`})`);
      this.restartLater(healthy);
    });
  }

  /**
   * nft reads the whole ruleset, every element included, before it subscribes (2.5 s with 100k
   * elements), and reads it again whenever a transaction lands meanwhile: under steady changes it
   * may never get there, reading at full speed. So a start is given `startTimeoutMs`, then retried
   * later.
   */
  private watchStart(child: ChildProcess): void {
    const started = performance.now();
    this.startTimer = setInterval(() => {
      if (this.child !== child || this.listen) return this.stopWatching();
      if (child.pid !== undefined && subscribed(child.pid)) return this.markListening();
      if (performance.now() - started < this.o.startTimeoutMs) return;
      this.end(child);
      this.events.gap(`nft monitor did not subscribe within ${this.o.startTimeoutMs} ms (the ruleset kept changing)`);
      this.restartLater(false);
    }, SUBSCRIBE_POLL_MS);
    this.startTimer.unref();
  }

  private stopWatching(): void {
    if (this.startTimer) clearInterval(this.startTimer);
    this.startTimer = null;
  }

  private markListening(): void {
    this.stopWatching();
    if (this.listen) return;
    this.listen = true;
    this.listenedAt = performance.now();
    this.events.listening();
  }

  private deliver(g: MonitorGeneration): void {
    this.stats.generations++;
    if (!g.own) this.stats.foreign++;
    // A generation printed: it listens, whatever /proc said so far.
    this.markListening();
    this.events.generation(g);
  }

  /** The output since the start passed `recycleBytes`: replaced once nothing happened for `quietMs`. */
  private recycleWhenQuiet(child: ChildProcess): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => {
      this.quietTimer = null;
      if (this.child !== child) return;
      this.stats.recycles++;
      const bytes = this.bytes;
      this.end(child);
      this.events.gap(`nft monitor replaced after ${bytes} bytes of output`);
      this.spawn();
    }, this.o.quietMs);
    this.quietTimer.unref();
  }

  /** Forgets the process (and kills it if it runs). */
  private end(child: ChildProcess | null): void {
    this.stopWatching();
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = null;
    if (child && this.child === child) this.child = null;
    this.listen = false;
    if (child && child.exitCode === null) child.kill('SIGTERM');
  }

  private restartLater(healthy: boolean): void {
    if (!this.running) return;
    if (healthy) this.delayMs = this.o.restartDelayMs.min;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.o.restartDelayMs.max, this.delayMs * 2);
    this.restartTimer = setTimeout(() => this.spawn(), delay);
    this.restartTimer.unref();
  }
}
