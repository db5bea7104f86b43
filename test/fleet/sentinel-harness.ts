/**
 * Redis Sentinels for a test: Debian's redis-server in sentinel mode (`redis-server <conf>
 * --sentinel`), each with a config file of its own in a temporary directory (a sentinel rewrites
 * it), all in the test's namespace on one address and several ports. Asked with redis-cli run in
 * that namespace; stopped by PID only.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import type { Netns } from '../../src/lab/netns.ts';
import { pollUntil } from '../engine/daemon-harness.ts';

export interface SentinelSetup {
  /** The master's name in `sentinel monitor`. */
  name: string;
  /** The address the sentinels listen on, and the master's. */
  ip: string;
  masterPort: number;
  ports: readonly number[];
  /** The sentinels' requirepass (they use it with each other too). */
  password: string;
  downAfterMs: number;
  failoverTimeoutMs: number;
}

export class TestSentinels {
  private readonly ns: Netns;
  private readonly dir: string;
  readonly setup: SentinelSetup;
  private readonly children: ResultPromise[] = [];

  constructor(ns: Netns, dir: string, setup: SentinelSetup) {
    this.ns = ns;
    this.dir = dir;
    this.setup = setup;
  }

  /** `host:port` of each sentinel, as fleet.redis.sentinel.nodes takes them. */
  get nodes(): string[] {
    return this.setup.ports.map((p) => `${this.setup.ip}:${p}`);
  }

  /** Starts every sentinel and waits until each knows the replica and the other sentinels. */
  async start(replicas: number): Promise<void> {
    const s = this.setup;
    for (const port of s.ports) {
      const dir = join(this.dir, `sentinel-${port}`);
      mkdirSync(dir, { recursive: true });
      const conf = join(dir, 'sentinel.conf');
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 0.0.0.0',
          'protected-mode no',
          'daemonize no',
          `dir ${dir}`,
          'loglevel warning',
          `requirepass ${s.password}`,
          `sentinel monitor ${s.name} ${s.ip} ${s.masterPort} 2`,
          `sentinel down-after-milliseconds ${s.name} ${s.downAfterMs}`,
          `sentinel failover-timeout ${s.name} ${s.failoverTimeoutMs}`,
          `sentinel parallel-syncs ${s.name} 1`,
          '',
        ].join('\n'),
      );
      this.children.push(
        this.ns.spawn('/usr/bin/redis-server', [conf, '--sentinel'], { stdout: 'ignore', stderr: 'ignore' }),
      );
    }
    await pollUntil(
      'every sentinel sees the master, its replicas and the other sentinels',
      async () => {
        for (const port of s.ports) {
          const m = await this.master(port);
          if (Number(m['num-slaves']) < replicas || Number(m['num-other-sentinels']) < s.ports.length - 1) return false;
        }
        return true;
      },
      30_000,
      200,
    );
  }

  /** One command to one sentinel (redis-cli inside the namespace); its output lines. */
  async cli(port: number, args: readonly string[]): Promise<string[]> {
    const r = await this.ns.run('redis-cli', [
      '-h',
      this.setup.ip,
      '-p',
      String(port),
      '-a',
      this.setup.password,
      '--no-auth-warning',
      ...args,
    ]);
    return r.split('\n').filter((l) => l !== '');
  }

  /** `SENTINEL MASTER <name>` as a field -> value map. */
  async master(port: number): Promise<Record<string, string>> {
    const lines = await this.cli(port, ['SENTINEL', 'MASTER', this.setup.name]);
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]!] = lines[i + 1]!;
    return out;
  }

  /** The master every sentinel names (`ip:port`), or null while they disagree. */
  async agreedMaster(): Promise<string | null> {
    const seen = new Set<string>();
    for (const port of this.setup.ports) {
      const [ip, p] = await this.cli(port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.setup.name]);
      seen.add(`${ip}:${p}`);
    }
    return seen.size === 1 ? [...seen][0]! : null;
  }

  /** SIGKILL by PID, and waits for the exits. */
  async kill(): Promise<void> {
    for (const c of this.children) if (c.pid && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
    await Promise.all(this.children);
    this.children.length = 0;
  }
}
