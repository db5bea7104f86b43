/**
 * The catch-up's diff, pure (`now`s are parameters): what Redis holds (per-ban keys and tombstones,
 * read at one moment with Redis's clock) against what this node holds (its own active bans, the
 * fleet bans it applied), turned into what to do:
 * - others' bans to apply (one under a tombstone decided at or before it is left out);
 * - own bans to publish again: their key is missing (a write lost at a failover, a data loss) or
 *   ends sooner than the ban here;
 * - bans here to lift: a fleet unban (tombstone) came after them.
 * A fleet ban here whose key is missing is kept: the key may only be lost; its own expiry ends it,
 * or its origin publishes it again, or a tombstone lifts it.
 *
 * Times on this node's clock become Redis's by the offset between the two read at the snapshot.
 */
import type { ParsedEvent } from './fleet-event.ts';
import type { OutboxEvent } from './fleet-store.ts';

/** A key ending within this of the ban here is not published again (clocks read apart). */
export const REPUBLISH_SLACK_MS = 2000;

export interface ResyncInput {
  /** This node's name. */
  node: string;
  /** The per-ban keys' values, parsed (bad ones included: the applier counts them). */
  bans: readonly ParsedEvent[];
  /** The tombstones' values, parsed (bad ones are ignored). */
  tombstones: readonly ParsedEvent[];
  /** This node's own active bans of the kinds it publishes (`localAtMs` set). */
  own: readonly OutboxEvent[];
  /** This node's active fleet bans: target -> the node it came from, when applied (this clock). */
  fleetBans: ReadonlyMap<string, { node: string; atMs: number }>;
  localNowMs: number;
  redisNowMs: number;
  /** Whether this node takes the events of `node` (accept_from; never its own). */
  accepts: (node: string) => boolean;
}

export interface ResyncPlan {
  /** Others' per-ban values to apply. */
  apply: ParsedEvent[];
  /** Own bans to publish again (the publisher sends them in batches behind its outbox). */
  republish: OutboxEvent[];
  /** Targets to lift here: a fleet unban by `byNode` came after the ban here. */
  lift: Array<{ target: string; byNode: string; own: boolean }>;
}

export function planResync(input: ResyncInput): ResyncPlan {
  const offset = input.redisNowMs - input.localNowMs;
  const tombs = new Map<string, { node: string; atMs: number }>();
  for (const t of input.tombstones) {
    if (!t.ok || t.event.atMs === null) continue;
    const prev = tombs.get(t.event.target);
    if (!prev || prev.atMs < t.event.atMs) tombs.set(t.event.target, { node: t.event.node, atMs: t.event.atMs });
  }
  const afterTomb = (target: string, atMs: number | null) => {
    const t = tombs.get(target);
    return !t || (atMs !== null && atMs > t.atMs);
  };

  const apply: ParsedEvent[] = [];
  const ownKeys = new Map<string, number | null>();
  const live = new Set<string>();
  for (const b of input.bans) {
    if (!b.ok) {
      apply.push(b);
      continue;
    }
    const e = b.event;
    if (e.node === input.node) ownKeys.set(e.target, e.expiresMs);
    else if (afterTomb(e.target, e.atMs)) {
      apply.push(b);
      if (input.accepts(e.node)) live.add(e.target);
    }
  }

  const republish: OutboxEvent[] = [];
  const lift: ResyncPlan['lift'] = [];
  for (const b of input.own) {
    const atMs = b.localAtMs === undefined ? null : b.localAtMs + offset;
    if (!afterTomb(b.target, atMs)) {
      // Unbanned by the fleet after it was decided: lifted here if this node takes that node's unbans.
      const byNode = tombs.get(b.target)!.node;
      if (input.accepts(byNode)) lift.push({ target: b.target, byNode, own: true });
      continue;
    }
    if (!ownKeys.has(b.target)) {
      republish.push(b);
      continue;
    }
    const keyExp = ownKeys.get(b.target)!;
    if (keyExp === null) continue;
    if (b.localExpiresMs === null || keyExp < b.localExpiresMs + offset - REPUBLISH_SLACK_MS) republish.push(b);
  }

  for (const [target, f] of input.fleetBans) {
    const t = tombs.get(target);
    if (!t || live.has(target) || t.atMs < f.atMs + offset) continue;
    if (t.node === input.node || input.accepts(t.node)) lift.push({ target, byNode: t.node, own: false });
  }
  return { apply, republish, lift };
}
