/**
 * The base ruleset as the daemon keeps it loaded: applied at start, on reload, when the allowlist
 * changes and when self-healing finds it damaged, always with the effective allowlist (config
 * entries and the API's). Remembers when it was last applied (status, readiness) and the table's
 * shape right after (nft/table-shape.ts): what self-healing expects the kernel to hold.
 */
import type { Clock } from '../clock.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { IpPrefix } from '../net/ip.ts';
import { applyRuleset } from '../nft/apply.ts';
import type { Nft } from '../nft/nft.ts';
import { readTableShape, type TableShape } from '../nft/table-shape.ts';

export class BaseRuleset {
  private readonly nft: Nft;
  private readonly log: Logger;
  private readonly clock: Clock;
  private appliedMs: number | null = null;
  private shape: TableShape | null = null;
  private applies = 0;
  private inFlight = 0;

  constructor(nft: Nft, log: Logger, clock: Clock) {
    this.nft = nft;
    this.log = log;
    this.clock = clock;
  }

  /** When it was last applied (wall clock, ms); null: not yet. */
  get appliedAtMs(): number | null {
    return this.appliedMs;
  }

  /** The table's shape read right after the last apply; null before, or when that read failed. */
  get expectedShape(): TableShape | null {
    return this.shape;
  }

  /**
   * Counts every start and every end of an apply. A reader of the kernel that finds it unchanged
   * after its read, and `applying` false, knows that no apply overlapped the read.
   */
  get epoch(): number {
    return this.applies;
  }

  get applying(): boolean {
    return this.inFlight > 0;
  }

  /** One `nft -f` transaction; ban set elements are kept. Then the expected shape is read. */
  async apply(config: Readonly<Config>, allow: readonly IpPrefix[]): Promise<void> {
    this.applies++;
    this.inFlight++;
    try {
      await applyRuleset({ ...config, allowlist: [...allow] }, { runner: this.nft, log: this.log });
      this.appliedMs = this.clock();
      try {
        this.shape = await readTableShape(this.nft);
      } catch (err) {
        this.shape = null;
        this.log.warn({ err: (err as Error).message }, 'cannot read the table back after the apply');
      }
    } finally {
      this.applies++;
      this.inFlight--;
    }
  }
}
