/**
 * Who is at the other end of an accepted unix stream connection: its uid, for the API's
 * failed-authentication limit (kept per local user on the socket, not one budget for all).
 *
 * Node exposes no SO_PEERCRED, so the peer is found as `ss -xp` finds it (sock_diag netlink):
 * our end's inode (readlink /proc/self/fd/FD) is the peer column of exactly one other socket,
 * whose `users:` names the process holding it; /proc/PID/status gives its real uid. Asked only
 * for a request that failed authentication, at most one `ss` at a time and a few waiting (the
 * rest, and any failure, get `null`: the caller falls back to one shared key), and cached per
 * connection. A process that has passed its fd on, or exited, answers for whoever holds it now:
 * good enough to keep one local user's guessing from locking out another's failing scripts.
 */
import { execFile } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import type { Socket } from 'node:net';

const MAX_WAITING = 8;
const SS_TIMEOUT_MS = 2000;
const SS_MAX_BYTES = 16 * 1024 * 1024;

/** The pid holding the socket whose peer is `inode`, from `ss -xpnH` output; pure. */
export function peerPidFromSs(output: string, inode: number): number | null {
  // 0 is the peer column of every unconnected socket (listeners), never a real inode.
  if (!(inode > 0)) return null;
  for (const line of output.split('\n')) {
    // u_str ESTAB 0 0 <local path or *> <local inode> <peer path or *> <peer inode> users:((...,pid=N,fd=M))
    const m = /^\S+\s+\S+\s+\d+\s+\d+\s+\S+\s+(\d+)\s+\S+\s+(\d+)\s+users:\(\("[^"]*",pid=(\d+),/.exec(line.trim());
    if (m && Number(m[2]) === inode && Number(m[1]) !== inode) return Number(m[3]);
  }
  return null;
}

/** The real uid on the `Uid:` line of /proc/PID/status text; pure. */
export function realUidFromStatus(status: string): number | null {
  const m = /^Uid:\s+(\d+)/m.exec(status);
  return m ? Number(m[1]) : null;
}

function runSs(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ss', ['-xpnH'], { timeout: SS_TIMEOUT_MS, maxBuffer: SS_MAX_BYTES }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
  });
}

/** The file descriptor under a net.Socket (libuv's handle); undefined for a socket without one. */
function fdOf(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

async function lookUp(socket: Socket): Promise<number | null> {
  const fd = fdOf(socket);
  if (fd === undefined) return null;
  const link = await readlink(`/proc/self/fd/${fd}`);
  const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
  if (!inode) return null;
  const pid = peerPidFromSs(await runSs(), Number(inode));
  if (pid === null || pid === process.pid) return null;
  return realUidFromStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
}

/** Per-connection cache and the one-at-a-time queue of lookups. */
export class UnixPeers {
  private readonly cache = new WeakMap<Socket, Promise<number | null>>();
  private chain: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  private readonly lookUp: (socket: Socket) => Promise<number | null>;

  constructor(lookUpFn: (socket: Socket) => Promise<number | null> = lookUp) {
    this.lookUp = lookUpFn;
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
