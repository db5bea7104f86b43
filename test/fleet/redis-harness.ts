/**
 * Debian's redis-server, started by a test inside a namespace of its own (persistence on:
 * appendonly), reachable over a unix socket in a temporary directory (a path, not an address, so
 * in-process daemons and daemons in other namespaces reach it alike) and, when asked, over TCP on
 * the namespace's addresses. Stopped, paused and killed by its PID only.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'redis';
import type { ResultPromise } from 'execa';
import type { Netns } from '../../src/lab/netns.ts';
import { pollUntil } from '../engine/daemon-harness.ts';

export class TestRedis {
  readonly ns: Netns;
  readonly dir: string;
  readonly socket: string;
  private readonly port: number;
  private child: ResultPromise | null = null;

  /** Extra redis-server arguments (TLS). */
  private readonly extra: string[];

  constructor(ns: Netns, dir: string, port = 0, extra: string[] = []) {
    this.ns = ns;
    this.dir = dir;
    this.socket = join(dir, 'redis.sock');
    this.port = port;
    this.extra = extra;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts it (its data directory kept unless `wipe`) and waits until it answers PING. */
  async start(options: { wipe?: boolean } = {}): Promise<void> {
    const data = join(this.dir, 'data');
    if (options.wipe) rmSync(data, { recursive: true, force: true });
    mkdirSync(data, { recursive: true });
    this.child = this.ns.spawn(
      '/usr/bin/redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '0.0.0.0',
        '--protected-mode',
        'no',
        '--unixsocket',
        this.socket,
        '--unixsocketperm',
        '700',
        '--dir',
        data,
        '--appendonly',
        'yes',
        '--save',
        '',
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
        ...this.extra,
      ],
      { stdout: 'ignore', stderr: 'ignore' },
    );
    await pollUntil('redis-server answers', async () => (await this.command(['PING'])) === 'PONG', 10_000, 50);
  }

  /** SIGTERM (it writes its AOF) and waits for the exit. */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c?.pid) return;
    process.kill(c.pid, 'SIGTERM');
    await c;
    this.child = null;
  }

  /** SIGSTOP / SIGCONT: a Redis that hangs (sockets open, no answer). */
  signal(sig: 'SIGSTOP' | 'SIGCONT'): void {
    if (this.child?.pid) process.kill(this.child.pid, sig);
  }

  async kill(): Promise<void> {
    this.signal('SIGCONT');
    const c = this.child;
    if (!c?.pid) return;
    process.kill(c.pid, 'SIGKILL');
    await c;
    this.child = null;
  }

  /** One command on a fresh connection. */
  async command<T = unknown>(args: string[]): Promise<T> {
    const c = createClient({ socket: { path: this.socket, reconnectStrategy: false }, RESP: 2 });
    c.on('error', () => undefined);
    await c.connect();
    try {
      return (await c.sendCommand(args)) as T;
    } finally {
      c.destroy();
    }
  }
}
