/**
 * The peer benchmark's namespaces, processes and kernel views. Every namespace is `nspeer-<role>`
 * and every process, nft included, runs inside one (`ip netns exec`); nothing here touches the
 * host's network namespace. Processes are tracked by PID and stopped by PID.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
}

/** Addresses the benchmark uses: IPv4 in 198.18.0.0/15, IPv6 in 2001:db8::/32. */
const ADDRESS = /\b(?:198\.1[89]\.\d{1,3}\.\d{1,3}|2001:db8:[0-9a-f:]*[0-9a-f])\b/g;

export function addressesIn(text: string): string[] {
  return text.match(ADDRESS) ?? [];
}

export class PeerNs {
  readonly name: string;
  private readonly procs = new Set<Proc>();
  private deleted = false;

  private constructor(name: string) {
    this.name = name;
  }

  static async create(role: string): Promise<PeerNs> {
    const ns = new PeerNs(`nspeer-${role}`);
    // A namespace of this name left by an interrupted run of this benchmark is removed first.
    await run('ip', ['netns', 'delete', ns.name], 10_000).catch(() => undefined);
    await run('ip', ['netns', 'add', ns.name], 10_000);
    live.add(ns);
    await ns.run('ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Runs a command inside and returns its stdout; throws on a non-zero exit or after timeoutMs. */
  run(cmd: string, args: readonly string[], timeoutMs = 30_000, input?: string): Promise<string> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], timeoutMs, input);
  }

  /** Starts a long-running process inside, its output appended to logPath. */
  spawn(name: string, cmd: string, args: readonly string[], logPath: string, env: NodeJS.ProcessEnv = {}): Proc {
    const fd = openSync(logPath, 'a');
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...env },
    });
    closeSync(fd);
    return this.track(name, child);
  }

  /** Tracks a process started inside, so that delete() stops it. */
  track(name: string, child: ChildProcess): Proc {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const proc: Proc = { name, child, pid: child.pid ?? -1, exited };
    this.procs.add(proc);
    void exited.then(() => this.procs.delete(proc));
    return proc;
  }

  /** SIGTERM to the process by its PID, SIGKILL after graceMs; resolves with whether it exited in grace. */
  async stop(proc: Proc, graceMs: number): Promise<boolean> {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) return true;
    proc.child.kill('SIGTERM');
    const inTime = await Promise.race([proc.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!inTime) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    return inTime;
  }

  async delete(): Promise<void> {
    if (this.deleted) return;
    this.deleted = true;
    await Promise.all([...this.procs].map((p) => this.stop(p, 5000)));
    for (let i = 0; i < 20; i++) {
      const ok = await run('ip', ['netns', 'delete', this.name], 10_000).then(
        () => true,
        (e: Error) => /No such file/.test(e.message),
      );
      if (ok) break;
      await sleep(200);
    }
    live.delete(this);
  }
}

const live = new Set<PeerNs>();

/** Stops every process and deletes every namespace this run made (exit paths, Ctrl-C). */
export async function deleteAllPeerNs(): Promise<void> {
  await Promise.allSettled([...live].map((ns) => ns.delete()));
}

function run(cmd: string, args: readonly string[], timeoutMs: number, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
        else resolve(String(stdout));
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

/**
 * `nft monitor` inside a namespace (all events: with `new elements` only, nft would not learn the
 * sets created after it started and could not print their elements): the moment each benchmark address is first seen
 * committed to any set (performance.now() when its line arrived).
 */
export class ElementWatch {
  readonly seen = new Map<string, number>();
  private readonly waiters = new Map<string, (t: number) => void>();
  private partial = '';
  private readonly proc: Proc;
  private readonly ns: PeerNs;

  constructor(ns: PeerNs, logPath: string) {
    this.ns = ns;
    const child = spawn('ip', ['netns', 'exec', ns.name, 'stdbuf', '-oL', 'nft', 'monitor'], {
      stdio: ['ignore', 'pipe', openSync(logPath, 'a')],
    });
    this.proc = ns.track('nft monitor', child);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => this.take(d, performance.now()));
  }

  private take(data: string, t: number): void {
    this.partial += data;
    const lines = this.partial.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('add element')) continue;
      for (const a of addressesIn(line)) {
        if (this.seen.has(a)) continue;
        this.seen.set(a, t);
        const w = this.waiters.get(a);
        if (w) {
          this.waiters.delete(a);
          w(t);
        }
      }
    }
  }

  /** The time `address` was seen, or undefined after timeoutMs. */
  waitFor(address: string, timeoutMs: number): Promise<number | undefined> {
    const t = this.seen.get(address);
    if (t !== undefined) return Promise.resolve(t);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(address);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.set(address, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  }

  close(): Promise<boolean> {
    return this.ns.stop(this.proc, 2000);
  }
}

/** The benchmark addresses present in any set of the namespace's ruleset right now. */
export async function kernelAddresses(ns: PeerNs): Promise<Set<string>> {
  const text = await ns.run('nft', ['list', 'ruleset'], 60_000);
  return new Set(addressesIn(text));
}

/** Peak resident memory (VmHWM) of a process and its live descendants, in MiB. */
export function peakRssMb(rootPid: number): number {
  const children = new Map<number, number[]>();
  for (const ent of readdir('/proc')) {
    const pid = Number(ent);
    if (!Number.isInteger(pid)) continue;
    const stat = read(`/proc/${pid}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (Number.isInteger(ppid)) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  let kb = 0;
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    const m = /VmHWM:\s+(\d+) kB/.exec(read(`/proc/${pid}/status`));
    if (m) kb += Number(m[1]);
    stack.push(...(children.get(pid) ?? []));
  }
  return kb / 1024;
}

function readdir(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}
function read(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
