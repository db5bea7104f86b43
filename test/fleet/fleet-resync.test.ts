/**
 * The resync's diff (fleet-resync.ts) as decision tables with explicit clocks (this node's one
 * minute behind Redis's): own bans whose key is missing or shorter are published again, a key
 * present and long enough is not; a missing key of another node's ban lifts nothing; a tombstone
 * lifts what was decided or applied before it, never what came after it; others' keys under a
 * tombstone are not applied; accept_from decides whose unbans count.
 */
import { describe, expect, it } from 'vitest';
import { parseFleetBanValue, parseFleetTombstone } from '../../src/fleet/fleet-event.ts';
import { planResync, type ResyncInput } from '../../src/fleet/fleet-resync.ts';
import type { OutboxEvent } from '../../src/fleet/fleet-store.ts';

const REDIS = 1_767_268_800_000;
/** This node's clock: a minute behind Redis's. */
const LOCAL = REDIS - 60_000;
const MIN = 60_000;

/** A per-ban key's value; `exp`, `at` on Redis's clock. */
const key = (node: string, target: string, exp: number | null, at?: number) =>
  parseFleetBanValue(
    JSON.stringify({
      eid: `${node}.1`,
      node,
      target,
      exp: exp === null ? '' : String(exp),
      ...(at === undefined ? {} : { at: String(at) }),
      source: 'manual',
      reason: 'r',
    }),
  );
const tomb = (node: string, target: string, at: number) =>
  parseFleetTombstone(
    JSON.stringify({
      eid: `${node}.9`,
      node,
      target,
      exp: String(REDIS + 60 * MIN),
      at: String(at),
      source: 'manual',
      reason: 'fleet unban',
    }),
  );
/** An own ban here; times on this node's clock. */
const own = (target: string, localExpiresMs: number | null, localAtMs: number): OutboxEvent => ({
  eid: '',
  type: 'ban',
  target,
  localExpiresMs,
  localAtMs,
  source: 'suricata',
  reason: 'et-scan',
});

function plan(over: Partial<ResyncInput>) {
  return planResync({
    node: 'gw-a',
    bans: [],
    tombstones: [],
    own: [],
    fleetBans: new Map(),
    localNowMs: LOCAL,
    redisNowMs: REDIS,
    accepts: (n) => n !== 'gw-a' && n !== 'gw-x',
    ...over,
  });
}

describe('planResync: own bans', () => {
  it('a missing key or a shorter one is published again; one as long (within the slack) or permanent is not', () => {
    const p = plan({
      own: [
        own('198.51.100.1', LOCAL + 10 * MIN, LOCAL - MIN),
        own('198.51.100.2', LOCAL + 10 * MIN, LOCAL - MIN),
        own('198.51.100.3', LOCAL + 10 * MIN, LOCAL - MIN),
        own('198.51.100.4', null, LOCAL - MIN),
        own('198.51.100.5', LOCAL + 10 * MIN, LOCAL - MIN),
      ],
      bans: [
        key('gw-a', '198.51.100.2', REDIS + 5 * MIN),
        key('gw-a', '198.51.100.3', REDIS + 10 * MIN - 1500),
        key('gw-a', '198.51.100.4', REDIS + 10 * MIN),
        key('gw-a', '198.51.100.5', null),
        // Another node's key of the same target is not this node's.
        key('gw-b', '198.51.100.1', REDIS + 10 * MIN),
      ],
    });
    expect(p.republish.map((b) => b.target)).toEqual(['198.51.100.1', '198.51.100.2', '198.51.100.4']);
    expect(p.lift).toEqual([]);
  });

  it('a tombstone after the ban lifts it (from an accepted node) and it is not published again', () => {
    const p = plan({
      own: [
        own('198.51.100.1', LOCAL + 10 * MIN, LOCAL - 2 * MIN),
        own('198.51.100.2', LOCAL + 10 * MIN, LOCAL - 2 * MIN),
      ],
      // In Redis's time the bans were decided at REDIS - 2 min; the unbans came a minute later.
      tombstones: [tomb('gw-c', '198.51.100.1', REDIS - MIN), tomb('gw-x', '198.51.100.2', REDIS - MIN)],
    });
    expect(p.republish).toEqual([]);
    // gw-x is not accepted here: its unban does not lift, and the ban is not sent (Redis would refuse it).
    expect(p.lift).toEqual([{ target: '198.51.100.1', byNode: 'gw-c', own: true }]);
  });

  it('a ban decided after the tombstone is published again as any other', () => {
    const p = plan({
      own: [own('198.51.100.1', LOCAL + 10 * MIN, LOCAL - MIN)],
      tombstones: [tomb('gw-c', '198.51.100.1', REDIS - 2 * MIN)],
    });
    expect(p.republish.map((b) => b.target)).toEqual(['198.51.100.1']);
    expect(p.lift).toEqual([]);
  });
});

describe("planResync: others' bans", () => {
  it('keys are applied; a fleet ban here whose key is missing is kept (it may only be lost)', () => {
    const k = key('gw-b', '198.51.100.7', REDIS + MIN, REDIS - MIN);
    const p = plan({
      bans: [k],
      fleetBans: new Map([['198.51.100.8', { node: 'gw-b', atMs: LOCAL - MIN }]]),
    });
    expect(p.apply).toEqual([k]);
    expect(p.lift).toEqual([]);
  });

  it('a tombstone lifts a fleet ban applied before it, not one applied after it, nor one a newer key holds', () => {
    const newer = key('gw-c', '198.51.100.9', REDIS + MIN, REDIS - 30_000);
    const older = key('gw-b', '198.51.100.9', REDIS + MIN, REDIS - 3 * MIN);
    const p = plan({
      bans: [older, newer],
      tombstones: [
        tomb('gw-c', '198.51.100.7', REDIS - MIN),
        tomb('gw-c', '198.51.100.8', REDIS - MIN),
        tomb('gw-b', '198.51.100.9', REDIS - MIN),
        tomb('gw-x', '198.51.100.10', REDIS - MIN),
      ],
      fleetBans: new Map([
        ['198.51.100.7', { node: 'gw-b', atMs: LOCAL - 2 * MIN }],
        ['198.51.100.8', { node: 'gw-b', atMs: LOCAL - 30_000 }],
        ['198.51.100.9', { node: 'gw-c', atMs: LOCAL - 2 * MIN }],
        ['198.51.100.10', { node: 'gw-b', atMs: LOCAL - 2 * MIN }],
      ]),
    });
    // The older key under the tombstone is left out; the newer one is applied.
    expect(p.apply).toEqual([newer]);
    expect(p.lift).toEqual([{ target: '198.51.100.7', byNode: 'gw-c', own: false }]);
  });

  it("this node's own fleet unban lifts too; keys written before tombstones existed (no `at`) are older", () => {
    const legacy = key('gw-b', '198.51.100.7', REDIS + MIN);
    const p = plan({
      bans: [legacy, key('gw-b', '198.51.100.8', REDIS + MIN)],
      tombstones: [tomb('gw-a', '198.51.100.7', REDIS - MIN)],
      fleetBans: new Map([['198.51.100.7', { node: 'gw-b', atMs: LOCAL - 2 * MIN }]]),
    });
    expect(p.apply.map((e) => e.ok && e.event.target)).toEqual(['198.51.100.8']);
    expect(p.lift).toEqual([{ target: '198.51.100.7', byNode: 'gw-a', own: false }]);
  });

  it('bad values are passed on to be counted; bad tombstones are ignored', () => {
    const bad = parseFleetBanValue('{');
    const p = plan({ bans: [bad], tombstones: [parseFleetTombstone('[]')] });
    expect(p.apply).toEqual([bad]);
  });
});
