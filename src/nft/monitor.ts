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
 *   element) and caches every element it sees added afterwards (about 340 bytes each, never
 *   freed), so the process is replaced after `recycleBytes` of output;
 * - it pairs consecutive element events of a concatenated interval set (bannet4/6, the config
 *   sets) as if they were the two ends of one range: every other one prints nothing, the others
 *   print garbage, and sometimes it exits ("Memory allocation failure");
 * - it crashes (SIGSEGV) when a set it saw deleted is created again.
 * So the process is restarted whenever it exits, and every restart is a `gap`: what happened
 * until it listens again is unknown, and the owner checks the kernel in full.
 *
 * It listens once it has printed its first generation line (nft has subscribed by then); the
 * owner makes one happen with a small transaction of its own (a probe).
 */
import type { ChildProcess } from 'node:child_process';
import { type NftExecConfig, spawnNft } from './exec.ts';
import type { MonitorEvents, MonitorGeneration, MonitorHandle, MonitorOptions, MonitorStats } from './nft.ts';

const GENERATION = /^# new generation (\d+)(?: by process (\d+) \([^)]*\))?$/;

/** Pure: `nft monitor`'s stdout, in chunks as they come -> whole generations. */
export class GenerationReader {
  private partial = '';
  private lines: string[] = [];
  private truncated = false;
  private readonly owns: (pid: number) => boolean;
  private readonly maxLines: number;

  constructor(owns: (pid: number) => boolean, maxLines = 1_000_000) {
    this.owns = owns;
    this.maxLines = maxLines;
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
        continue;
      }
      const pid = g[2] === undefined ? null : Number(g[2]);
      const own = pid !== null && this.owns(pid);
      out.push({ gen: Number(g[1]), pid, own, lines: own ? [] : this.lines, truncated: this.truncated });
      this.lines = [];
      this.truncated = false;
    }
    this.partial = text.slice(from);
    return out;
  }
}

/** A process that lived at least this long is not dying young: the next restart is quick again. */
const HEALTHY_MS = 10_000;

export class NftMonitor implements MonitorHandle {
  readonly stats: MonitorStats = { starts: 0, exits: 0, recycles: 0, generations: 0, foreign: 0, lostEvents: 0 };
  private readonly exec: NftExecConfig;
  private readonly events: MonitorEvents;
  private readonly recycleBytes: number;
  private readonly delays: { min: number; max: number };
  private child: ChildProcess | null = null;
  private running = false;
  private listen = false;
  private bytes = 0;
  private startedAt = 0;
  private delayMs: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(exec: NftExecConfig, events: MonitorEvents, options: MonitorOptions = {}) {
    this.exec = exec;
    this.events = events;
    this.recycleBytes = options.recycleBytes ?? 8 << 20;
    this.delays = options.restartDelayMs ?? { min: 100, max: 10_000 };
    this.delayMs = this.delays.min;
  }

  /** True once the running process printed its first generation. */
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
    this.listen = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const c = this.child;
    this.child = null;
    if (c && c.exitCode === null) c.kill('SIGTERM');
  }

  private spawn(): void {
    this.timer = null;
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
    this.startedAt = performance.now();
    const reader = new GenerationReader((pid) => this.exec.processes?.owns(pid) ?? false);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      if (this.child !== child) return;
      this.bytes += chunk.length;
      for (const g of reader.push(chunk)) this.deliver(g);
      if (this.bytes >= this.recycleBytes && this.child === child) this.recycle(child);
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
      this.child = null;
      this.listen = false;
      this.stats.exits++;
      this.events.gap(`nft monitor exited (${signal ?? `code ${code}`})`);
      this.restartLater(performance.now() - this.startedAt >= HEALTHY_MS);
    });
  }

  private deliver(g: MonitorGeneration): void {
    this.stats.generations++;
    if (!g.own) this.stats.foreign++;
    if (!this.listen) {
      this.listen = true;
      this.events.listening();
    }
    this.events.generation(g);
  }

  private recycle(child: ChildProcess): void {
    this.stats.recycles++;
    this.child = null;
    this.listen = false;
    child.kill('SIGTERM');
    this.events.gap(`nft monitor replaced after ${this.bytes} bytes of output`);
    this.spawn();
  }

  private restartLater(healthy: boolean): void {
    if (!this.running) return;
    if (healthy) this.delayMs = this.delays.min;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delays.max, this.delayMs * 2);
    this.timer = setTimeout(() => this.spawn(), delay);
    this.timer.unref();
  }
}
