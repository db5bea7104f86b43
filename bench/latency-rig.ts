/**
 * The IO of bench/latency.ts: its network namespace, the `nft monitor` that sees each commit,
 * the paced writers (unix socket, eve.json, the floor's `nft -i`) and the daemon as a child
 * process. Every nft process runs inside the bench's namespace through src/nft/exec.ts (which
 * refuses the host's); the bench process itself stays outside, as a user's tools would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { execa } from 'execa';
import { nftExecConfig, spawnNft } from '../src/nft/exec.ts';
import { NftRunner } from '../src/nft/runner.ts';
import { type BenchTarget, floorLine, parseMonitorLine } from './latency-stats.ts';

const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A namespace of the bench's own (`nslat-<pid>`), loopback up, deleted with its processes. */
export class BenchNetns {
  readonly name = `nslat-${process.pid}`;
  readonly nft: NftRunner;
  private readonly children = new Set<ChildProcess>();

  private constructor() {
    this.nft = new NftRunner({ netns: this.name, forbidHostNetns: true });
  }

  static async create(): Promise<BenchNetns> {
    const ns = new BenchNetns();
    await execa('ip', ['netns', 'add', ns.name]);
    await execa('ip', ['-n', ns.name, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A long-lived nft process inside (`nft monitor`, `nft -i`), stopped by `delete`. */
  spawnNft(args: string[], options: { stdout: boolean; stdin: boolean }): ChildProcess {
    const child = spawnNft(nftExecConfig({ netns: this.name, forbidHostNetns: true }), args, options);
    return this.track(child);
  }

  /** `node ARGS` inside (`ip netns exec` execs, so the child's pid is node's). */
  spawnNode(args: string[], env: Record<string, string>): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, process.execPath, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
    return this.track(child);
  }

  private track(child: ChildProcess): ChildProcess {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Stops what it started (SIGTERM, SIGKILL after 3 s), by pid, then deletes the namespace. */
  async delete(): Promise<void> {
    for (const c of this.children) c.kill('SIGTERM');
    const deadline = now() + 3000;
    while (this.children.size > 0 && now() < deadline) await sleep(20);
    for (const c of this.children) c.kill('SIGKILL');
    await execa('ip', ['netns', 'delete', this.name], { reject: false });
  }
}

/** The probe set the monitor is proven subscribed with (198.19.255.0/24, outside the bench's addresses). */
export const PROBE_TABLE = 'table inet nslat_probe { set s { type ipv4_addr; flags timeout; }; }\n';

/**
 * `nft monitor new elements`: the time each element key was first seen committed
 * (performance.now()). nft 1.0.6's monitor dies of SIGSEGV when the nftsentry table is loaded
 * while it runs (the elements of its concatenated interval sets), so one is started per case,
 * once the table is there, and `crashed` says if it died anyway.
 */
export class CommitMonitor {
  readonly seen = new Map<string, number>();
  crashed: string | null = null;
  /** Called with each key when it is first seen. */
  onSeen: ((key: string) => void) | null = null;
  private readonly child: ChildProcess;
  private partial = '';

  private constructor(ns: BenchNetns) {
    this.child = ns.spawnNft(['monitor', 'new', 'elements'], { stdout: true, stdin: false });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      const t = now();
      const lines = (this.partial + chunk).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) {
        const m = parseMonitorLine(line);
        if (!m) continue;
        for (const k of m.keys) {
          if (this.seen.has(k)) continue;
          this.seen.set(k, t);
          this.onSeen?.(k);
        }
      }
    });
    this.child.stderr!.resume();
    this.child.once('exit', (code, signal) => {
      if (!this.stopped) this.crashed = signal ?? `exit ${code}`;
    });
  }

  private stopped = false;

  /** Starts one and waits until it reports an element of the probe set (PROBE_TABLE loaded). */
  static async start(ns: BenchNetns): Promise<CommitMonitor> {
    await ns.nft.run(['flush', 'set', 'inet', 'nslat_probe', 's']);
    const m = new CommitMonitor(ns);
    for (let i = 0; ![...m.seen.keys()].some((k) => k.startsWith('198.19.255.')); i++) {
      if (m.crashed || i > 50) throw new Error(`nft monitor reported nothing (${m.crashed ?? 'within 5 s'})`);
      await ns.nft.run(['add', 'element', 'inet', 'nslat_probe', 's', `{ 198.19.255.${i} timeout 60s }`]);
      await sleep(100);
    }
    return m;
  }

  /** Resolves once every key is seen, or at the deadline (the missing ones count as lost). */
  async waitSeen(keys: readonly string[], deadlineMs: number): Promise<void> {
    const end = now() + deadlineMs;
    while (now() < end && !this.crashed && keys.some((k) => !this.seen.has(k))) await sleep(20);
  }

  stop(): void {
    this.stopped = true;
    this.child.kill('SIGTERM');
  }
}

/**
 * Calls `write(i)` for i = 0..count-1 at `rate` per second (each write is due at i/rate s from
 * the start; a late timer writes everything due at once), and returns the time each write
 * returned: the moment the line was handed to the kernel.
 */
export async function paced(count: number, rate: number, write: (i: number) => void): Promise<number[]> {
  const done: number[] = [];
  const t0 = now();
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(count, Math.floor(((now() - t0) * rate) / 1000) + 1);
      for (; i < due; i++) {
        write(i);
        done.push(now());
      }
      if (i >= count) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  return done;
}

/** A Suricata-like client of the unix_stream source: one connection, one line per alert. */
export async function openSocketWriter(path: string): Promise<{ write(line: string): void; close(): void }> {
  const sock = connect({ path });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  return {
    write: (line) => void sock.write(line),
    close: () => void sock.end(),
  };
}

/** An appender to eve.json as Suricata writes it: one write(2) per line, O_APPEND. */
export function openFileWriter(path: string): { write(line: string): void; close(): void } {
  const fd = openSync(path, 'a');
  return { write: (line) => void writeSync(fd, line), close: () => closeSync(fd) };
}

/**
 * The floor: one `nft -i` co-process fed straight by this process, one transaction in flight.
 * A target is written at once when nft is idle; targets that come while a transaction is in
 * flight go together in the next one, written the moment the monitor has seen the last element
 * of the one before (so nft never falls behind on a backlog of one-element lines, as the daemon
 * does not either). An nft error ends the transaction in flight.
 */
export function openFloor(
  ns: BenchNetns,
  monitor: CommitMonitor,
): { send(t: BenchTarget): void; errors(): number; close(): void } {
  const child = ns.spawnNft(['-i'], { stdout: false, stdin: true });
  let errors = 0;
  let inFlight: Set<string> | null = null;
  let pending: BenchTarget[] = [];
  const next = () => {
    inFlight = null;
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    inFlight = new Set(batch.map((t) => t.key));
    child.stdin!.write(floorLine(batch));
  };
  monitor.onSeen = (key) => {
    if (inFlight?.delete(key) && inFlight.size === 0) next();
  };
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    const n = d.split('Error:').length - 1;
    errors += n;
    if (n > 0 && inFlight) next();
  });
  return {
    send: (t) => {
      pending.push(t);
      if (!inFlight) next();
    },
    errors: () => errors,
    close: () => {
      monitor.onSeen = null;
      child.stdin!.end();
    },
  };
}

/** `nftsentry run` inside the namespace, its JSON log read from stderr. */
export class DaemonProcess {
  readonly logs: Array<Record<string, unknown>> = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(ns: BenchNetns, configPath: string) {
    this.child = ns.spawnNode(['src/cli/main.ts', '-c', configPath, 'run'], {
      NFTSENTRY_FORBID_HOST_NETNS: '1',
      NFTSENTRY_HOST_NETNS_INODE: String(statSync('/proc/self/ns/net').ino),
      NFTSENTRY_LOG_LEVEL: 'info',
    });
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
    let partial = '';
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        try {
          this.logs.push(JSON.parse(l) as Record<string, unknown>);
        } catch {
          this.logs.push({ msg: l });
        }
      }
    });
  }

  /** Waits for a log message; throws at the deadline or if the process ends first. */
  async waitForLog(msg: string, deadlineMs: number): Promise<void> {
    const end = now() + deadlineMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    while (!this.logs.some((l) => l.msg === msg)) {
      if (exited || now() > end) {
        const tail = this.logs.slice(-5).map((l) => JSON.stringify(l));
        throw new Error(`daemon: no "${msg}" (${exited ? 'exited' : 'deadline'}); last logs: ${tail.join(' | ')}`);
      }
      await sleep(10);
    }
  }

  /** SIGTERM, and the exit code (SIGKILL after 10 s). */
  async stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** The status of GET /readyz on the API's unix socket (0 when it does not answer). */
export function readyz(socketPath: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/readyz', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
