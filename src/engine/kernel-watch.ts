/**
 * How the daemon notices damage to `table inet nftsentry`: events first, polling as the net.
 *
 * - A long-lived `nft monitor` (nft/monitor.ts) reports every transaction. The daemon's own
 *   (committed by one of its nft processes) are dropped unread; another process's lines become a
 *   Damage (kernel-damage.ts) for the healer. Nothing runs while nothing changes.
 * - Whenever the monitor may have missed something (it started, exited and was restarted, was
 *   replaced, or nft lost events), the healer checks everything once it listens again.
 * - The periodic task (`heal_poll_ms`): while no monitor listens, a probe (one cheap transaction,
 *   which also makes a freshly started monitor print its first generation); every
 *   `full_check_ms`, a full check (the shape, the config sets and every ban set against the
 *   ledger), the safety net for whatever the monitor cannot show.
 */
import type { Logger } from '../log.ts';
import type { MonitorEvents, MonitorGeneration, MonitorHandle, MonitorStats, Nft } from '../nft/nft.ts';
import { isDamage, readDamage } from './kernel-damage.ts';
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

  /** The periodic task: a probe while nothing listens; a full check every `fullCheckMs`. */
  async tick(): Promise<void> {
    if (!this.monitor?.listening) await this.p.healer.probe();
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
    if (g.own) return;
    const damage = readDamage(g.lines, g.truncated);
    if (isDamage(damage)) this.p.healer.report(damage, `nft monitor: generation ${g.gen} by process ${g.pid}`);
  }

  gap(why: string): void {
    this.p.log.warn({ why }, 'kernel monitor may have missed changes; checking everything once it listens');
    // Still listening (nft lost events but goes on): check now; else `listening` will.
    if (this.monitor?.listening) void this.p.healer.check(why);
  }
}
