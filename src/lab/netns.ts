/**
 * Throwaway network namespaces for the lab and the tests: create, wire with veth pairs, run
 * commands inside, delete. Names carry the creating PID (`nfs-<pid>-<n>-<role>`) so that
 * namespaces left by a process that died can be told apart from live ones and swept.
 *
 * This and nft/runner.ts are the only modules that start processes.
 */
import { execa, type ResultPromise, type Options } from 'execa';
import { NftsentryError, ErrorCodes } from '../errors.ts';

const PREFIX = 'nfs';
let counter = 0;

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

async function ip(args: string[]): Promise<void> {
  const r = await execa('ip', args, { reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) {
    throw new NftsentryError(ErrorCodes.NETNS_FAILED, `ip ${args.join(' ')}: ${String(r.stderr).trim() || r.message}`);
  }
}

export class Netns {
  readonly name: string;
  readonly role: string;
  private deleted = false;
  private readonly children = new Set<ResultPromise>();

  private constructor(name: string, role: string) {
    this.name = name;
    this.role = role;
  }

  /** Creates a namespace with loopback up, IPv6 DAD off (addresses usable at once). */
  static async create(role: string): Promise<Netns> {
    if (!/^[a-z0-9]{1,12}$/.test(role)) throw new NftsentryError(ErrorCodes.NETNS_FAILED, `bad role name "${role}"`);
    const ns = new Netns(`${PREFIX}-${process.pid}-${++counter}-${role}`, role);
    await ip(['netns', 'add', ns.name]);
    live.add(ns);
    try {
      await ns.run('ip', ['link', 'set', 'lo', 'up']);
      await ns.run('sysctl', ['-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
    } catch (err) {
      await ns.delete();
      throw err;
    }
    return ns;
  }

  /** Runs a command inside; resolves whatever its exit code. */
  async exec(cmd: string, args: readonly string[], options: { timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
    const r = await execa('ip', ['netns', 'exec', this.name, cmd, ...args], {
      reject: false,
      timeout: options.timeoutMs ?? 60_000,
      ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    });
    return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
  }

  /** Runs a command inside; throws NETNS_FAILED on a non-zero exit. */
  async run(cmd: string, args: readonly string[], options: { timeoutMs?: number } = {}): Promise<string> {
    const r = await this.exec(cmd, args, options);
    if (r.exitCode !== 0) {
      throw new NftsentryError(ErrorCodes.NETNS_FAILED, `[${this.role}] ${cmd} ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
    }
    return r.stdout;
  }

  /** Starts a long-running command inside; it is killed (by PID) when the namespace is deleted. */
  spawn(cmd: string, args: readonly string[], options: Options = {}): ResultPromise {
    const child = execa('ip', ['netns', 'exec', this.name, cmd, ...args], { reject: false, stdin: 'ignore', ...options });
    this.children.add(child);
    void child.finally(() => this.children.delete(child));
    return child;
  }

  /** Stops the processes it started (SIGTERM, then SIGKILL) and deletes the namespace. Idempotent. */
  async delete(): Promise<void> {
    if (this.deleted) return;
    this.deleted = true;
    for (const child of this.children) child.kill('SIGTERM');
    const deadline = Date.now() + 3000;
    while (this.children.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const child of this.children) child.kill('SIGKILL');
    live.delete(this);
    const r = await execa('ip', ['netns', 'delete', this.name], { reject: false, stdin: 'ignore' });
    if (r.exitCode !== 0 && !/No such file/.test(String(r.stderr))) {
      throw new NftsentryError(ErrorCodes.NETNS_FAILED, `ip netns delete ${this.name}: ${String(r.stderr).trim()}`);
    }
  }
}

const live = new Set<Netns>();

/** Deletes every namespace this process created and has not deleted yet (for exit paths). */
export async function deleteAllNetns(): Promise<void> {
  await Promise.allSettled([...live].map((ns) => ns.delete()));
}

/** Joins two namespaces with a veth pair, created directly inside them (no name in the host). */
export async function linkVeth(a: Netns, aIf: string, b: Netns, bIf: string): Promise<void> {
  await ip(['link', 'add', 'name', aIf, 'netns', a.name, 'type', 'veth', 'peer', 'name', bIf, 'netns', b.name]);
  await a.run('ip', ['link', 'set', aIf, 'up']);
  await b.run('ip', ['link', 'set', bIf, 'up']);
}

/** Adds an address (IPv6 without DAD). Only 198.18.0.0/15 and 2001:db8::/32 are ever used here. */
export async function addAddress(ns: Netns, ifname: string, cidr: string): Promise<void> {
  const v6 = cidr.includes(':');
  if (!(v6 ? /^2001:db8:/i.test(cidr) : /^198\.1[89]\./.test(cidr))) {
    throw new NftsentryError(ErrorCodes.NETNS_FAILED, `${cidr}: lab and test hosts only use 198.18.0.0/15 and 2001:db8::/32`);
  }
  await ns.run('ip', [...(v6 ? ['-6'] : []), 'addr', 'add', cidr, 'dev', ifname, ...(v6 ? ['nodad'] : [])]);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes `nfs-<pid>-...` namespaces whose creating process is gone (left by a crash or kill -9). */
export async function sweepStaleNetns(): Promise<string[]> {
  const r = await execa('ip', ['netns', 'list'], { reject: false, stdin: 'ignore' });
  const swept: string[] = [];
  for (const line of String(r.stdout).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${PREFIX}-(\\d+)-\\d+-[a-z0-9]+$`).exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    await execa('ip', ['netns', 'delete', name], { reject: false, stdin: 'ignore' });
    swept.push(name);
  }
  return swept;
}
