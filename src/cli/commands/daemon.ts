/**
 * The composition root of `nftsentry run`: the one place that constructs the daemon's parts and
 * wires them. Nothing else constructs them.
 *
 *   nft ─┬─ BaseRuleset          the ruleset, applied with the effective allowlist
 *        ├─ NftLane x2-3 ─ BanFlusher ─ StoreFollower ─┐
 *        └─ KernelSync (restore, heal, scanners, lift) │
 *   Store ─ BanLedger (memory index + rows) ◄──────────┘
 *   Decider (policy, protection, thresholds) ─ Enforcer (decision -> ledger -> flusher)
 *   BanOperations (the API and CLI door)      Timers (periodic tasks)
 *
 * Start: own addresses, ruleset, restore (ledger from the store, then the kernel), co-processes,
 * timers. Stop: timers, reconcile, flush, co-processes, store; the bans stay in the kernel.
 */
import type { DaemonView } from '../../api/daemon-view.ts';
import { cachedReader } from '../../cached-reader.ts';
import { anchoredClock, type Clock, wallAnchorMs } from '../../clock.ts';
import type { Config } from '../../config/config.ts';
import { Allowlist } from '../../engine/allowlist.ts';
import { BanFlusher, type FlusherLanes } from '../../engine/ban-flusher.ts';
import { BanLedger } from '../../engine/ban-ledger.ts';
import { BanOperations } from '../../engine/ban-operations.ts';
import { BaseRuleset } from '../../engine/base-ruleset.ts';
import { Decider } from '../../engine/decider.ts';
import { Enforcer } from '../../engine/enforcer.ts';
import { PROBE } from '../../engine/kernel-bans.ts';
import { KernelSync } from '../../engine/kernel-sync.ts';
import { DryRunTransport, NftTransport } from '../../engine/lane-transport.ts';
import { NftLane } from '../../engine/nft-lane.ts';
import { readOwnAddresses } from '../../engine/own-addresses.ts';
import { StoreFollower } from '../../engine/store-follower.ts';
import { Timers } from '../../engine/timers.ts';
import { ErrorCodes, isNftsentryError } from '../../errors.ts';
import type { IngestedAlert } from '../../ingest/alert-queue.ts';
import type { Logger } from '../../log.ts';
import type { InterfaceAddress } from '../../net/subnet.ts';
import type { Nft } from '../../nft/nft.ts';
import { NftGate } from '../../nft/nft-gate.ts';
import { NftRunner } from '../../nft/runner.ts';
import { type CounterValue, readCounters } from '../../nft/state.ts';
import { Store } from '../../store/store.ts';
import { VERSION } from '../../version.ts';

export interface DaemonDeps {
  log: Logger;
  /** Default: epoch-like milliseconds on the monotonic clock (clock.ts), anchored at construction. */
  clock?: Clock;
  /** Run nft inside this named network namespace (`ip netns exec`); default: this process's. */
  netns?: string;
  /** Default: an NftRunner (in `netns`); tests pass the in-memory FakeNft. */
  nft?: Nft;
  /** Default: `new Store(config.store.path)` (`:memory:` in dry-run mode). */
  store?: Store;
  /** Default: `ip -j addr` (in the nft's namespace): addresses with their subnets. */
  readOwnAddresses?: () => Promise<InterfaceAddress[]>;
  version?: string;
}

function buildLanes(config: Readonly<Config>, nft: Nft, log: Logger): FlusherLanes {
  const e = config.engine;
  const transport = () =>
    e.dry_run
      ? new DryRunTransport(log)
      : new NftTransport(nft, e.coprocess_max_elements > 0 ? nft.openSession() : null, e.coprocess_max_elements, log);
  const pipelined = e.pipeline > 1 && (e.dry_run || e.coprocess_max_elements > 0);
  return {
    alerts: new NftLane('alerts', transport()),
    overlap: pipelined ? new NftLane('alerts-overlap', transport()) : null,
    operator: new NftLane('operator', transport()),
  };
}

export class Daemon implements DaemonView {
  config: Readonly<Config>;
  /** Every nft call of the daemon's parts goes through this gate, closed at stop. */
  readonly nft: NftGate;
  readonly store: Store;
  readonly ledger: BanLedger;
  readonly allowlist: Allowlist;
  readonly decider: Decider;
  readonly ruleset: BaseRuleset;
  readonly flusher: BanFlusher;
  readonly enforcer: Enforcer;
  readonly sync: KernelSync;
  readonly operations: BanOperations;
  readonly timers: Timers;
  /**
   * nft's named drop counters, one reader shared by status and metrics. Reading counters makes
   * nft 1.0.6 read every set's elements, so a read happens at most every max(1 s, 10 x the last
   * read's duration) and requests in between get the last answer.
   */
  readonly dropCounters: () => Promise<readonly CounterValue[]>;
  readonly dryRun: boolean;
  readonly clock: Clock;
  /** The anchor of the default monotonic clock (for the API worker); null with an injected clock. */
  readonly clockAnchorMs: number | null;
  private readonly log: Logger;
  private readonly ownReader: () => Promise<InterfaceAddress[]>;
  private readonly applyListeners = new Set<(durationMs: number) => void>();
  private sourceStats: () => unknown[] = () => [];
  private stopped = false;

  constructor(config: Readonly<Config>, deps: DaemonDeps) {
    this.config = config;
    this.dryRun = config.engine.dry_run;
    const log = deps.log.child({ component: 'engine' });
    this.clockAnchorMs = deps.clock ? null : wallAnchorMs();
    const clock = deps.clock ?? anchoredClock(this.clockAnchorMs ?? 0);
    this.log = log;
    this.clock = clock;
    this.nft = new NftGate(deps.nft ?? new NftRunner({ netns: deps.netns }));
    this.store = deps.store ?? new Store(this.dryRun ? ':memory:' : config.store.path);
    this.ownReader = deps.readOwnAddresses ?? (() => readOwnAddresses(this.nft.netns));
    this.ledger = new BanLedger(this.store, config.policy, log);
    this.allowlist = new Allowlist(this.store, config.allowlist, clock());
    this.decider = new Decider(config, this.allowlist.effective(), this.ledger.state);
    this.ruleset = new BaseRuleset(this.nft, log, clock);
    this.flusher = new BanFlusher(buildLanes(config, this.nft, log), new StoreFollower(this.ledger, log), log, {
      flushIntervalMs: config.engine.flush_interval_ms,
      maxBatch: config.engine.max_batch,
      smallBatch: config.engine.coprocess_max_elements,
      burstBatch: config.engine.burst_batch,
      burstWaitMs: config.engine.burst_wait_ms,
      onApplied: (ms) => {
        for (const l of this.applyListeners) l(ms);
      },
      onNftError: (err) => {
        if (isNftsentryError(err, ErrorCodes.NFT_NOT_FOUND)) this.timers.runSoon('heal');
      },
    });
    this.enforcer = new Enforcer({
      decider: this.decider,
      ledger: this.ledger,
      flusher: this.flusher,
      log,
      clock,
      dryRun: this.dryRun,
    });
    this.sync = new KernelSync({
      nft: this.nft,
      ledger: this.ledger,
      flusher: this.flusher,
      decider: this.decider,
      log,
      clock,
      dryRun: this.dryRun,
      applyRuleset: () => this.applyRuleset(),
      onKernelScan: (address, reason, nowMs) => void this.enforcer.handleKernelScan(address, reason, nowMs),
      settings: () => ({
        rulesCheckMs: this.config.engine.rules_check_ms,
        scanDetection: this.config.scan_detection.enabled,
      }),
    });
    let lastReadMs = 0;
    this.dropCounters = cachedReader(
      async () => {
        const started = performance.now();
        try {
          return await readCounters(this.nft);
        } finally {
          lastReadMs = performance.now() - started;
        }
      },
      () => Math.max(1000, 10 * lastReadMs),
    );
    this.operations = new BanOperations({
      ledger: this.ledger,
      decider: this.decider,
      enforcer: this.enforcer,
      sync: this.sync,
      flusher: this.flusher,
      allowlist: this.allowlist,
      clock,
      version: deps.version ?? VERSION,
      dryRun: this.dryRun,
      unbanGraceSec: () => this.config.api.unban_grace,
      allowChanged: () => this.allowChanged(),
      dropCounters: this.dropCounters,
      rulesetAppliedMs: () => this.ruleset.appliedAtMs,
      sourceStats: () => this.sourceStats(),
    });
    const e = () => this.config.engine;
    const kernelTasks = this.dryRun
      ? []
      : [
          { name: 'heal', everyMs: () => e().heal_poll_ms, run: () => this.sync.heal() },
          { name: 'kernel_scanners', everyMs: () => e().kernel_scan_poll_ms, run: () => this.sync.pollScanners() },
        ];
    this.timers = new Timers(
      [
        ...kernelTasks,
        { name: 'expire', everyMs: () => e().expire_poll_ms, run: async () => void this.ledger.expire(this.clock()) },
        { name: 'own_addresses', everyMs: () => e().own_addresses_poll_ms, run: () => this.refreshOwnAddresses() },
      ],
      log,
    );
  }

  /** The store's connection (file sources keep their bookmarks there). */
  get db() {
    return this.store.db;
  }

  /** Lets status report the sources' counters. */
  attachSourceStats(stats: () => unknown[]): void {
    this.sourceStats = stats;
  }

  async start(): Promise<void> {
    await this.refreshOwnAddresses();
    if (!this.dryRun) await this.applyRuleset();
    // The daemon's periodic reads go through one nft -j -i, not a process each.
    if (!this.dryRun) this.nft.useReadSession(true);
    const { expired } = this.ledger.restore(this.clock());
    this.log.info({ active: this.ledger.activeCount, expiredDropped: expired }, 'bans loaded from the store');
    if (!this.dryRun) await this.sync.restore();
    try {
      await this.flusher.warm({ remove: PROBE });
    } catch (err) {
      // Not fatal: the first batch starts the co-process again, and reports a failure then.
      this.log.warn({ err: (err as Error).message }, 'nft -i co-process did not start; batches will retry it');
    }
    this.timers.start();
  }

  /**
   * Stops the timers and the start-up reconcile (its reads end with the read session), sends
   * what is pending, then closes nft: no nft process starts after this. Bans stay in the kernel.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.timers.stop();
    this.sync.stop();
    this.nft.closeReads();
    await this.sync.reconciled;
    await this.flusher.flushed();
    this.flusher.close();
    this.nft.close();
    this.ledger.close();
  }

  /** Swaps in a new config (SIGHUP): policy, protection, ruleset. Bans are kept. */
  async reload(config: Readonly<Config>): Promise<void> {
    if (config.engine.dry_run !== this.dryRun) this.log.warn('engine.dry_run changes on the next start, not on reload');
    this.config = { ...config, engine: { ...config.engine, dry_run: this.dryRun } };
    this.ledger.reconfigure(config.policy);
    this.allowlist.setConfig(config.allowlist);
    this.decider.reconfigure(config, this.allowlist.effective());
    if (!this.dryRun) await this.applyRuleset();
    await this.sync.liftMatching((t) => this.decider.whyPrefixProtected(t) !== null);
    this.timers.restart();
    this.log.info({ rules: config.policy.rules.length }, 'config reloaded; bans kept');
  }

  handleAlerts(batch: readonly IngestedAlert[]): void {
    this.enforcer.handleAlerts(batch);
  }

  /** Resolves once every queued decision has reached nft (or failed and been logged). */
  flushed(): Promise<void> {
    return this.flusher.flushed();
  }

  /** Calls `listener` with the duration of every transaction nft applies; returns the unsubscribe. */
  onNftApply(listener: (durationMs: number) => void): () => void {
    this.applyListeners.add(listener);
    return () => this.applyListeners.delete(listener);
  }

  decisionStats(): ReturnType<DaemonView['decisionStats']> {
    return this.enforcer.stats.snapshot();
  }

  countActiveBySource(): Record<string, number> {
    return this.ledger.countActiveBySource();
  }

  rulesetAppliedMs(): number | null {
    return this.ruleset.appliedAtMs;
  }

  private async refreshOwnAddresses(): Promise<void> {
    try {
      this.decider.setOwn(await this.ownReader());
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot read own addresses; keeping the last ones');
    }
  }

  private applyRuleset(): Promise<void> {
    return this.ruleset.apply(this.config, this.allowlist.effective());
  }

  /** The allowlist changed: protection and the kernel's allow sets follow. */
  private async allowChanged(): Promise<void> {
    this.decider.setAllow(this.allowlist.effective());
    if (!this.dryRun) await this.applyRuleset();
  }
}
