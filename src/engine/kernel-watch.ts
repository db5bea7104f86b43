/**
 * How the daemon notices damage to `table inet nftsentry`: events first, polling as the net.
 *
 * - A long-lived `nft monitor` (nft/monitor.ts) reports every transaction. The daemon's own
 *   (committed by one of its nft processes) are dropped unread; another process's lines become a
 *   Damage (kernel-damage.ts) for the healer. Nothing runs while nothing changes.
 * - Whenever the monitor may have missed something (it started, exited and was restarted, was
 *   replaced, or nft lost events), the healer checks everything once it listens again.
 * - The periodic task (`heal_poll_ms`): without a monitor (`engine.kernel_monitor: false`, or an
 *   nft without one), a probe (one cheap transaction); every `rules_check_ms`, a full check (the
 *   shape, the config sets and every ban set against the ledger), the safety net for whatever
 *   the monitor cannot show.
 */
import type { Logger } from '../log.ts';
import type { MonitorEvents, MonitorGeneration, MonitorHandle, MonitorStats, Nft } from '../nft/nft.ts';
import type { BanSetName } from './ban-target.ts';
import { isDamage, readDamage, readEarlyDamage } from './kernel-damage.ts';
import type { KernelHealer } from './kernel-healer.ts';

export interface KernelWatchParts {
  nft: Nft;
  healer: KernelHealer;
  log: Logger;
  /** Whether to run `nft monitor`, and how often to check everything (ms; 0: never). */
  settings: () => { monitor: boolean; fullCheckMs: number };
}

export interface WatchStatus extends Partial<MonitorStats> {
  monitor: 'off' | 'starting' | 'listening';
}

export class KernelWatch implements MonitorEvents {
  private readonly p: KernelWatchParts;
  private monitor: MonitorHandle | null = null;
  private lastFullCheck = performance.now();
  /** Ban sets read back early for the transaction nft is printing (see `early`). */
  private readEarly = new Set<BanSetName>();

  constructor(parts: KernelWatchParts) {
    this.p = parts;
  }

  /** Starts `nft monitor` when the settings want it and nft has one. */
  start(): void {
    if (this.monitor || !this.p.settings().monitor || !this.p.nft.openMonitor) return;
    this.monitor = this.p.nft.openMonitor(this);
    this.monitor.start();
  }

  stop(): void {
    this.monitor?.stop();
    this.monitor = null;
  }

  get status(): WatchStatus {
    if (!this.monitor) return { monitor: 'off' };
    return { monitor: this.monitor.listening ? 'listening' : 'starting', ...this.monitor.stats };
  }

  /**
   * The periodic task: without a monitor, a probe; a full check every `fullCheckMs`. No probe
   * while a monitor starts: a transaction makes nft read the ruleset again before it subscribes
   * (nft/monitor.ts). Until it listens, a lane transaction that finds no table or set, the full
   * check and the one when it listens stand in.
   */
  async tick(): Promise<void> {
    if (!this.monitor) await this.p.healer.probe();
    const every = this.p.settings().fullCheckMs;
    const now = performance.now();
    if (every > 0 && now - this.lastFullCheck >= every) {
      this.lastFullCheck = now;
      await this.p.healer.check('periodic full check');
    }
  }

  // --- MonitorEvents ---

  listening(): void {
    this.p.log.info('kernel monitor listening');
    // Whatever happened before it listened is unknown.
    void this.p.healer.check('nft monitor (re)started');
  }

  generation(g: MonitorGeneration): void {
    const readEarly = this.readEarly;
    this.readEarly = new Set();
    if (g.own) return;
    const damage = readDamage(g.lines, g.truncated);
    // Sets already read back since the first lines came: their elements are back.
    if (g.early) for (const [key, set] of damage.removed) if (readEarly.has(set)) damage.removed.delete(key);
    if (isDamage(damage)) this.p.healer.report(damage, `nft monitor: generation ${g.gen} by process ${g.pid}`);
  }

  /**
   * A large transaction, own or not, that deleted ban elements: its sets are read back now (the
   * reconcile puts back only what the ledger still bans, so the daemon's own unbans stay out).
   */
  early(lines: readonly string[]): void {
    const damage = readEarlyDamage(lines);
    if (damage.sets.size === 0) return;
    for (const s of damage.sets) this.readEarly.add(s);
    this.p.healer.report(damage, `nft monitor: a large transaction (${lines.length}+ lines) still being printed`);
  }

  gap(why: string): void {
    this.p.log.warn({ why }, 'kernel monitor may have missed changes; checking everything once it listens');
    // Still listening (nft lost events but goes on): check now; else `listening` will.
    if (this.monitor?.listening) void this.p.healer.check(why);
  }
}
