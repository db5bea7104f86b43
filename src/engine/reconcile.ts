/**
 * Start-up and self-healing: what the ledger says is banned vs what the kernel holds. Pure: the
 * caller reads the kernel, this says which element changes make the kernel right, and which
 * kernel elements nobody knows (adopted by the caller: a crash between nft and the store leaves
 * such elements, and they are real bans). Never a flush and re-add.
 *
 * BanSetDiff takes the kernel's elements one at a time as the listing is read
 * (kernel-bans.ts eachBanSetElement) and keeps only what differs: which active bans were met is a
 * mark in the ledger's own index (ActiveSweep), not a copy of the bans or of the listing, so the
 * check of a million bans holds no per-ban memory beyond the changes it finds.
 */
import type { ElementBatch, ElementChange } from '../nft/elements.ts';
import type { SetElement } from '../nft/state.ts';
import type { BanSetName } from './ban-target.ts';

export interface ActiveBan {
  set: BanSetName;
  expiresMs: number | null;
}

/** The kernel element of a ban set the ledger does not know. */
export interface UnknownElement {
  set: BanSetName;
  key: string;
  expiresSec: number | null;
}

export interface ReconcilePlan {
  batch: ElementBatch;
  /** Kernel elements of a ban set the ledger does not know. */
  unknown: UnknownElement[];
  /** Active bans the kernel already holds with the right timeout. */
  kept: number;
}

/**
 * The active bans as a diff meets them (offender-index.ts gives the ledger's). `see` marks the
 * ban of `key` in `set` as met; 'changed': the ledger wrote that record after the diff began (its
 * word is newer than the listing: left alone).
 */
export interface ActiveSweep {
  see(set: BanSetName, key: string): ActiveBan | 'changed' | undefined;
  /** The active ban of `key`, unless written after the diff began. */
  unchanged(key: string): ActiveBan | undefined;
  /** The active bans in `sets` not met, not written after the diff began. */
  unseen(sets: readonly BanSetName[]): Iterable<readonly [string, ActiveBan]>;
}

/** Seconds left of a ban, at least 1 (nft refuses 0); null for a permanent one. */
export function remainingSec(expiresMs: number | null, nowMs: number): number | null {
  if (expiresMs === null) return null;
  return Math.max(1, Math.ceil((expiresMs - nowMs) / 1000));
}

export interface ReconcileOptions {
  /** A kernel timeout this far off the ledger's is refreshed (seconds). */
  toleranceSec?: number;
  /** A ban with less time left is not sent (its element would expire before it mattered). */
  minLeftSec?: number;
}

export class BanSetDiff {
  readonly unknown: UnknownElement[] = [];
  private readonly sweep: ActiveSweep;
  private readonly nowMs: number;
  private readonly toleranceSec: number;
  private readonly minLeftMs: number;
  private readonly refreshKeys: string[] = [];
  private kept = 0;

  /** `nowMs`: when the listing was taken (the kernel's `expires` count from then). */
  constructor(sweep: ActiveSweep, nowMs: number, options: ReconcileOptions = {}) {
    this.sweep = sweep;
    this.nowMs = nowMs;
    this.toleranceSec = options.toleranceSec ?? 5;
    this.minLeftMs = (options.minLeftSec ?? 0) * 1000;
  }

  /** One element of ban set `set` as the kernel holds it. */
  element(set: BanSetName, e: SetElement): void {
    const ban = this.sweep.see(set, e.key);
    if (ban === 'changed') return;
    if (!ban) {
      this.unknown.push({ set, key: e.key, expiresSec: e.expiresSec });
      return;
    }
    if (this.endsSoon(ban, this.nowMs)) return;
    const want = remainingSec(ban.expiresMs, this.nowMs);
    const have = e.expiresSec;
    if (want === null ? have !== null : have === null || Math.abs(have - want) > this.toleranceSec)
      this.refreshKeys.push(e.key);
    else this.kept++;
  }

  /**
   * Once `sets` were read: the bans to add (not met) and to refresh (wrong timeout), with their
   * time left at `nowMs`; bans in `unsettled` (a change queued or in flight) are left alone.
   */
  finish(sets: readonly BanSetName[], nowMs: number, unsettled: ReadonlySet<string> = new Set()): ReconcilePlan {
    const change = (key: string, ban: ActiveBan): ElementChange | null =>
      unsettled.has(key) || this.endsSoon(ban, nowMs)
        ? null
        : { set: ban.set, key, timeoutSec: remainingSec(ban.expiresMs, nowMs) };
    const add: ElementChange[] = [];
    for (const [key, ban] of this.sweep.unseen(sets)) {
      const c = change(key, ban);
      if (c) add.push(c);
    }
    const refresh: ElementChange[] = [];
    for (const key of this.refreshKeys) {
      const ban = this.sweep.unchanged(key);
      const c = ban ? change(key, ban) : null;
      if (c) refresh.push(c);
    }
    return { batch: { add, refresh }, unknown: this.unknown, kept: this.kept };
  }

  private endsSoon(ban: ActiveBan, nowMs: number): boolean {
    return ban.expiresMs !== null && ban.expiresMs - nowMs < this.minLeftMs;
  }
}

/** An ActiveSweep over a list of active bans (none written meanwhile). */
export function sweepOf(active: Iterable<readonly [string, ActiveBan]>): ActiveSweep {
  const bans = new Map(active);
  const seen = new Set<string>();
  return {
    see: (set, key) => {
      const ban = bans.get(key);
      if (ban?.set !== set) return undefined;
      seen.add(key);
      return ban;
    },
    unchanged: (key) => bans.get(key),
    unseen: (sets) => [...bans].filter(([key, ban]) => !seen.has(key) && sets.includes(ban.set)),
  };
}

/** The whole diff at once, for callers that hold both sides. */
export function reconcile(
  active: Iterable<readonly [string, ActiveBan]>,
  kernel: ReadonlyMap<BanSetName, readonly SetElement[]>,
  nowMs: number,
  options: ReconcileOptions = {},
): ReconcilePlan {
  const bans = [...active];
  const diff = new BanSetDiff(sweepOf(bans), nowMs, options);
  for (const [set, els] of kernel) for (const e of els) diff.element(set, e);
  return diff.finish([...new Set([...kernel.keys(), ...bans.map(([, b]) => b.set)])], nowMs);
}
