/**
 * The ban engine: decisions (pure core) + batches to nft + the store, and the Operations the
 * HTTP API and the CLI are doors into. The composition root of `nftsentry run`.
 *
 *   const engine = new Engine(config, { log });   // constructor signature is stable
 *   await engine.start();                          // ruleset, restore, reconcile, timers
 *   engine.handleAlerts(batch);                    // from the ingest queue
 *   await engine.ban({ address, durationSec, reason });
 *   await engine.stop();                           // bans stay in the kernel
 */
import type { Config } from '../config/config.ts';
import { ErrorCodes, isNftsentryError } from '../errors.ts';
import { RateLimitedLog, type Logger } from '../log.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { IpAddress, IpPrefix } from '../net/ip.ts';
import type { Alert } from '../ingest/alert.ts';
import type { IngestedAlert } from '../ingest/alert-queue.ts';
import type { Nft } from '../nft/nft.ts';
import { NftRunner } from '../nft/runner.ts';
import { applyRuleset } from '../nft/apply.ts';
import { readCounters, type CounterValue } from '../nft/state.ts';
import { cachedReader } from '../cached-reader.ts';
import { Store } from '../store/store.ts';
import type { AllowEntry, BanListFilter, BanView, Operations } from './operations.ts';
import { decideAlert, decideKernelScan, type BanDecision, type Decision, type DecideContext } from './decide.ts';
import * as ops from './ban-operations.ts';
import { Protection } from './protection.ts';
import { ThresholdTracker } from './threshold-tracker.ts';
import { OffenderIndex } from './offender-index.ts';
import { NftBackend, DryRunBackend, type BanBackend } from './ban-backend.ts';
import { BanFlusher } from './ban-flusher.ts';
import { Allowlist } from './allowlist.ts';
import { readOwnAddresses } from './own-addresses.ts';
import { EngineTimers } from './engine-timers.ts';
import { EngineStats } from './engine-stats.ts';
import { restoreBans, healKernel, syncKernelScanners, liftBans, type EngineInternals } from './engine-sync.ts';

export interface EngineDeps {
  log: Logger;
  clock?: Clock;
  /** Run nft inside this named network namespace (`ip netns exec`); default: this process's. */
  netns?: string;
  runner?: Nft;
  /** Default: `new Store(config.store.path)` (`:memory:` in dry-run mode). */
  store?: Store;
  /** Default: `ip -j addr` (in `netns` when given). */
  readOwnAddresses?: () => Promise<IpAddress[]>;
  version?: string;
}

export class Engine implements Operations, EngineInternals {
  config: Readonly<Config>;
  readonly log: Logger;
  readonly clock: Clock;
  readonly runner: Nft;
  readonly store: Store;
  readonly index: OffenderIndex;
  readonly stats = new EngineStats();
  readonly allowlist: Allowlist;
  ctx: DecideContext;
  backend!: BanBackend;
  flusher!: BanFlusher;
  rulesetAppliedMs: number | null = null;
  kernelSeen = new Set<string>();
  lastRulesCheck = performance.now();
  private lastCheckpointMs = 0;
  /** When each target was last lifted (performance.now()), so a reconcile racing it does not adopt it. */
  readonly liftedAt = new Map<string, number>();
  /** Resolves when the start-up reconcile against the kernel has finished (it runs after start). */
  reconciled: Promise<void> = Promise.resolve();
  private readonly timers: EngineTimers;
  readonly version: string;
  private readonly ownReader: () => Promise<IpAddress[]>;
  sourceStats: () => unknown[] = () => [];
  /**
   * nft's named drop counters, one reader shared by status and metrics. nft 1.0.6 reads every
   * set's elements for any `list counters` (measured: 6 ms with empty sets, ~70 ms with 20k
   * bans), so a read is at most every max(1 s, 10 x the last read's duration) and requests in
   * between get the last answer (cachedReader): status polled every 40 ms used to keep one nft
   * busy at 70% of a CPU.
   */
  readonly dropCounters: () => Promise<readonly CounterValue[]>;
  private lastCountersReadMs = 0;
  private readonly banLog = new RateLimitedLog(50, 10_000);
  private stopped = false;

  constructor(config: Readonly<Config>, deps: EngineDeps) {
    this.config = config;
    this.log = deps.log.child({ component: 'engine' });
    this.clock = deps.clock ?? systemClock;
    this.runner = deps.runner ?? new NftRunner({ netns: deps.netns });
    this.store = deps.store ?? new Store(config.engine.dry_run ? ':memory:' : config.store.path);
    this.version = deps.version ?? '0.1.0';
    this.ownReader = deps.readOwnAddresses ?? (() => readOwnAddresses(this.runner.netns));
    const p = config.policy;
    this.index = new OffenderIndex(p.escalation.forget_after * 1000, p.ipv4_aggregate.enabled ? p.ipv4_aggregate.prefix : null);
    this.allowlist = new Allowlist(this.store, config.allowlist, this.clock());
    this.ctx = {
      policy: p,
      protection: new Protection(this.allowlist.effective(), config.home_networks, []),
      tracker: new ThresholdTracker(p.max_tracked_sources),
      state: this.index,
    };
    this.makeBackend();
    this.timers = new EngineTimers(this);
    this.dropCounters = cachedReader(async () => {
      const started = performance.now();
      try {
        return await readCounters(this.runner);
      } finally {
        this.lastCountersReadMs = performance.now() - started;
      }
    }, () => Math.max(1000, 10 * this.lastCountersReadMs));
  }

  /** The store's connection (ingestion keeps its file bookmarks there). */
  get db() {
    return this.store.db;
  }

  get dryRun(): boolean {
    return this.config.engine.dry_run;
  }

  /** Lets status() report the sources' counters (run.ts passes the ingest handle's stats). */
  attachSourceStats(stats: () => unknown[]): void {
    this.sourceStats = stats;
  }

  async start(): Promise<void> {
    await this.refreshOwnAddresses();
    if (!this.dryRun) await this.applyBaseRuleset();
    // The daemon's periodic reads (scanners, heal, counters) go through one nft -j -i, not a
    // process each: starting a process stalls this thread's event loop (see NftRunner).
    if (!this.dryRun) this.runner.useReadSession(true);
    await restoreBans(this);
    await this.warmBackend();
    this.timers.start();
  }

  private async warmBackend(): Promise<void> {
    try {
      await this.backend.warm();
    } catch (err) {
      // Not fatal: the first batch starts the co-process again, and reports a failure then.
      this.log.warn({ err: (err as Error).message }, 'nft -i co-process did not start; batches will retry it');
    }
  }

  /** Sends what is pending, stops the timers and the co-process. Bans stay in the kernel. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.timers.stop();
    await this.reconciled;
    await this.flusher.flushed();
    this.backend.close();
    this.runner.useReadSession(false);
    this.store.close();
  }

  /** Swaps in a new config (SIGHUP): policy, protection, ruleset. Bans are kept. */
  async reload(config: Readonly<Config>): Promise<void> {
    const wasDry = this.dryRun;
    this.config = config;
    const p = config.policy;
    this.index.forgetAfterMs = p.escalation.forget_after * 1000;
    this.index.aggregatePrefix = p.ipv4_aggregate.enabled ? p.ipv4_aggregate.prefix : null;
    this.allowlist.setConfig(config.allowlist);
    this.ctx = {
      policy: p,
      protection: new Protection(this.allowlist.effective(), config.home_networks, []).withOwn(this.ownAddresses),
      tracker: new ThresholdTracker(p.max_tracked_sources),
      state: this.index,
    };
    if (wasDry !== this.dryRun) {
      await this.flusher.flushed();
      this.backend.close();
      this.makeBackend();
      await this.warmBackend();
    }
    if (!this.dryRun) await this.applyBaseRuleset();
    await liftBans(this, (t) => this.ctx.protection.whyPrefixProtected(t) !== null);
    this.timers.restart();
    this.log.info({ rules: p.rules.length }, 'config reloaded; bans kept');
  }

  handleAlerts(batch: readonly IngestedAlert[]): void {
    for (const item of batch) this.handleAlert(item.alert);
  }

  /** Decides one alert and, for a ban, queues it. `nowMs`: receive time (the clock by default). */
  handleAlert(alert: Alert, nowMs = this.clock()): Decision {
    const d = decideAlert(alert, this.ctx, nowMs);
    this.stats.count(d);
    if (d.kind === 'ban') this.applyBan(d, nowMs);
    return d;
  }

  /** A kernel detection (scanners set) -> the same model. */
  handleKernelScan(address: string, reason: string, nowMs = this.clock()): Decision {
    const d = decideKernelScan(address, reason, this.ctx, nowMs);
    this.stats.count(d);
    if (d.kind === 'ban') this.applyBan(d, nowMs);
    return d;
  }

  /**
   * Records a ban decision and queues its element. `manual`: the element goes ahead of the alert
   * backlog and the returned promise resolves once nft has applied it and the store has the row.
   */
  applyBan(d: BanDecision, nowMs: number): void;
  applyBan(d: BanDecision, nowMs: number, manual: true): Promise<void>;
  applyBan(d: BanDecision, nowMs: number, manual = false): Promise<void> | void {
    const expiresMs = d.durationSec === null ? null : nowMs + d.durationSec * 1000;
    const prev = this.index.get(d.target.text);
    this.index.setActive(d.target.text, {
      set: d.target.set, expiresMs, durationSec: d.durationSec, offences: d.offences,
      lastOffenceMs: d.refresh && prev ? prev.lastOffenceMs : nowMs,
    });
    const change = { set: d.target.set, key: d.target.text, timeoutSec: d.durationSec };
    const write = {
      target: d.target.text, family: d.target.family, set: d.target.set, source: d.source, reason: d.reason,
      sid: d.sid, signature: d.signature, nowMs, expiresMs, durationSec: d.durationSec, offences: d.offences,
    };
    let applied: Promise<void> | undefined;
    if (manual) applied = this.flusher.queueManualBan(change, d.refresh, write);
    else this.flusher.queueBan(change, d.refresh, write);
    const shown = this.banLog.take(nowMs);
    if (shown) {
      this.log.info({ target: d.target.text, offender: d.offender, durationSec: d.durationSec, offences: d.offences, refresh: d.refresh,
        source: d.source, reason: d.reason, sid: d.sid, signature: d.signature, dryRun: this.dryRun, suppressedBefore: shown.suppressedBefore }, 'ban');
    }
    return applied;
  }

  /** Resolves once every queued decision has reached nft (or failed and been logged). */
  flushed(): Promise<void> {
    return this.flusher.flushed();
  }

  // --- Operations ---

  listBans(filter: BanListFilter): { total: number; items: BanView[] } {
    return ops.listBans(this, filter);
  }

  getBan(address: IpPrefix): BanView | null {
    return ops.getBan(this, address);
  }

  ban(request: { address: IpPrefix; durationSec: number | null; reason: string }): Promise<BanView> {
    return ops.ban(this, request);
  }

  unban(address: IpPrefix): Promise<boolean> {
    return ops.unban(this, address);
  }

  listAllow(): AllowEntry[] {
    return this.allowlist.list();
  }

  addAllow(prefix: IpPrefix, note: string): Promise<{ entry: AllowEntry; liftedBans: number }> {
    return ops.addAllow(this, prefix, note);
  }

  async removeAllow(prefix: IpPrefix): Promise<boolean> {
    const removed = this.allowlist.remove(prefix);
    if (removed) await this.allowChanged();
    return removed;
  }

  status(): Promise<Record<string, unknown>> {
    return ops.status(this);
  }

  // --- internals used by engine-sync.ts and engine-timers.ts ---

  ownAddresses: IpAddress[] = [];
  private readonly applyListeners = new Set<(durationMs: number) => void>();

  /** Calls `listener` with the duration of every batch nft applies (either lane); returns the unsubscribe. */
  onNftApply(listener: (durationMs: number) => void): () => void {
    this.applyListeners.add(listener);
    return () => this.applyListeners.delete(listener);
  }

  async refreshOwnAddresses(): Promise<void> {
    try {
      this.ownAddresses = await this.ownReader();
      this.ctx.protection = this.ctx.protection.withOwn(this.ownAddresses);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot read own addresses; keeping the last ones');
    }
  }

  async applyBaseRuleset(): Promise<void> {
    const effective = { ...this.config, allowlist: this.allowlist.effective() } as Readonly<Config>;
    await applyRuleset(effective, { runner: this.runner, log: this.log });
    this.rulesetAppliedMs = this.clock();
  }

  /** Ends the bans whose time is up (the kernel has dropped their elements itself). */
  expireNow(nowMs = this.clock()): number {
    const expired = this.index.expired(nowMs);
    for (const t of expired) this.index.setInactive(t);
    this.store.deactivate(expired);
    this.index.forget(nowMs);
    // A checkpoint syncs the files (a stall of several ms on this thread): once a minute is enough.
    if (nowMs - this.lastCheckpointMs >= 60_000) {
      this.lastCheckpointMs = nowMs;
      this.store.checkpoint();
    }
    return expired.length;
  }

  async heal(): Promise<void> {
    await healKernel(this);
  }

  async pollKernelScanners(): Promise<void> {
    await syncKernelScanners(this);
  }

  /** The allowlist changed: protection and the kernel's allow sets follow. */
  async allowChanged(): Promise<void> {
    this.ctx.protection = this.ctx.protection.withAllow(this.allowlist.effective());
    if (!this.dryRun) await this.applyBaseRuleset();
  }

  private makeBackend(): void {
    const e = this.config.engine;
    this.backend = e.dry_run
      ? new DryRunBackend(this.log)
      : e.coprocess_max_elements > 0
        ? new NftBackend(this.runner, this.runner.openSession(), e.coprocess_max_elements, this.log, this.runner.openSession(),
          e.pipeline > 1 ? this.runner.openSession() : null)
        : new NftBackend(this.runner, null, 0, this.log);
    this.flusher = new BanFlusher(this.backend, this.store, this.log, {
      flushIntervalMs: e.flush_interval_ms,
      maxBatch: e.max_batch,
      smallBatch: e.coprocess_max_elements,
      burstBatch: e.burst_batch,
      burstWaitMs: e.burst_wait_ms,
      pipeline: e.coprocess_max_elements > 0 ? e.pipeline : 1,
      onApplied: (ms) => {
        for (const l of this.applyListeners) l(ms);
      },
      onNftError: (err) => {
        if (isNftsentryError(err, ErrorCodes.NFT_NOT_FOUND)) this.timers.healSoon();
      },
    });
  }
}

export type { Operations } from './operations.ts';
