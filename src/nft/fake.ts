/**
 * An in-memory nft behind the Nft interface, for tests that should not need root or a network
 * namespace (the engine, the flusher, reconcile, operations), in the spirit of knftables'
 * fake.go. It keeps its own tables and answers `list` from them; it understands what nftsentry
 * sends (the rendered ruleset, its upgrade, element batches, flush and delete) and fails the way
 * nft does, with the same error codes and messages (without a script's file location). Every
 * script and every `nft -i` line is one atomic transaction. test/kernel/fake-agrees.test.ts runs
 * the same operations against the real kernel and this, and compares what they read back.
 *
 * Element timeouts run on `clock` (milliseconds; performance.now by default): an element whose
 * time is up disappears from lists and lookups. Test hooks: `transactions` (every write sent, as
 * its statements, whether it succeeded or not), `failNext`, `setCounter`.
 */
import { NftsentryError, ErrorCodes, type ErrorCode } from '../errors.ts';
import { nftFailure } from './exec.ts';
import { listJson, listText, METAINFO } from './fake-list.ts';
import { emptyRuleset, type FakeRuleset } from './fake-state.ts';
import { parseCommands, type Command } from './fake-syntax.ts';
import { FakeTransaction } from './fake-txn.ts';
import { NftInputError } from './fake-values.ts';
import type { Nft, NftJson, NftResult, NftTransactions } from './nft.ts';

export interface FakeNftOptions {
  /** Milliseconds, for element timeouts; performance.now by default. */
  clock?: () => number;
  /** Reported as the namespace nft runs in (nothing runs anywhere). */
  netns?: string;
}

/** Which calls an injected failure hits: writes (transactions), reads (`list`), or either. */
export type FailOn = 'write' | 'read' | 'any';

/** The first line nft prints for an error of each code, for injected failures. */
const INJECTED: Partial<Record<ErrorCode, string>> = {
  [ErrorCodes.NFT_NOT_FOUND]: 'Error: Could not process rule: No such file or directory',
  [ErrorCodes.NFT_EXISTS]: 'Error: Could not process rule: File exists',
  [ErrorCodes.NFT_REJECTED]: 'Error: syntax error, unexpected junk',
  [ErrorCodes.NFT_FAILED]: 'Error: Could not process rule: Operation not permitted',
};

/** Answers come on a later turn of the event loop, as a process's would: nothing changes synchronously. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The length of jsonText's pieces. */
const TEXT_PIECE = 997;

export class FakeNft implements Nft {
  readonly netns: string | undefined;
  /** Every write transaction sent (scripts, `nft -i` lines, one-shot commands), as its statements. */
  readonly transactions: string[][] = [];
  private state: FakeRuleset = emptyRuleset();
  private readonly clock: () => number;
  private failures: Array<{ code: ErrorCode; on: FailOn }> = [];

  constructor(options: FakeNftOptions = {}) {
    this.clock = options.clock ?? (() => performance.now());
    this.netns = options.netns;
  }

  /** The next `count` calls that `on` matches fail with `code`, before touching anything. */
  failNext(code: ErrorCode, count = 1, on: FailOn = 'write'): void {
    for (let i = 0; i < count; i++) this.failures.push({ code, on });
  }

  /** Sets a named counter's values, as packets matching its rules would (the counter must exist). */
  setCounter(name: string, packets: number, bytes: number, table = 'inet nftsentry'): void {
    const c = this.state.tables.get(table)?.counters.get(name);
    if (!c) throw new Error(`FakeNft.setCounter: no counter ${name} in table ${table}`);
    c.packets = packets;
    c.bytes = bytes;
  }

  async run(args: readonly string[]): Promise<NftResult> {
    await nextTurn();
    const flags = new Set<string>();
    let i = 0;
    for (; i < args.length && /^-[a-z]$/.test(args[i]!); i++) flags.add(args[i]!);
    for (const f of flags)
      if (!['-j', '-t', '-c'].includes(f)) throw this.failure(`Error: FakeNft does not take option ${f}`, '');
    const text = args.slice(i).join(' ');
    if (args[i] === 'list') return this.list(text, flags.has('-j'), flags.has('-t'));
    return this.transact(text, [text], flags.has('-c'));
  }

  async runScript(script: string, options: { check?: boolean } = {}): Promise<NftResult> {
    await nextTurn();
    return this.transact(script, null, options.check ?? false);
  }

  async json(args: readonly string[]): Promise<NftJson> {
    const { stdout } = await this.run(['-j', ...args]);
    try {
      return JSON.parse(stdout) as NftJson;
    } catch (err) {
      throw new NftsentryError(ErrorCodes.NFT_FAILED, 'nft -j printed something that is not JSON', { cause: err });
    }
  }

  /**
   * What `json` answers, printed as nft would, in pieces of an odd length so that readers see
   * tokens cut at any place.
   */
  async jsonText(args: readonly string[], sink: (piece: string) => void): Promise<void> {
    const text = JSON.stringify(await this.json(args));
    for (let at = 0; at < text.length; at += TEXT_PIECE) sink(text.slice(at, at + TEXT_PIECE));
  }

  openSession(): NftTransactions {
    return new FakeSession(this);
  }

  /** Reads never start a process here: nothing to route. */
  useReadSession(_on: boolean): void {}

  /** One `nft -i` line (FakeSession). */
  async runLine(statements: readonly string[]): Promise<NftResult> {
    await nextTurn();
    return this.transact(statements.join('; ').replace(/\n/g, ' '), [...statements], false);
  }

  /** Throws the next injected failure that `kind` matches, if there is one. */
  private injected(kind: 'write' | 'read'): void {
    const at = this.failures.findIndex((f) => f.on === 'any' || f.on === kind);
    if (at < 0) return;
    const { code } = this.failures.splice(at, 1)[0]!;
    throw new NftsentryError(code, `nft failed: ${INJECTED[code] ?? code} (FakeNft.failNext)`);
  }

  private failure(stderr: string, fallback: string): NftsentryError {
    return nftFailure(stderr, fallback);
  }

  private parse(source: string): Command[] {
    try {
      return parseCommands(source);
    } catch (err) {
      if (err instanceof NftInputError) throw this.failure(`Error: ${err.message}\n`, '');
      throw err;
    }
  }

  private transact(source: string, statements: string[] | null, check: boolean): NftResult {
    const started = performance.now();
    let commands: Command[] = [];
    try {
      commands = this.parse(source);
    } finally {
      if (!check)
        this.transactions.push(statements ?? (commands.length > 0 ? commands.map((c) => c.text) : [source.trim()]));
    }
    if (!check) this.injected('write');
    const txn = new FakeTransaction(this.state, this.clock());
    const failed = txn.run(commands);
    if (failed) throw this.failure(`Error: ${failed.message}\n${failed.command}\n`, '');
    if (!check) this.state = txn.work;
    return { stdout: '', stderr: '', durationMs: performance.now() - started };
  }

  private list(text: string, json: boolean, terse: boolean): NftResult {
    const started = performance.now();
    this.injected('read');
    const [cmd] = this.parse(text);
    if (cmd?.kind !== 'list') throw this.failure(`Error: syntax error, unexpected list\n${text}\n`, '');
    const options = { now: this.clock(), terse };
    try {
      const stdout = json
        ? `${JSON.stringify({ nftables: [METAINFO, ...listJson(this.state, cmd, options)] })}\n`
        : listText(this.state, cmd, options);
      return { stdout, stderr: '', durationMs: performance.now() - started };
    } catch (err) {
      if (err instanceof NftInputError) throw this.failure(`Error: ${err.message}\n${text}\n`, '');
      throw err;
    }
  }
}

/**
 * A fake `nft -i`: its lines are transactions on the fake's state. Like the real session it
 * runs one call at a time, is `running` from its first call until `close`, and refuses every
 * call after `close` (E_NFT_CLOSED).
 */
export class FakeSession implements NftTransactions {
  private readonly nft: FakeNft;
  private open = false;
  private closed = false;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(nft: FakeNft) {
    this.nft = nft;
  }

  get running(): boolean {
    return this.open;
  }

  run(statements: readonly string[]): Promise<NftResult> {
    this.open = true;
    const next = this.chain.then(() => {
      if (this.closed) throw new NftsentryError(ErrorCodes.NFT_CLOSED, 'nft -i session is closed');
      return this.nft.runLine(statements);
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.open = false;
    this.closed = true;
  }
}
