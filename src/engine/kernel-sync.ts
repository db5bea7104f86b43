/**
 * The ledger against the kernel over time: at start the active bans go back with their remaining
 * time, then a reconcile (a diff, never flush and re-add) adopts what only the kernel holds; the
 * same reconcile puts back what self-healing (kernel-healer.ts) finds missing; the kernel's
 * scanners sets are polled (the datapath emits no event) and their new entries become offences;
 * lifting ends bans (unban, allowlist) in memory, store and kernel.
 *
 * Owns what only these paths use: which scanners were already seen, and when each target was last
 * lifted (so a reconcile racing a lift does not adopt it back).
 */
import { ErrorCodes, isNftsentryError, NftsentryError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type IpAddress, type IpPrefix, isFullLength, parseIp, parsePrefix, prefixContains } from '../net/ip.ts';
import type { ElementChange } from '../nft/elements.ts';
import type { Nft } from '../nft/nft.ts';
import { readKernelScanners } from '../nft/scanners.ts';
import type { BanFlusher } from './ban-flusher.ts';
import type { BanLedger } from './ban-ledger.ts';
import { type BanSetName, parseBanTarget } from './ban-target.ts';
import type { Decider } from './decider.ts';
import { BAN_SET_NAMES, eachBanSetElement } from './kernel-bans.ts';
import { BanSetDiff, remainingSec } from './reconcile.ts';

export interface SyncStats {
  adopted: number;
  /** Kernel elements removed rather than adopted: no room under policy.max_active_bans. */
  overCapRemoved: number;
  kernelScanPolls: number;
  kernelScanErrors: number;
}

export interface KernelSyncParts {
  nft: Nft;
  ledger: BanLedger;
  flusher: BanFlusher;
  decider: Decider;
  log: Logger;
  clock: () => number;
  /** A new kernel detection (the Enforcer decides it). */
  onKernelScan: (address: string, reason: string, nowMs: number) => void;
  /** Whether scan detection is on. */
  settings: () => { scanDetection: boolean };
  /** Dry run: the kernel is never read (lifting skips the scanners sets). */
  dryRun: boolean;
}

interface Lifted {
  text: string;
  set: BanSetName;
  prefix: IpPrefix;
}

/** How long a lift is remembered against a racing reconcile. */
const LIFT_MEMORY_MS = 600_000;

/** What one reconcile of the ban sets did. */
export interface ReconcileSummary {
  added: number;
  refreshed: number;
  kept: number;
  adopted: number;
  readMs: number;
  applyMs: number;
}

export class KernelSync {
  readonly stats: SyncStats = { adopted: 0, overCapRemoved: 0, kernelScanPolls: 0, kernelScanErrors: 0 };
  /** Resolves when the start-up reconcile has finished (it runs after start, off its path). */
  reconciled: Promise<void> = Promise.resolve();
  private readonly p: KernelSyncParts;
  private kernelSeen = new Set<string>();
  private readonly liftedAt = new Map<string, number>();
  private liftedKept = 0;
  private stopping = false;

  constructor(parts: KernelSyncParts) {
    this.p = parts;
  }

  /**
   * Every active ban with its remaining time, in one transaction: `add` keeps what the kernel
   * holds and puts back what it lost. Then the full reconcile, in the background.
   */
  async restore(): Promise<void> {
    const started = performance.now();
    const nowMs = this.p.clock();
    const add = [...this.p.ledger.activeEntries()].map(([key, o]) => ({
      set: o.set,
      key,
      timeoutSec: remainingSec(o.expiresMs, nowMs),
    }));
    // Bans the ledger ended at restore for the cap: out of the kernel (before the reconcile reads it).
    const remove = this.p.ledger.takeOverCap();
    await this.p.flusher.direct({ add, remove });
    this.p.log.info(
      { active: this.p.ledger.activeCount, totalMs: Math.round(performance.now() - started) },
      'bans restored',
    );
    this.reconciled = this.reconcileBanSets().then(
      (plan) => this.p.log.info({ ...plan, totalMs: Math.round(performance.now() - started) }, 'kernel reconciled'),
      (err) => {
        if (this.stopping) this.p.log.info('kernel reconcile left off: stopping');
        else this.p.log.warn({ err: (err as Error).message }, 'kernel reconcile failed; self-healing will retry');
      },
    );
  }

  /** The daemon is stopping: a reconcile under way ends after its current read, changing nothing. */
  stop(): void {
    this.stopping = true;
  }

  /** New entries of the kernel's scanners sets become offences (escalation included). */
  async pollScanners(): Promise<void> {
    if (!this.p.settings().scanDetection) return;
    this.stats.kernelScanPolls++;
    let scanners;
    try {
      scanners = await readKernelScanners(this.p.nft, this.kernelSeen);
    } catch (err) {
      this.stats.kernelScanErrors++;
      if (isNftsentryError(err, ErrorCodes.NFT_NOT_FOUND)) return;
      throw err;
    }
    const nowMs = this.p.clock();
    const present = new Set<string>();
    for (const s of scanners) {
      present.add(s.address);
      if (!this.kernelSeen.has(s.address)) this.p.onKernelScan(s.address, s.reason, nowMs);
    }
    this.kernelSeen = present;
  }

  /** Ends every active ban whose target matches (allowlist change, reload). Returns how many. */
  async liftMatching(matches: (prefix: IpPrefix, target: string) => boolean): Promise<number> {
    const lifted: Lifted[] = [];
    for (const [text, o] of this.p.ledger.activeEntries()) {
      const p = parsePrefix(text);
      if (p && matches(p, text)) lifted.push({ text, set: o.set, prefix: p });
    }
    return this.lift(lifted);
  }

  /** Ends one ban by its target text (an unban): a lookup, not a scan of every active ban. */
  async liftOne(target: string): Promise<number> {
    const o = this.p.ledger.active(target);
    const p = o ? parsePrefix(target) : null;
    return o && p ? this.lift([{ text: target, set: o.set, prefix: p }]) : 0;
  }

  /**
   * Ends the automatic bans a cap aggregate replaces (ban-cap.ts), on the alerts lane with the
   * aggregate's own element: memory, store, kernel. Not awaited: the alert path does not wait.
   */
  liftReplaced(targets: readonly string[]): void {
    const now = performance.now();
    // Amortized: under a flood at the cap every aggregate lifts bans; the map stays bounded.
    if (this.liftedAt.size > 2 * this.liftedKept + 1024) this.forgetLifts(now);
    for (const t of targets) {
      const o = this.p.ledger.active(t);
      if (!o) continue;
      this.liftedAt.set(t, now);
      // Its threshold counts stay: alerts from inside now find the aggregate banned.
      this.p.ledger.lift(t);
      this.p.flusher.queueRemove({ set: o.set, key: t });
    }
    this.p.flusher.deactivate(targets);
  }

  private forgetLifts(now: number): void {
    for (const [t, at] of this.liftedAt) if (at < now - LIFT_MEMORY_MS) this.liftedAt.delete(t);
    this.liftedKept = this.liftedAt.size;
  }

  /** Memory, store and kernel (operator transactions), and the kernel's scanners entries inside. */
  private async lift(lifted: Lifted[]): Promise<number> {
    if (lifted.length === 0) return 0;
    const now = performance.now();
    this.forgetLifts(now);
    const applied: Array<Promise<void>> = [];
    for (const l of lifted) {
      this.liftedAt.set(l.text, now);
      this.p.ledger.lift(l.text);
      this.p.decider.forgetSource(l.text);
      applied.push(this.p.flusher.queueOperatorRemove({ set: l.set, key: l.text }));
    }
    // Through the flusher: a burst row of these targets not yet written must not land after it.
    this.p.flusher.deactivate(lifted.map((l) => l.text));
    if (!this.p.dryRun) this.liftScanners(lifted, applied);
    await Promise.all(applied);
    return lifted.length;
  }

  /** The kernel's scanners entries inside the lifted targets go too. */
  private liftScanners(lifted: readonly Lifted[], applied: Array<Promise<void>>): void {
    const removeScanner = (a: IpAddress): Array<Promise<void>> => {
      const fam = a.family === 4 ? '4' : '6';
      this.kernelSeen.delete(a.text);
      return [
        this.p.flusher.queueOperatorRemove({ set: `scanners${fam}`, key: a.text }),
        this.p.flusher.queueOperatorRemove({ set: `scan_reason${fam}`, key: a.text, data: 0 }),
      ];
    };
    // A single address needs no read (a removal succeeds whether the kernel holds the element or
    // not); a wider prefix has to find the scanners it covers.
    for (const l of lifted) if (isFullLength(l.prefix)) applied.push(...removeScanner(l.prefix.network));
    const wide = lifted.filter((l) => !isFullLength(l.prefix));
    if (wide.length === 0) return;
    const read = readKernelScanners(this.p.nft).then(
      async (scanners) => {
        const removals: Array<Promise<void>> = [];
        for (const s of scanners) {
          const a = parseIp(s.address);
          if (a && wide.some((l) => prefixContains(l.prefix, a))) removals.push(...removeScanner(a));
        }
        await Promise.all(removals);
      },
      (err) => this.p.log.warn({ err: (err as Error).message }, 'cannot read the scanners sets while lifting bans'),
    );
    applied.push(read);
  }

  /** Forgets which scanners were seen (the table was re-created: its scanners sets start empty). */
  forgetScanners(): void {
    this.kernelSeen.clear();
  }

  /**
   * Reads the ban sets (all by default), sends what is missing or has the wrong timeout, adopts
   * unknown kernel elements. A ban with less than `minLeftSec` left is not sent. Bans with a change
   * queued or in flight, or changed in the ledger while the sets were read, are left alone: the
   * kernel may not show that change yet. Unknown elements are not adopted when lifted since the
   * read began, or banned meanwhile.
   */
  async reconcileBanSets(sets: readonly BanSetName[] = BAN_SET_NAMES, minLeftSec = 0): Promise<ReconcileSummary> {
    const t0 = performance.now();
    const unsettled = this.p.flusher.unsettled();
    // Element by element as nft prints them: neither the listing nor a copy of the bans is held.
    const diff = new BanSetDiff(this.p.ledger.sweepActive(), this.p.clock(), { minLeftSec });
    for (const s of sets) await eachBanSetElement(this.p.nft, s, (e) => diff.element(s, e));
    if (this.stopping) throw new NftsentryError(ErrorCodes.NFT_CLOSED, 'stopping');
    const readMs = performance.now() - t0;
    for (const key of this.p.flusher.unsettled()) unsettled.add(key);
    const nowMs = this.p.clock();
    const plan = diff.finish(sets, nowMs, unsettled);
    const add = plan.batch.add ?? [];
    const refresh = plan.batch.refresh ?? [];
    const t1 = performance.now();
    if (add.length + refresh.length > 0) await this.p.flusher.direct({ add, refresh });
    const applyMs = performance.now() - t1;
    const writes = [];
    const moved: { add: ElementChange[]; remove: ElementChange[] } = { add: [], remove: [] };
    for (const u of plan.unknown) {
      const target = parseBanTarget(u.key);
      if (!target || unsettled.has(target.text)) continue;
      if (target.set !== u.set) {
        // In a set that no longer holds such targets (an IPv6 /64 in bannet6 from an older
        // version): out of there; an active ban is already in its own set, an unknown one is
        // adopted into it.
        moved.remove.push({ set: u.set, key: u.key });
        if (this.p.ledger.active(target.text)) continue;
      }
      // Lifted while the sets were read: the kernel element is on its way out, not a lost ban.
      if ((this.liftedAt.get(target.text) ?? -Infinity) >= t0) continue;
      // Banned while the sets were read: the ledger knows it now.
      if (target.set === u.set && this.p.ledger.active(target.text)) continue;
      const single = target.prefix.length === (target.family === 4 ? 32 : 128);
      const isProtected = single
        ? this.p.decider.whyProtected(target.prefix.network)
        : this.p.decider.whyPrefixProtected(target.prefix);
      if (isProtected) {
        this.p.flusher.queueRemove({ set: u.set, key: u.key });
        continue;
      }
      // policy.max_active_bans holds for what the kernel holds too (a lowered cap, a crash).
      if (!this.p.ledger.automaticRoom) {
        this.p.flusher.queueRemove({ set: u.set, key: u.key });
        this.stats.overCapRemoved++;
        continue;
      }
      if (target.set !== u.set) moved.add.push({ set: target.set, key: target.text, timeoutSec: u.expiresSec });
      writes.push(this.p.ledger.adopt(target.text, target.set, target.family, u.expiresSec, nowMs));
    }
    this.p.ledger.recordBans(writes);
    this.stats.adopted += writes.length;
    if (moved.remove.length > 0) await this.p.flusher.direct(moved);
    return {
      added: add.length,
      refreshed: refresh.length,
      kept: plan.kept,
      adopted: writes.length,
      readMs: Math.round(readMs),
      applyMs: Math.round(applyMs),
    };
  }
}
