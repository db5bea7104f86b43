/**
 * A long-lived `nft -i` co-process, for small transactions where starting nft would dominate
 * (docs/engine.md has the numbers). Each call sends its statements as one line (one line of
 * `nft -i` is one transaction), followed by a sentinel line that nft always refuses; nft's answer
 * to the sentinel on stderr marks the end of the answer to the transaction, and any `Error:`
 * before it belongs to the transaction. Calls are serialised. A dead or timed-out co-process is
 * replaced on the next call. Large transactions belong in `NftRunner.runScript` (nft's line
 * editor is slow on very long lines).
 *
 * JSON mode (`nft -j -i`) serves `list` reads: nft prints one stdout line per successful command,
 * and nothing for a failed one (its error is on stderr, before the sentinel's).
 *
 * `nft -i` is GNU readline: it keeps every distinct line it reads in its history, in memory, for
 * as long as it runs (for a daemon that runs for months, a leak). So the co-process is replaced
 * after `recycleBytes` of input (16 MiB by default: the next call starts a fresh one), and it
 * runs with HOME=/dev/null so that no history file is read or written (exec.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { NftsentryError, ErrorCodes } from '../errors.ts';
import { nftExecConfig, nftFailure, spawnNft, type NftExecConfig, type NftExecOptions } from './exec.ts';
import type { NftJson, NftResult, NftTransactions } from './nft.ts';
import { withinMs } from '../deadline.ts';

export interface NftSessionOptions {
  /** `nft -j -i`, for `list` (NftSession.list). */
  json?: boolean;
  /** Input after which the co-process is replaced (readline's history grows with every line). */
  recycleBytes?: number;
}

const EXITED = '\u0000exited';
const TIMED_OUT = '\u0000timeout';

export class NftSession implements NftTransactions {
  private readonly exec: NftExecConfig;
  private readonly json: boolean;
  private readonly recycleBytes: number;
  private child: ChildProcess | null = null;
  private stderr = '';
  /** JSON mode: stdout not yet taken, one line per successful command. */
  private stdout = '';
  private lineWaiter: (() => void) | null = null;
  /** listText's receiver of stdout until the line ends. */
  private sink: { piece: (piece: string) => void; end: () => void; failed: { err: unknown } | null } | null = null;
  private seq = 0;
  private waiter: { token: string; resolve: (answer: string) => void } | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  /** Input written to the current co-process. */
  private bytesIn = 0;
  /** Co-processes started so far. */
  private started = 0;
  /** Closed for good: a call still queued gets an error, not a fresh co-process. */
  private closed = false;

  constructor(exec: NftExecConfig, options: NftSessionOptions = {}) {
    this.exec = exec;
    this.json = options.json ?? false;
    this.recycleBytes = options.recycleBytes ?? 16 << 20;
  }

  /** The running co-process's pid, and how many have been started (for tests and status). */
  get processInfo(): { pid: number | null; started: number } {
    return { pid: this.running ? (this.child!.pid ?? null) : null, started: this.started };
  }

  /** True while the co-process is running. */
  get running(): boolean {
    return this.child !== null && this.child.exitCode === null;
  }

  /** Runs the statements as one transaction. Same errors as `NftRunner.run`. */
  run(statements: readonly string[]): Promise<NftResult> {
    return this.serialised(async () => {
      const result = await this.runNow(statements);
      this.recycleIfDue();
      return result;
    });
  }

  /** JSON mode only: runs one `list` command and parses the one line nft prints for it. */
  list(args: readonly string[]): Promise<NftJson> {
    return this.serialised(async () => {
      await this.runNow([args.join(' ')]);
      const line = await this.nextLine();
      this.recycleIfDue();
      try {
        return JSON.parse(line) as NftJson;
      } catch (err) {
        throw new NftsentryError(ErrorCodes.NFT_FAILED, 'nft -j -i printed something that is not JSON', { cause: err });
      }
    });
  }

  /**
   * JSON mode only: runs one `list` command and hands nft's line for it to `sink` in pieces as they
   * come, without the newline; the line is never held whole. A sink that throws ends the call with
   * its error once nft's line is over.
   */
  listText(args: readonly string[], sink: (piece: string) => void): Promise<void> {
    return this.serialised(async () => {
      const ended = new Promise<void>((end) => {
        this.sink = { piece: sink, end, failed: null };
      });
      const receiver = this.sink!;
      try {
        await this.runNow([args.join(' ')]);
        await this.withinTimeout(ended);
      } finally {
        this.sink = null;
      }
      this.recycleIfDue();
      if (receiver.failed) throw receiver.failed.err;
    });
  }

  /** Ends the co-process for good: calls still queued or made later fail (E_NFT_CLOSED). */
  close(): void {
    this.closed = true;
    this.endChild();
  }

  /** Ends the current co-process; the next call starts a fresh one (recycling, a timeout). */
  private endChild(): void {
    const c = this.child;
    this.child = null;
    // A call still waiting on it gets its answer now (its output is ignored from here on).
    const w = this.waiter;
    this.waiter = null;
    w?.resolve(EXITED);
    if (c && c.exitCode === null) {
      c.stdin?.end();
      c.kill('SIGTERM');
    }
  }

  private serialised<T>(call: () => Promise<T>): Promise<T> {
    const next = this.chain.then(call);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private recycleIfDue(): void {
    if (this.bytesIn >= this.recycleBytes) this.endChild();
  }

  private nextLine(): Promise<string> {
    const line = new Promise<string>((resolve) => {
      const take = (): boolean => {
        const at = this.stdout.indexOf('\n');
        if (at < 0) return false;
        resolve(this.stdout.slice(0, at));
        this.stdout = this.stdout.slice(at + 1);
        return true;
      };
      if (take()) return;
      this.lineWaiter = () => {
        if (take()) this.lineWaiter = null;
      };
    });
    return this.withinTimeout(line);
  }

  /** stdout for listText: up to the newline to the sink, the rest kept. */
  private feedSink(d: string): void {
    const receiver = this.sink!;
    const at = d.indexOf('\n');
    try {
      if (!receiver.failed && at !== 0) receiver.piece(at < 0 ? d : d.slice(0, at));
    } catch (err) {
      receiver.failed = { err };
    }
    if (at < 0) return;
    this.sink = null;
    this.stdout += d.slice(at + 1);
    receiver.end();
  }

  /** `answer` unless the timeout comes first: then the co-process is ended. */
  private withinTimeout<T>(answer: Promise<T>): Promise<T> {
    return withinMs(answer, this.exec.timeoutMs, () => {
      this.lineWaiter = null;
      this.endChild();
      return new NftsentryError(ErrorCodes.NFT_TIMEOUT, `nft -j -i printed no answer within ${this.exec.timeoutMs} ms`);
    });
  }

  private spawnChild(): ChildProcess {
    const child = spawnNft(this.exec, this.json ? ['-j', '-i'] : ['-i'], { stdout: this.json });
    this.started++;
    this.bytesIn = 0;
    this.stderr = '';
    this.stdout = '';
    if (this.json) {
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (d: string) => {
        if (this.child !== child) return; // a replaced co-process (recycled, timed out)
        if (this.sink) return this.feedSink(d);
        this.stdout += d;
        // Only a chunk with a newline can complete the line (a large set's line is megabytes).
        if (d.includes('\n')) this.lineWaiter?.();
      });
    }
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      if (this.child !== child) return;
      this.stderr += d;
      this.takeAnswer();
    });
    child.on('error', () => undefined);
    child.stdin!.on('error', () => undefined);
    child.on('exit', () => {
      // A co-process closed on purpose (recycled) may exit while its successor has a call waiting.
      if (this.child !== child) return;
      this.child = null;
      const w = this.waiter;
      this.waiter = null;
      w?.resolve(EXITED);
    });
    return child;
  }

  /** Hands the waiting call everything on stderr before its sentinel's error. */
  private takeAnswer(): void {
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
    if (this.closed) throw new NftsentryError(ErrorCodes.NFT_CLOSED, 'nft -i session is closed');
    if (!this.child || this.child.exitCode !== null) this.child = this.spawnChild();
    const child = this.child;
    const token = `nftsentry_sync_${process.pid}_${++this.seq}`;
    const line = statements.join('; ').replace(/\n/g, ' ');
    const answer = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        this.endChild();
        resolve(TIMED_OUT);
      }, this.exec.timeoutMs);
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
    if (answer === TIMED_OUT) {
      throw new NftsentryError(ErrorCodes.NFT_TIMEOUT, `nft -i did not answer within ${this.exec.timeoutMs} ms`);
    }
    if (answer === EXITED) {
      throw new NftsentryError(ErrorCodes.NFT_FAILED, 'nft -i exited (is nftables installed?)');
    }
    if (/Error:/.test(answer)) throw nftFailure(answer, answer);
    return { stdout: '', stderr: answer, durationMs };
  }
}

/** What openNftSession needs of a runner: where and how its nft runs. */
export interface HasExecConfig {
  readonly execConfig: NftExecConfig;
}

/**
 * Opens a long-lived `nft -i` (`json`: `nft -j -i`) with the runner's namespace, nft path,
 * timeout and guard; `nftPath` and `timeoutMs` override the runner's.
 */
export function openNftSession(
  runner: HasExecConfig,
  options: Pick<NftExecOptions, 'nftPath' | 'timeoutMs'> & NftSessionOptions = {},
): NftSession {
  const { nftPath, timeoutMs, ...session } = options;
  const exec = nftExecConfig({
    ...runner.execConfig,
    ...(nftPath === undefined ? {} : { nftPath }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  return new NftSession(exec, session);
}
