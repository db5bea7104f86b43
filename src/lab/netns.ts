/**
 * Throwaway network namespaces for the lab and the tests: create, wire with veth pairs, run
 * commands inside, delete. Names carry the creating PID (`nfs-<pid>-<n>-<role>`) so that
 * namespaces left by a process that died can be told apart from live ones and swept. The prefix
 * is `NFTSENTRY_NETNS_PREFIX` when set (1-8 lower-case letters), so that runs sharing a machine
 * each sweep only their own.
 *
 * nft itself is started only by nft/exec.ts.
 */
import { execa, type ResultPromise, type Options } from 'execa';
import { NftsentryError, ErrorCodes } from '../errors.ts';

const envPrefix = process.env.NFTSENTRY_NETNS_PREFIX ?? '';
const PREFIX = /^[a-z]{1,8}$/.test(envPrefix) ? envPrefix : 'nfs';
let counter = 0;
/** Set by deleteAllNetns: no namespace may be created after cleanup began. */
let closing = false;
/** `ip netns add` calls under way, which cleanup waits for so that it sees what they made. */
const creating = new Set<Promise<unknown>>();

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
    if (closing)
      throw new NftsentryError(ErrorCodes.NETNS_FAILED, 'namespaces are being removed; not creating another');
    const ns = new Netns(`${PREFIX}-${process.pid}-${++counter}-${role}`, role);
    const adding = ip(['netns', 'add', ns.name]);
    creating.add(adding);
    try {
      await adding;
    } finally {
      creating.delete(adding);
    }
    live.add(ns);
    if (closing) {
      await ns.delete();
      throw new NftsentryError(ErrorCodes.NETNS_FAILED, 'namespaces are being removed; not creating another');
    }
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
  async exec(
    cmd: string,
    args: readonly string[],
    options: { timeoutMs?: number; input?: string } = {},
  ): Promise<ExecResult> {
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
      throw new NftsentryError(
        ErrorCodes.NETNS_FAILED,
        `[${this.role}] ${cmd} ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.exitCode}`}`,
      );
    }
    return r.stdout;
  }

  /** Starts a long-running command inside; it is killed (by PID) when the namespace is deleted. */
  spawn(cmd: string, args: readonly string[], options: Options = {}): ResultPromise {
    const child = execa('ip', ['netns', 'exec', this.name, cmd, ...args], {
      reject: false,
      stdin: 'ignore',
      ...options,
    });
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
    await deleteNetnsByName(this.name);
  }
}

/**
 * `ip netns delete`, retried for a moment while it reports busy (a process that was inside is
 * still exiting and its mount namespace still holds the namespace file). Gone already: success.
 */
async function deleteNetnsByName(name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const r = await execa('ip', ['netns', 'delete', name], { reject: false, stdin: 'ignore' });
    const stderr = String(r.stderr);
    if (r.exitCode === 0 || /No such file/.test(stderr)) return;
    if (attempt >= 20 || !/busy/i.test(stderr)) {
      throw new NftsentryError(ErrorCodes.NETNS_FAILED, `ip netns delete ${name}: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const live = new Set<Netns>();

/** Deletes every namespace this process created and has not deleted yet (for exit paths). */
export async function deleteAllNetns(): Promise<string[]> {
  closing = true;
  await Promise.allSettled([...creating]);
  const results = await Promise.allSettled([...live].map((ns) => ns.delete()));
  // Also by name: a namespace whose creation was under way when this was called is not in `live` yet.
  const r = await execa('ip', ['netns', 'list'], { reject: false, stdin: 'ignore' });
  const mine = String(r.stdout)
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${PREFIX}-${process.pid}-`));
  const byName = await Promise.allSettled(mine.map((n) => deleteNetnsByName(n)));
  return [...results, ...byName].flatMap((x) => (x.status === 'rejected' ? [String((x.reason as Error).message)] : []));
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
    throw new NftsentryError(
      ErrorCodes.NETNS_FAILED,
      `${cidr}: lab and test hosts only use 198.18.0.0/15 and 2001:db8::/32`,
    );
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
    await deleteNetnsByName(name).catch(() => undefined);
    swept.push(name);
  }
  return swept;
}
