/**
 * The base ruleset as the daemon keeps it loaded: applied at start, on reload, when the allowlist
 * changes and when self-healing finds it damaged, always with the effective allowlist (config
 * entries and the API's). Remembers when it was last applied (status, readiness).
 */
import type { Clock } from '../clock.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { IpPrefix } from '../net/ip.ts';
import { applyRuleset } from '../nft/apply.ts';
import type { Nft } from '../nft/nft.ts';

export class BaseRuleset {
  private readonly nft: Nft;
  private readonly log: Logger;
  private readonly clock: Clock;
  private appliedMs: number | null = null;

  constructor(nft: Nft, log: Logger, clock: Clock) {
    this.nft = nft;
    this.log = log;
    this.clock = clock;
  }

  /** When it was last applied (wall clock, ms); null: not yet. */
  get appliedAtMs(): number | null {
    return this.appliedMs;
  }

  /** One `nft -f` transaction; ban set elements are kept. */
  async apply(config: Readonly<Config>, allow: readonly IpPrefix[]): Promise<void> {
    await applyRuleset({ ...config, allowlist: [...allow] }, { runner: this.nft, log: this.log });
    this.appliedMs = this.clock();
  }
}
