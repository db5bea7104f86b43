/**
 * The composition root of `nftsentry run`: constructs the daemon's parts and wires them (see
 * docs/architecture.md). Start: own addresses, ruleset, restore (the ledger from the store, then
 * the kernel), co-processes, timers, the kernel watch. Stop: the watch, timers, reads, repairs,
 * reconcile, flush, then nft closed; the bans stay in the kernel. */
import type { DaemonView } from '../../api/daemon-view.ts';
import { anchoredClock, type Clock, wallAnchorMs } from '../../clock.ts';
import type { Config } from '../../config/config.ts';
import { Allowlist } from '../../engine/allowlist.ts';
import { BanFlusher } from '../../engine/ban-flusher.ts';
import { BanLedger } from '../../engine/ban-ledger.ts';
import { BanOperations } from '../../engine/ban-operations.ts';
import { BaseRuleset } from '../../engine/base-ruleset.ts';
import { Decider } from '../../engine/decider.ts';
import { Enforcer } from '../../engine/enforcer.ts';
import { buildLanes, flusherSettings } from '../../engine/flusher-lanes.ts';
import { KernelHealer } from '../../engine/kernel-healer.ts';
import { KernelSync } from '../../engine/kernel-sync.ts';
import { KernelWatch } from '../../engine/kernel-watch.ts';
import { startJournal } from '../../engine/journal-wiring.ts';
import { readOwnAddresses } from '../../engine/own-addresses.ts';
import { StoreFollower } from '../../engine/store-follower.ts';
import { STORE_RETRY_TICK_MS, type StoreHealth } from '../../engine/store-writer.ts';
import { Timers } from '../../engine/timers.ts';
import { WarmUp } from '../../engine/warm-up.ts';
import { ErrorCodes, isNftsentryError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { InterfaceAddress } from '../../net/subnet.ts';
import type { Nft } from '../../nft/nft.ts';
import { NftGate } from '../../nft/nft-gate.ts';
import { NftRunner } from '../../nft/runner.ts';
import { type CounterValue, sharedCounterReader } from '../../nft/state.ts';
import { openStore, type RecoveredStore } from '../../store/store-opener.ts';
import type { Store } from '../../store/store.ts';
import { VERSION } from '../../version.ts';

export interface DaemonDeps {
  log: Logger;
  /** Default: epoch-like milliseconds on the monotonic clock (clock.ts), anchored at construction. */
  clock?: Clock;
  /** Run nft inside this named network namespace (`ip netns exec`); default: this process's. */
  netns?: string;
  /** Default: an NftRunner (in `netns`); tests pass the in-memory FakeNft. */
  nft?: Nft;
  /** Default: `openStore(config.store.path)` (`:memory:` in dry-run mode; an unusable file moved aside). */
  store?: Store;
  /** Default: `ip -j addr` (in the nft's namespace): addresses with their subnets. */
  readOwnAddresses?: () => Promise<InterfaceAddress[]>;
  version?: string;
}

export class Daemon implements DaemonView {
  config: Readonly<Config>;
  /** Every nft call of the daemon's parts goes through this gate, closed at stop. */
  readonly nft: NftGate;
  readonly store: Store;
  /** The unusable store file this start moved aside; null when the store opened as it was. */
  readonly storeRecoveredFrom: RecoveredStore | null;
  readonly ledger: BanLedger;
  readonly allowlist: Allowlist;
  readonly decider: Decider;
  readonly ruleset: BaseRuleset;
  readonly flusher: BanFlusher;
  readonly enforcer: Enforcer;
  readonly sync: KernelSync;
  readonly healer: KernelHealer;
  readonly watch: KernelWatch;
  readonly operations: BanOperations;
  readonly timers: Timers;
  /** Run by `run` once the API is up and before the first alert is taken (engine/warm-up.ts). */
  readonly warmUp: WarmUp;
  /** nft's named drop counters, one reader shared by status and metrics (nft/state.ts). */
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
  private halted = false;

  constructor(config: Readonly<Config>, deps: DaemonDeps) {
    this.config = config;
    this.dryRun = config.engine.dry_run;
    const log = deps.log.child({ component: 'engine' });
    this.clockAnchorMs = deps.clock ? null : wallAnchorMs();
    const clock = deps.clock ?? anchoredClock(this.clockAnchorMs ?? 0);
    this.log = log;
    this.clock = clock;
    this.nft = new NftGate(deps.nft ?? new NftRunner({ netns: deps.netns }));
    const opened = deps.store
      ? { store: deps.store, recoveredFrom: null }
      : openStore(this.dryRun ? ':memory:' : config.store.path, log, clock());
    this.store = opened.store;
    this.storeRecoveredFrom = opened.recoveredFrom;
    this.ownReader = deps.readOwnAddresses ?? (() => readOwnAddresses(this.nft.netns));
    this.ledger = new BanLedger(this.store, config.policy, log, clock);
    this.allowlist = new Allowlist(this.store, config.allowlist, clock());
    this.decider = new Decider(config, this.allowlist.effective(), this.ledger.state);
    this.ruleset = new BaseRuleset(this.nft, log, clock);
    const lanes = buildLanes(config, this.nft, log);
    this.flusher = new BanFlusher(lanes, new StoreFollower(this.ledger, log), log, {
      ...flusherSettings(config),
      onApplied: (ms) => {
        for (const l of this.applyListeners) l(ms);
      },
      onNftError: (err) => {
        if (isNftsentryError(err, ErrorCodes.NFT_NOT_FOUND)) this.healer.suspect('a transaction found no table or set');
      },
    });
    this.enforcer = new Enforcer({
      decider: this.decider,
      ledger: this.ledger,
      flusher: this.flusher,
      log,
      clock,
      dryRun: this.dryRun,
      replaced: (targets) => this.sync.liftReplaced(targets),
    });
    this.sync = new KernelSync({
      nft: this.nft,
      ledger: this.ledger,
      flusher: this.flusher,
      decider: this.decider,
      log,
      clock,
      dryRun: this.dryRun,
      onKernelScan: (address, reason, nowMs) => void this.enforcer.handleKernelScan(address, reason, nowMs),
      settings: () => ({ scanDetection: this.config.scan_detection.enabled }),
    });
    this.healer = new KernelHealer({
      nft: this.nft,
      ledger: this.ledger,
      flusher: this.flusher,
      sync: this.sync,
      ruleset: this.ruleset,
      applyRuleset: () => this.applyRuleset(),
      log,
      clock,
    });
    this.watch = new KernelWatch({
      nft: this.nft,
      healer: this.healer,
      log,
      settings: () => ({ monitor: this.config.engine.kernel_monitor, fullCheckMs: this.config.engine.rules_check_ms }),
    });
    this.dropCounters = sharedCounterReader(this.nft);
    this.warmUp = new WarmUp({ lanes, store: this.store, ledger: this.ledger, log, clock, dryRun: this.dryRun });
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
      storeStatus: () => ({ ...this.storeHealth(), recoveredFrom: this.storeRecoveredFrom }),
      healStats: () => ({ ...this.healer.stats, kernelWatch: this.watch.status }),
    });
    startJournal(this, log);
    const e = () => this.config.engine;
    const kernelTasks = this.dryRun
      ? []
      : [
          { name: 'heal', everyMs: () => e().heal_poll_ms, run: () => this.watch.tick() },
          { name: 'kernel_scanners', everyMs: () => e().kernel_scan_poll_ms, run: () => this.sync.pollScanners() },
        ];
    this.timers = new Timers(
      [
        ...kernelTasks,
        { name: 'expire', everyMs: () => e().expire_poll_ms, run: async () => void this.ledger.expire(this.clock()) },
        { name: 'store_retry', everyMs: () => STORE_RETRY_TICK_MS, run: async () => this.ledger.retryWrites() },
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

  /** Each step starts only while no stop was asked for (`halt`): a stop during the start ends it there. */
  async start(): Promise<void> {
    await this.refreshOwnAddresses();
    const kernel = !this.dryRun && !this.halted;
    if (kernel) await this.applyRuleset();
    // The daemon's periodic reads go through one nft -j -i, not a process each.
    if (kernel && !this.halted) this.nft.useReadSession(true);
    const { expired, overCap } = this.ledger.restore(this.clock());
    this.log.info({ active: this.ledger.activeCount, expiredDropped: expired, overCap }, 'bans loaded from the store');
    if (kernel && !this.halted) await this.sync.restore();
    if (!this.halted) await this.warmUp.coprocesses();
    if (this.halted) return;
    this.timers.start();
    if (!this.dryRun) this.watch.start();
  }

  /** The synchronous first step of a stop (at the signal): no timer, monitor, reconcile or read from here on. */
  halt(): void {
    this.halted = true;
    this.watch.stop();
    this.timers.stop();
    this.sync.stop();
    this.nft.closeReads();
  }

  /** After `halt`, sends what is pending, then closes nft: no nft process starts after this. Bans stay in the kernel. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.halt();
    await this.healer.idle();
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
    const overCap = this.ledger.reconfigure(config.policy);
    this.allowlist.setConfig(config.allowlist);
    this.decider.reconfigure(config, this.allowlist.effective());
    if (!this.dryRun) await this.applyRuleset();
    await this.sync.liftMatching((t, text) => overCap.has(text) || this.decider.whyPrefixProtected(t) !== null);
    this.timers.restart();
    if (!this.dryRun) config.engine.kernel_monitor ? this.watch.start() : this.watch.stop();
    this.log.info({ rules: config.policy.rules.length }, 'config reloaded; bans kept');
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
    return { ...this.enforcer.stats.snapshot(), maxActiveBans: this.config.policy.max_active_bans };
  }

  countActiveBySource(): Record<string, number> {
    return this.ledger.countActiveBySource();
  }

  rulesetAppliedMs(): number | null {
    return this.ruleset.appliedAtMs;
  }

  /** Why alerts are not handled at full speed yet (the ruleset, the warm-up); null: ready. */
  notReady(): string | null {
    return this.warmUp.notReady(this.dryRun || this.ruleset.appliedAtMs !== null);
  }

  storeHealth(): StoreHealth {
    return this.ledger.storeHealth;
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
