/**
 * Who is at the other end of an accepted unix stream connection: its uid, for the API's
 * failed-authentication limit (kept per local user on the socket, not one budget for all) and for
 * the journal's actor of an operator's write (`token@uid:N`).
 *
 * Node exposes no SO_PEERCRED, so the peer is found through sock_diag and /proc: our end's inode
 * (readlink /proc/self/fd/FD), its peer's inode from `ss -xnH`, the process holding that inode
 * (/proc/PID/fd, newest processes first) and its real uid (/proc/PID/status). `ss` runs in a
 * small shell co-process started once (SsCoprocess): a fork of the daemon itself (~150 MB) costs
 * ~10 ms and blocks the forking thread's event loop, the shell's fork of ss does not; and without
 * `-p`, which reads every process's descriptors (~7 ms here), ss takes ~3 ms.
 * At most one lookup at a time and a few waiting (the rest, and any failure, get `null`: the
 * caller falls back to one shared key, or `unix`), cached per connection. A process that has
 * passed its fd on, or exited, answers for whoever holds it now: good enough to keep one local
 * user's guessing from locking out another's failing scripts.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';
import type { Socket } from 'node:net';

const MAX_WAITING = 8;
const SS_TIMEOUT_MS = 2000;
const SS_MAX_BYTES = 16 * 1024 * 1024;
const RESTART_MS = 10_000;

/** The inode of the peer of our socket `inode`, from `ss -xnH` output (no users column); pure. */
export function peerInodeFromSs(output: string, inode: number): number | null {
  if (!(inode > 0)) return null;
  for (const line of output.split('\n')) {
    // u_str ESTAB 0 0 <local path or *> <local inode> <peer path or *> <peer inode> ...
    const m = /^\S+\s+\S+\s+\d+\s+\d+\s+\S+\s+(\d+)\s+\S+\s+(\d+)/.exec(line.trim());
    if (m && Number(m[1]) === inode && Number(m[2]) > 0 && Number(m[2]) !== inode) return Number(m[2]);
  }
  return null;
}

/** The real uid on the `Uid:` line of /proc/PID/status text; pure. */
export function realUidFromStatus(status: string): number | null {
  const m = /^Uid:\s+(\d+)/m.exec(status);
  return m ? Number(m[1]) : null;
}

/** What the co-process prints after each `ss` output: never in ss's own. */
const END = '__nftsentry_ss_end__';

/**
 * A shell that runs `ss -xnH` for each line it reads and prints END after the output. Started at
 * the first lookup and again after it died (not sooner than RESTART_MS after the last start: a
 * system without sh or ss costs one failed spawn per RESTART_MS, not one per request). Its pipes
 * and the process are unref'd: it never keeps the daemon alive, and dies of EOF with it.
 */
export class SsCoprocess {
  private child: ChildProcessWithoutNullStreams | null = null;
  private startedMs = -Infinity;
  private out = '';
  private waiter: { resolve: (s: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null = null;
  private readonly command: readonly string[];
  private readonly restartMs: number;
  private readonly timeoutMs: number;
  /** Co-processes started (tests). */
  starts = 0;

  /** `command`: the lister (tests give another); its output is taken up to the END line. */
  constructor(command: readonly string[] = ['ss', '-xnH'], options: { restartMs?: number; timeoutMs?: number } = {}) {
    this.command = command;
    this.restartMs = options.restartMs ?? RESTART_MS;
    this.timeoutMs = options.timeoutMs ?? SS_TIMEOUT_MS;
  }

  /** One listing; rejects after SS_TIMEOUT_MS (the co-process is then killed) or on any failure. */
  run(): Promise<string> {
    if (this.waiter) return Promise.reject(new Error('ss co-process busy'));
    const child = this.child ?? this.start();
    if (!child) return Promise.reject(new Error('ss co-process not running'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`ss: no answer in ${this.timeoutMs} ms`)), this.timeoutMs);
      this.waiter = { resolve, reject, timer };
      child.stdin.write('\n');
    });
  }

  /** Stops the co-process (the API closes). */
  close(): void {
    this.fail(new Error('ss co-process closed'));
  }

  private start(): ChildProcessWithoutNullStreams | null {
    const now = Date.now();
    if (now - this.startedMs < this.restartMs) return null;
    this.startedMs = now;
    this.starts++;
    const cmd = this.command.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('/bin/sh', ['-c', `while read -r _; do ${cmd} 2>/dev/null; echo; echo ${END}; done`], {
      stdio: 'pipe',
      // Its own process group: a lister that hangs is killed with it.
      detached: true,
    });
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
    child.stdout.setEncoding('utf8');
    // Events of a co-process already replaced are not this one's.
    child.stdout.on('data', (chunk: string) => {
      if (this.child === child) this.onData(chunk);
    });
    child.on('error', (err) => {
      if (this.child === child) this.fail(err);
    });
    child.on('exit', () => {
      if (this.child === child) this.fail(new Error('ss co-process exited'));
    });
    child.stdin.on('error', () => undefined);
    this.child = child;
    return child;
  }

  private onData(chunk: string): void {
    this.out += chunk;
    const end = this.out.indexOf(`\n${END}\n`);
    if (end < 0) {
      if (this.out.length > SS_MAX_BYTES) this.fail(new Error('ss: output too large'));
      return;
    }
    const listing = this.out.slice(0, end);
    this.out = this.out.slice(end + END.length + 2);
    const w = this.waiter;
    this.waiter = null;
    if (w) {
      clearTimeout(w.timer);
      w.resolve(listing);
    }
  }

  /** The waiting lookup fails and the co-process goes (the next lookup starts another). */
  private fail(err: Error): void {
    const w = this.waiter;
    this.waiter = null;
    if (w) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    const c = this.child;
    this.child = null;
    this.out = '';
    if (c?.pid && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  }
}

/** The file descriptor under a net.Socket (libuv's handle); undefined for a socket without one. */
function fdOf(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** How many processes a holder search looks at, at most (newest first). */
const MAX_PROCESSES = 4096;

/**
 * The pid of a process (not this one) with `socket:[inode]` among its open files: /proc's pids
 * newest first, since the client of a request is most often a process just started (the CLI,
 * curl). Null when none is found in MAX_PROCESSES (or /proc hides them: hidepid, ProtectProc).
 */
async function holderOf(inode: number, procRoot = '/proc'): Promise<number | null> {
  const target = `socket:[${inode}]`;
  const pids = (await readdir(procRoot))
    .filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid)
    .map(Number)
    .sort((a, b) => b - a)
    .slice(0, MAX_PROCESSES);
  for (const pid of pids) {
    const fds = await readdir(`${procRoot}/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const link = await readlink(`${procRoot}/${pid}/fd/${fd}`).catch(() => '');
      if (link === target) return pid;
    }
  }
  return null;
}

/**
 * The peer's uid: our end's inode, its peer's inode from `ss -xnH` (sock_diag; without -p, which
 * would read every process's fds for every socket), the process holding the peer, its real uid.
 */
async function lookUp(socket: Socket, ss: SsCoprocess): Promise<number | null> {
  const fd = fdOf(socket);
  if (fd === undefined) return null;
  const link = await readlink(`/proc/self/fd/${fd}`);
  const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
  if (!inode) return null;
  const peer = peerInodeFromSs(await ss.run(), Number(inode));
  if (peer === null) return null;
  const pid = await holderOf(peer);
  if (pid === null) return null;
  return realUidFromStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
}

/** Per-connection cache and the one-at-a-time queue of lookups. */
export class UnixPeers {
  private readonly cache = new WeakMap<Socket, Promise<number | null>>();
  private chain: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  private readonly lookUp: (socket: Socket) => Promise<number | null>;
  private readonly ss = new SsCoprocess();

  constructor(lookUpFn?: (socket: Socket) => Promise<number | null>) {
    this.lookUp = lookUpFn ?? ((socket) => lookUp(socket, this.ss));
  }

  /** Stops the ss co-process, if one was started. */
  close(): void {
    this.ss.close();
  }

  /** The peer's uid, or null when it cannot be told (not a unix socket, busy, or failed). */
  uid(socket: Socket): Promise<number | null> {
    const cached = this.cache.get(socket);
    if (cached) return cached;
    if (this.waiting >= MAX_WAITING) return Promise.resolve(null);
    this.waiting++;
    const result = this.chain
      .then(() => this.lookUp(socket))
      .catch(() => null)
      .finally(() => this.waiting--);
    this.chain = result;
    this.cache.set(socket, result);
    return result;
  }
}
