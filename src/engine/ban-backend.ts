/**
 * Where element batches go (cs-firewall-bouncer's Backend, reduced to one call): nft, or nothing
 * in dry-run mode. The nft backend sends small batches through the long-lived `nft -i` and large
 * ones through a file in a tmpfs (`nft -f`), each batch one transaction. When nft refuses a batch
 * for one bad element, the batch is split in halves until the bad element is alone, so the good
 * ones still land; a missing table or set is not split (the self-healing puts it back).
 */
import { isNftsentryError, ErrorCodes } from '../errors.ts';
import type { Logger } from '../log.ts';
import { batchSize, elementScript, elementStatements, type ElementBatch, type ElementChange } from '../nft/elements.ts';
import type { Nft, NftTransactions } from '../nft/nft.ts';
import { PROBE } from './kernel-sync.ts';
import type { Lane } from './ban-flusher.ts';

export interface ApplyOutcome {
  /** Transactions sent (more than one only when a batch had to be split). */
  transactions: number;
  /** Element changes nft refused (each alone in its own transaction). */
  refused: ElementChange[];
  durationMs: number;
}

export interface BanBackend {
  readonly dryRun: boolean;
  /**
   * `lane` 'manual': API and CLI operations, through their own co-process; 'backlog2': the
   * second backlog co-process when the flusher pipelines (see BanFlusher).
   */
  apply(batch: ElementBatch, lane?: Lane): Promise<ApplyOutcome>;
  /** Starts what the first batch would otherwise start (the `nft -i` co-process), at daemon start. */
  warm(): Promise<void>;
  close(): void;
}

export class DryRunBackend implements BanBackend {
  readonly dryRun = true;
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  async apply(batch: ElementBatch): Promise<ApplyOutcome> {
    if (this.log.isLevelEnabled('debug')) {
      this.log.debug({ dryRun: true, statements: elementStatements(batch).map((s) => s.slice(0, 200)) }, 'dry run: nft not touched');
    }
    return { transactions: 0, refused: [], durationMs: 0 };
  }

  async warm(): Promise<void> {}

  close(): void {}
}

function split(batch: ElementBatch): [ElementBatch, ElementBatch] {
  const all: Array<['add' | 'refresh' | 'remove', ElementChange]> = [
    ...(batch.remove ?? []).map((e) => ['remove', e] as ['remove', ElementChange]),
    ...(batch.refresh ?? []).map((e) => ['refresh', e] as ['refresh', ElementChange]),
    ...(batch.add ?? []).map((e) => ['add', e] as ['add', ElementChange]),
  ];
  const half = Math.ceil(all.length / 2);
  const make = (part: typeof all): ElementBatch => ({
    remove: part.filter((p) => p[0] === 'remove').map((p) => p[1]),
    refresh: part.filter((p) => p[0] === 'refresh').map((p) => p[1]),
    add: part.filter((p) => p[0] === 'add').map((p) => p[1]),
  });
  return [make(all.slice(0, half)), make(all.slice(half))];
}

export class NftBackend implements BanBackend {
  readonly dryRun = false;
  private readonly runner: Nft;
  private readonly session: NftTransactions | null;
  /** The manual lane's own co-process: API and CLI operations never queue behind the backlog's. */
  private readonly manualSession: NftTransactions | null;
  /** The backlog's second co-process (pipelining); the first one serves when there is none. */
  private readonly backlog2Session: NftTransactions | null;
  private readonly coprocessMax: number;
  private readonly log: Logger;

  constructor(
    runner: Nft, session: NftTransactions | null, coprocessMax: number, log: Logger,
    manualSession: NftTransactions | null = null, backlog2Session: NftTransactions | null = null,
  ) {
    this.runner = runner;
    this.session = session;
    this.manualSession = manualSession;
    this.backlog2Session = backlog2Session;
    this.coprocessMax = coprocessMax;
    this.log = log;
  }

  async apply(batch: ElementBatch, lane: Lane = 'backlog'): Promise<ApplyOutcome> {
    const started = performance.now();
    const outcome: ApplyOutcome = { transactions: 0, refused: [], durationMs: 0 };
    await this.applyOrSplit(batch, outcome, lane);
    outcome.durationMs = performance.now() - started;
    return outcome;
  }

  /** One transaction, whatever the size (also used for probes and restore). */
  async send(batch: ElementBatch, lane: Lane = 'backlog'): Promise<void> {
    const n = batchSize(batch);
    if (n === 0) return;
    const session = (lane === 'manual' ? this.manualSession : lane === 'backlog2' ? this.backlog2Session : null) ?? this.session;
    if (session && n <= this.coprocessMax) await session.run(elementStatements(batch));
    else await this.runner.runScript(elementScript(batch));
  }

  /**
   * Starts the co-process now, with the self-healing probe as its first transaction (so nft has
   * also filled its cache), so the first alert after a start does not pay for it (measured:
   * 15-25 ms, most of the p99 tail of bench/engine.ts case 2).
   */
  async warm(): Promise<void> {
    const probe = elementStatements({ remove: PROBE });
    await Promise.all([this.session?.run(probe), this.manualSession?.run(probe), this.backlog2Session?.run(probe)]);
  }

  /** True while the `nft -i` co-processes run (false without them). */
  get coprocessRunning(): boolean {
    return (this.session?.running ?? false) && (this.manualSession?.running ?? true) && (this.backlog2Session?.running ?? true);
  }

  close(): void {
    this.session?.close();
    this.manualSession?.close();
    this.backlog2Session?.close();
  }

  private async applyOrSplit(batch: ElementBatch, outcome: ApplyOutcome, lane: Lane): Promise<void> {
    const n = batchSize(batch);
    if (n === 0) return;
    outcome.transactions++;
    try {
      await this.send(batch, lane);
    } catch (err) {
      if (!isNftsentryError(err, ErrorCodes.NFT_REJECTED) && !isNftsentryError(err, ErrorCodes.NFT_EXISTS)) throw err;
      if (n === 1) {
        const one = [...(batch.remove ?? []), ...(batch.refresh ?? []), ...(batch.add ?? [])][0]!;
        this.log.warn({ set: one.set, key: one.key, err: err.message }, 'nft refused an element');
        outcome.refused.push(one);
        return;
      }
      const [a, b] = split(batch);
      await this.applyOrSplit(a, outcome, lane);
      await this.applyOrSplit(b, outcome, lane);
    }
  }
}
