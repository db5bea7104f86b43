/**
 * Start-up and self-healing: what the store says is banned vs what the kernel holds. Pure: the
 * caller reads both sides, this says which element changes make the kernel right, and which
 * kernel elements nobody knows (adopted by the caller: a crash between nft and the store leaves
 * such elements, and they are real bans). Never a flush and re-add.
 */
import type { ElementBatch, ElementChange } from '../nft/elements.ts';
import type { SetElement } from '../nft/state.ts';
import type { BanSetName } from './ban-target.ts';

export interface ActiveBan {
  set: BanSetName;
  expiresMs: number | null;
}

export interface ReconcilePlan {
  batch: ElementBatch;
  /** Kernel elements of a ban set the store does not know. */
  unknown: Array<{ set: BanSetName; key: string; expiresSec: number | null }>;
  /** Active bans the kernel already holds with the right timeout. */
  kept: number;
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

export function reconcile(
  active: Iterable<readonly [string, ActiveBan]>,
  kernel: ReadonlyMap<BanSetName, readonly SetElement[]>,
  nowMs: number,
  options: ReconcileOptions = {},
): ReconcilePlan {
  const { toleranceSec = 5, minLeftSec = 0 } = options;
  const inKernel = new Map<string, SetElement>();
  for (const [set, els] of kernel) for (const e of els) inKernel.set(`${set}|${e.key}`, e);
  const add: ElementChange[] = [];
  const refresh: ElementChange[] = [];
  let kept = 0;
  const known = new Set<string>();
  for (const [target, ban] of active) {
    const id = `${ban.set}|${target}`;
    known.add(id);
    const want = remainingSec(ban.expiresMs, nowMs);
    const have = inKernel.get(id);
    if (want !== null && ban.expiresMs !== null && ban.expiresMs - nowMs < minLeftSec * 1000) continue;
    const change: ElementChange = { set: ban.set, key: target, timeoutSec: want };
    if (!have) {
      add.push(change);
    } else if (
      want === null
        ? have.expiresSec !== null
        : have.expiresSec === null || Math.abs(have.expiresSec - want) > toleranceSec
    ) {
      refresh.push(change);
    } else {
      kept++;
    }
  }
  const unknown: ReconcilePlan['unknown'] = [];
  for (const [id, e] of inKernel) {
    if (known.has(id)) continue;
    const set = id.slice(0, id.indexOf('|')) as BanSetName;
    unknown.push({ set, key: e.key, expiresSec: e.expiresSec });
  }
  return { batch: { add, refresh }, unknown, kept };
}
