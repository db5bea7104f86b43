/**
 * How one lane's element batches reach nft (cs-firewall-bouncer's Backend, reduced to one call).
 * The nft transport sends small batches through the lane's own long-lived `nft -i` and large ones
 * as a script (`nft -f`), each batch one transaction. When nft refuses a batch for one bad
 * element, the batch is split in halves until the bad element is alone, so the good ones still
 * land; a missing table or set is not split (the self-healing puts it back). The dry-run
 * transport sends nothing.
 */
import { ErrorCodes, isNftsentryError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { kernelRefreshesInPlace } from '../nft/refresh-probe.ts';
import { batchSize, type ElementBatch, type ElementChange, elementScript, elementStatements } from '../nft/elements.ts';
import type { Nft, NftTransactions } from '../nft/nft.ts';

export interface ApplyOutcome {
  /** Transactions sent (more than one only when a batch had to be split). */
  transactions: number;
  /** Element changes nft refused (each alone in its own transaction). */
  refused: ElementChange[];
  durationMs: number;
}

export interface LaneTransport {
  /** The batch, split around elements nft refuses. */
  apply(batch: ElementBatch): Promise<ApplyOutcome>;
  /** The batch as exactly one transaction (probes, restore): any refusal throws. */
  send(batch: ElementBatch): Promise<void>;
  /** Starts what the first batch would otherwise start (the co-process), with `probe` as its first transaction. */
  warm(probe: ElementBatch): Promise<void>;
  /**
   * The batch followed by the removal of every element it names, as one transaction: nft parses
   * and the kernel commits what a real batch would, and the sets end as they were (the warm-up).
   */
  rehearse(batch: ElementBatch): Promise<void>;
  /** True while the co-process runs (always true without one). */
  readonly running: boolean;
  close(): void;
}

export class DryRunTransport implements LaneTransport {
  readonly running = true;
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  async apply(batch: ElementBatch): Promise<ApplyOutcome> {
    await this.send(batch);
    return { transactions: 0, refused: [], durationMs: 0 };
  }

  async send(batch: ElementBatch): Promise<void> {
    if (this.log.isLevelEnabled('debug')) {
      const statements = elementStatements(batch).map((s) => s.slice(0, 200));
      this.log.debug({ dryRun: true, statements }, 'dry run: nft not touched');
    }
  }

  async warm(): Promise<void> {}

  async rehearse(): Promise<void> {}

  close(): void {}
}

function split(batch: ElementBatch): [ElementBatch, ElementBatch] {
  type Tagged = ['add' | 'refresh' | 'remove', ElementChange];
  const all: Tagged[] = [
    ...(batch.remove ?? []).map((e): Tagged => ['remove', e]),
    ...(batch.refresh ?? []).map((e): Tagged => ['refresh', e]),
    ...(batch.add ?? []).map((e): Tagged => ['add', e]),
  ];
  const half = Math.ceil(all.length / 2);
  const make = (part: Tagged[]): ElementBatch => ({
    remove: part.filter((p) => p[0] === 'remove').map((p) => p[1]),
    refresh: part.filter((p) => p[0] === 'refresh').map((p) => p[1]),
    add: part.filter((p) => p[0] === 'add').map((p) => p[1]),
  });
  return [make(all.slice(0, half)), make(all.slice(half))];
}

export class NftTransport implements LaneTransport {
  private readonly nft: Nft;
  /** null: every batch as a script. */
  private readonly session: NftTransactions | null;
  /** Largest batch sent through the session; larger ones go as a script. */
  private readonly sessionMax: number;
  private readonly log: Logger;
  /** Whether a refresh is one re-add (the kernel updates the timeout and keeps the counter). */
  private inPlace = false;

  private readonly refreshProbe: (nft: Nft) => Promise<boolean>;

  constructor(
    nft: Nft,
    session: NftTransactions | null,
    sessionMax: number,
    log: Logger,
    refreshProbe: (nft: Nft) => Promise<boolean> = kernelRefreshesInPlace,
  ) {
    this.refreshProbe = refreshProbe;
    this.nft = nft;
    this.session = session;
    this.sessionMax = sessionMax;
    this.log = log;
  }

  get running(): boolean {
    return this.session?.running ?? true;
  }

  async apply(batch: ElementBatch): Promise<ApplyOutcome> {
    const started = performance.now();
    const outcome: ApplyOutcome = { transactions: 0, refused: [], durationMs: 0 };
    await this.applyOrSplit(batch, outcome);
    outcome.durationMs = performance.now() - started;
    return outcome;
  }

  async send(batch: ElementBatch): Promise<void> {
    const n = batchSize(batch);
    if (n === 0) return;
    if (this.session && n <= this.sessionMax) await this.session.run(elementStatements(batch, this.inPlace));
    else await this.nft.runScript(elementScript(batch, this.inPlace));
  }

  async warm(probe: ElementBatch): Promise<void> {
    await this.session?.run(elementStatements(probe));
    this.inPlace = await this.refreshProbe(this.nft);
    this.log.debug({ refreshInPlace: this.inPlace }, 'refresh of a ban: one re-add when the kernel updates timeouts');
  }

  async rehearse(batch: ElementBatch): Promise<void> {
    const all = [...(batch.remove ?? []), ...(batch.refresh ?? []), ...(batch.add ?? [])];
    if (all.length === 0) return;
    const statements = [...elementStatements(batch, this.inPlace), ...elementStatements({ remove: all })];
    if (this.session && all.length <= this.sessionMax) await this.session.run(statements);
    else await this.nft.runScript(`${statements.join('\n')}\n`);
  }

  close(): void {
    this.session?.close();
  }

  private async applyOrSplit(batch: ElementBatch, outcome: ApplyOutcome): Promise<void> {
    const n = batchSize(batch);
    if (n === 0) return;
    outcome.transactions++;
    try {
      await this.send(batch);
    } catch (err) {
      if (!isNftsentryError(err, ErrorCodes.NFT_REJECTED) && !isNftsentryError(err, ErrorCodes.NFT_EXISTS)) throw err;
      if (n === 1) {
        const one = [...(batch.remove ?? []), ...(batch.refresh ?? []), ...(batch.add ?? [])][0]!;
        this.log.warn({ set: one.set, key: one.key, err: err.message }, 'nft refused an element');
        outcome.refused.push(one);
        return;
      }
      const [a, b] = split(batch);
      await this.applyOrSplit(a, outcome);
      await this.applyOrSplit(b, outcome);
    }
  }
}
