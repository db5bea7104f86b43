/**
 * The only module that runs `nft`. Everything else builds text or data and hands it here.
 *
 * - Scripts go through a file in a tmpfs (`nft -f FILE`), never `nft -f -`: nft 1.0.6 fails on
 *   `-f -` when stdin is a socket, which is what Node gives a child process.
 * - With `netns`, nft runs as `ip netns exec NETNS nft ...`.
 * - With `forbidHostNetns` (set by the test setup and the lab), running nft in the host's own
 *   network namespace is refused before any process starts.
 * - Failures are classified once, from nft's stderr, into stable error codes.
 */
import { statSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { NftsentryError, ErrorCodes, type ErrorCode } from '../errors.ts';

export interface NftRunnerOptions {
  /** Run inside this named network namespace (`ip netns exec`). */
  netns?: string;
  nftPath?: string;
  timeoutMs?: number;
  /** Directory for batch files; a tmpfs by default (/dev/shm when present). */
  tmpDir?: string;
  /** Refuse to run nft in the host's (PID 1's) network namespace. */
  forbidHostNetns?: boolean;
}

export interface NftResult {
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** True when the environment asks every nft runner to refuse the host namespace (tests, lab). */
export function hostNetnsForbiddenByEnv(): boolean {
  return process.env.NFTSENTRY_FORBID_HOST_NETNS === '1';
}

function nsInode(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

/**
 * The host's network namespace inodes: PID 1's (when its link is readable: not in every sandbox)
 * and NFTSENTRY_HOST_NETNS_INODE, which the test setup sets to its own so that processes it starts
 * inside namespaces still know which namespace is the host's.
 */
function hostNetnsInodes(): Set<number> {
  const hosts = new Set<number>();
  const pid1 = nsInode('/proc/1/ns/net');
  if (pid1 !== null) hosts.add(pid1);
  const fromEnv = Number(process.env.NFTSENTRY_HOST_NETNS_INODE);
  if (Number.isSafeInteger(fromEnv) && fromEnv > 0) hosts.add(fromEnv);
  return hosts;
}

/**
 * Throws E_HOST_NETNS when nft would run in the host's network namespace: the named namespace, or
 * without one the caller's own, is a host namespace. When no host namespace is known, the
 * caller's own counts as the host's (so nft must run in a named namespace).
 */
export function assertNotHostNetns(netns: string | undefined): void {
  const self = nsInode('/proc/self/ns/net');
  const target = netns ? nsInode(`/run/netns/${netns}`) : self;
  if (netns && target === null) {
    throw new NftsentryError(ErrorCodes.NETNS_FAILED, `network namespace "${netns}" does not exist`);
  }
  const hosts = hostNetnsInodes();
  if (hosts.size === 0 && self !== null) hosts.add(self);
  if (target === null || hosts.has(target)) {
    throw new NftsentryError(
      ErrorCodes.HOST_NETNS,
      'refusing to run nft in the host network namespace (tests and the lab only run nft inside namespaces they created)',
    );
  }
}

const NETNS_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** What a read through the session may contain: keywords and object names, never a separator. */
const READ_ARG = /^[A-Za-z0-9_.-]{1,64}$/;

export function classifyNftError(stderr: string): ErrorCode {
  if (/No such file or directory|does not exist/i.test(stderr)) return ErrorCodes.NFT_NOT_FOUND;
  if (/File exists/i.test(stderr)) return ErrorCodes.NFT_EXISTS;
  if (/Operation not permitted|Permission denied/i.test(stderr)) return ErrorCodes.NFT_FAILED;
  if (/syntax error|Error:/i.test(stderr)) return ErrorCodes.NFT_REJECTED;
  return ErrorCodes.NFT_FAILED;
}

export class NftRunner {
  readonly netns: string | undefined;
  private readonly nftPath: string;
  private readonly timeoutMs: number;
  private readonly tmpBase: string;
  private readonly forbidHostNetns: boolean;

  constructor(options: NftRunnerOptions = {}) {
    if (options.netns !== undefined && !NETNS_NAME.test(options.netns)) {
      throw new NftsentryError(ErrorCodes.NETNS_FAILED, `invalid network namespace name "${options.netns}"`);
    }
    this.netns = options.netns;
    this.nftPath = options.nftPath ?? 'nft';
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.tmpBase = options.tmpDir ?? (nsInode('/dev/shm') !== null ? '/dev/shm' : tmpdir());
    this.forbidHostNetns = options.forbidHostNetns ?? hostNetnsForbiddenByEnv();
  }

  /** True when this runner refuses the host's network namespace. */
  get forbidsHostNetns(): boolean {
    return this.forbidHostNetns;
  }

  /** Runs nft with the given arguments (never through a shell). */
  async run(args: readonly string[]): Promise<NftResult> {
    if (this.forbidHostNetns) assertNotHostNetns(this.netns);
    const [file, argv] = this.netns
      ? ['ip', ['netns', 'exec', this.netns, this.nftPath, ...args]]
      : [this.nftPath, [...args]];
    const started = performance.now();
    const result = await execa(file, argv, {
      reject: false,
      timeout: this.timeoutMs,
      stdin: 'ignore',
      stripFinalNewline: false,
      env: { LC_ALL: 'C' },
    });
    const durationMs = performance.now() - started;
    if (result.timedOut) {
      throw new NftsentryError(ErrorCodes.NFT_TIMEOUT, `nft ${args[0] ?? ''} did not finish within ${this.timeoutMs} ms`, {
        details: { args },
      });
    }
    const spawnFailed = (result as { code?: string }).code === 'ENOENT' || result.exitCode === undefined;
    if (spawnFailed) {
      throw new NftsentryError(ErrorCodes.NFT_MISSING, `cannot run ${file}: is nftables installed? (${result.message})`, {
        cause: result.cause,
      });
    }
    if (result.exitCode !== 0) {
      const stderr = String(result.stderr);
      const firstLine = stderr.split('\n').find((l) => l.trim().length > 0) ?? `exit code ${result.exitCode}`;
      throw new NftsentryError(classifyNftError(stderr), `nft failed: ${firstLine}`, {
        details: { args, exitCode: result.exitCode, stderr: stderr.slice(0, 4000) },
      });
    }
    return { stdout: String(result.stdout), stderr: String(result.stderr), durationMs };
  }

  /**
   * Runs an nft script as one atomic transaction (`nft -f FILE`), or only checks it (`nft -c -f`).
   * The file lives in a private directory in a tmpfs and is removed afterwards.
   */
  async runScript(script: string, options: { check?: boolean } = {}): Promise<NftResult> {
    const dir = mkdtempSync(join(this.tmpBase, 'nftsentry-'));
    const file = join(dir, 'batch.nft');
    try {
      writeFileSync(file, script, { mode: 0o600 });
      return await this.run(options.check ? ['-c', '-f', file] : ['-f', file]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  private reader: NftSession | null = null;

  /**
   * Long-running callers (the daemon) route their `list` reads through one long-lived
   * `nft -j -i` co-process instead of a process per read: starting a process from a large Node
   * process stalls its event loop for 8-14 ms (measured under 50k alerts/s), which was the tail
   * of the API's latency. `false` closes it; reads then start processes again.
   */
  useReadSession(on: boolean): void {
    if (on && !this.reader) this.reader = openNftSession(this, { json: true });
    if (!on && this.reader) {
      this.reader.close();
      this.reader = null;
    }
  }

  /** `nft -j ARGS...`, parsed. A plain `list` goes through the read session when there is one. */
  async json(args: readonly string[]): Promise<NftJson> {
    if (this.reader && args[0] === 'list' && args.every((a) => READ_ARG.test(a))) return this.reader.list(args);
    const { stdout } = await this.run(['-j', ...args]);
    try {
      return JSON.parse(stdout) as NftJson;
    } catch (err) {
      throw new NftsentryError(ErrorCodes.NFT_FAILED, 'nft -j printed something that is not JSON', { cause: err });
    }
  }
}

/** nft's JSON output: `{ nftables: [ { metainfo }, { table }, { set }, ... ] }`. */
export interface NftJson {
  nftables: Array<Record<string, unknown>>;
}

/**
 * A long-lived `nft -i` co-process, for small transactions where starting nft would dominate
 * (about 0.2 ms per transaction instead of about 6 ms; see docs/engine.md). Each call sends its
 * statements as one line (one line of `nft -i` is one transaction), followed by a sentinel line
 * that nft always refuses; nft's answer to the sentinel on stderr marks the end of the answer to
 * the transaction, and any `Error:` before it belongs to the transaction. Calls are serialised.
 * A dead or timed-out co-process is replaced on the next call. Large transactions belong in
 * `NftRunner.runScript` (nft's line editor is slow on very long lines).
 *
 * `nft -i` is GNU readline: it keeps every distinct line it reads in its history (about 140 bytes
 * plus the line, measured; for a daemon that runs for months this is a leak) and writes that
 * history to `$HOME/.nft.history` when it exits, after reading the whole file at start. Without
 * HOME that was `/.nft.history`, growing across restarts and holding banned addresses. So the
 * co-process gets HOME=/dev/null (nothing can be read or written under it), and it is replaced
 * after `recycleBytes` of input (16 MiB by default: the next call starts a fresh one).
 */
export class NftSession {
  private readonly runner: NftRunner;
  private readonly argv: [string, string[]];
  private readonly timeoutMs: number;
  private child: ChildProcess | null = null;
  private stderr = '';
  /** JSON mode (`nft -j -i`, for `list`): stdout's lines, one per successful command. */
  private readonly json: boolean;
  private stdout = '';
  private lineWaiter: (() => void) | null = null;
  private seq = 0;
  private waiter: { token: string; resolve: (err: string) => void } | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly recycleBytes: number;
  /** Input written to the current co-process. */
  private bytesIn = 0;
  /** Co-processes started so far. */
  private started = 0;

  constructor(runner: NftRunner, argv: [string, string[]], timeoutMs: number, json = false, recycleBytes = 16 << 20) {
    this.runner = runner;
    this.argv = argv;
    this.timeoutMs = timeoutMs;
    this.json = json;
    this.recycleBytes = recycleBytes;
  }

  /** The running co-process's pid, and how many have been started (for tests and status). */
  get processInfo(): { pid: number | null; started: number } {
    return { pid: this.running ? (this.child!.pid ?? null) : null, started: this.started };
  }

  /**
   * JSON mode only: runs one `list` command and parses its answer, the one line nft prints on
   * stdout for it (nothing when it fails: the error is on stderr, before the sentinel's).
   */
  list(args: readonly string[]): Promise<NftJson> {
    const next = this.chain.then(async () => {
      await this.runNow([args.join(' ')]);
      const line = await this.nextLine();
      this.recycleIfDue();
      try {
        return JSON.parse(line) as NftJson;
      } catch (err) {
        throw new NftsentryError(ErrorCodes.NFT_FAILED, 'nft -j -i printed something that is not JSON', { cause: err });
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  private nextLine(): Promise<string> {
    return new Promise((resolve, reject) => {
      const take = (): boolean => {
        const at = this.stdout.indexOf('\n');
        if (at < 0) return false;
        const line = this.stdout.slice(0, at);
        this.stdout = this.stdout.slice(at + 1);
        resolve(line);
        return true;
      };
      if (take()) return;
      const timer = setTimeout(() => {
        this.lineWaiter = null;
        this.close();
        reject(new NftsentryError(ErrorCodes.NFT_TIMEOUT, `nft -j -i printed no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.lineWaiter = () => {
        if (take()) {
          clearTimeout(timer);
          this.lineWaiter = null;
        }
      };
    });
  }

  /** Runs the statements as one transaction. Same errors as `NftRunner.run`. */
  run(statements: readonly string[]): Promise<NftResult> {
    const next = this.chain.then(async () => {
      const result = await this.runNow(statements);
      this.recycleIfDue();
      return result;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** readline's history grows with every distinct line: past `recycleBytes`, a fresh co-process on the next call. */
  private recycleIfDue(): void {
    if (this.bytesIn >= this.recycleBytes) this.close();
  }

  /** True while the co-process is running. */
  get running(): boolean {
    return this.child !== null && this.child.exitCode === null;
  }

  close(): void {
    const c = this.child;
    this.child = null;
    // A call still waiting on it gets its answer now (its output is ignored from here on).
    const w = this.waiter;
    this.waiter = null;
    w?.resolve('\u0000exited');
    if (c && c.exitCode === null) {
      c.stdin?.end();
      c.kill('SIGTERM');
    }
  }

  private spawnChild(): ChildProcess {
    if (this.runner.forbidsHostNetns) assertNotHostNetns(this.runner.netns);
    const child = spawn(this.argv[0], this.argv[1], {
      stdio: ['pipe', this.json ? 'pipe' : 'ignore', 'pipe'],
      env: { LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/dev/null' },
    });
    this.started++;
    this.bytesIn = 0;
    this.stderr = '';
    this.stdout = '';
    if (this.json) {
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (d: string) => {
        if (this.child !== child) return; // a replaced co-process (recycled, timed out)
        this.stdout += d;
        // Only a chunk with a newline can complete the line (a large set's line is megabytes).
        if (d.includes('\n')) this.lineWaiter?.();
      });
    }
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      if (this.child !== child) return;
      this.stderr += d;
      this.check();
    });
    child.on('error', () => undefined);
    child.stdin!.on('error', () => undefined);
    child.on('exit', () => {
      // A co-process closed on purpose (recycled) may exit while its successor has a call waiting.
      if (this.child !== child) return;
      this.child = null;
      const w = this.waiter;
      this.waiter = null;
      w?.resolve('\u0000exited');
    });
    return child;
  }

  private check(): void {
    const w = this.waiter;
    if (!w) return;
    const at = this.stderr.indexOf(`\n${w.token}\n`);
    if (at < 0) return;
    let chunk = this.stderr.slice(0, at);
    this.stderr = this.stderr.slice(at + w.token.length + 2);
    // Drop the sentinel's own "Error:" line, and the caret line left over from the previous one.
    chunk = chunk.slice(0, Math.max(0, chunk.lastIndexOf('Error:')));
    chunk = chunk.replace(/^(?:[ \t^~]*\n)+/, '');
    this.waiter = null;
    w.resolve(chunk);
  }

  private async runNow(statements: readonly string[]): Promise<NftResult> {
    const started = performance.now();
    if (!this.child || this.child.exitCode !== null) this.child = this.spawnChild();
    const child = this.child;
    const token = `nftsentry_sync_${process.pid}_${++this.seq}`;
    const line = statements.join('; ').replace(/\n/g, ' ');
    const answer = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        this.close();
        resolve('\u0000timeout');
      }, this.timeoutMs);
      this.waiter = {
        token,
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
      };
      const input = `${line}\n${token}\n`;
      this.bytesIn += input.length;
      child.stdin!.write(input);
    });
    const durationMs = performance.now() - started;
    if (answer === '\u0000timeout') {
      throw new NftsentryError(ErrorCodes.NFT_TIMEOUT, `nft -i did not answer within ${this.timeoutMs} ms`);
    }
    if (answer === '\u0000exited') {
      throw new NftsentryError(ErrorCodes.NFT_FAILED, 'nft -i exited (is nftables installed?)');
    }
    if (/Error:/.test(answer)) {
      const firstLine = answer.split('\n').find((l) => l.includes('Error:')) ?? answer;
      throw new NftsentryError(classifyNftError(answer), `nft failed: ${firstLine.trim()}`, { details: { stderr: answer.slice(0, 4000) } });
    }
    return { stdout: '', stderr: answer, durationMs };
  }
}

/**
 * Opens a long-lived `nft -i` for this runner's namespace (see NftSession); `json`: `nft -j -i`,
 * for `NftSession.list`.
 */
export function openNftSession(
  runner: NftRunner, options: { nftPath?: string; timeoutMs?: number; json?: boolean; recycleBytes?: number } = {},
): NftSession {
  const nft = options.nftPath ?? 'nft';
  const flags = options.json ? ['-j', '-i'] : ['-i'];
  const argv: [string, string[]] = runner.netns ? ['ip', ['netns', 'exec', runner.netns, nft, ...flags]] : [nft, flags];
  return new NftSession(runner, argv, options.timeoutMs ?? 30_000, options.json ?? false, options.recycleBytes);
}
