/**
 * FleetApplier's filters on stream entries, with the Decider and Enforcer it calls recorded:
 * this node's own events, nodes outside accept_from and kinds outside accept are not taken; an
 * event id seen before is applied once; an unban goes to the local unban; bad entries are counted.
 */
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/engine/decide.ts';
import type { Decider } from '../../src/engine/decider.ts';
import type { Enforcer } from '../../src/engine/enforcer.ts';
import { FleetApplier } from '../../src/fleet/fleet-applier.ts';
import type { FleetBan } from '../../src/fleet/fleet-decision.ts';
import { parseFleetBanValue } from '../../src/fleet/fleet-event.ts';
import { fleetSchema } from '../../src/fleet/fleet-schema.ts';
import { silentLogger } from '../../src/log.ts';
import type { IpPrefix } from '../../src/net/ip.ts';

const NOW = 1_767_268_800_000;

function applier(extra: Record<string, unknown> = {}) {
  const asked: FleetBan[] = [];
  const enforced: Decision[] = [];
  const unbans: string[] = [];
  const decider = {
    fleet: (b: FleetBan): Decision => {
      asked.push(b);
      return { kind: 'skip', why: 'allowlisted', address: b.target.text };
    },
    allowEntryFor: () => '198.51.100.0/24',
  } as unknown as Decider;
  const enforcer = { enforce: (d: Decision) => enforced.push(d) } as unknown as Enforcer;
  const cfg = fleetSchema.parse({ node: 'gw-a', redis: { url: '/run/redis.sock' }, ...extra });
  const a = new FleetApplier({
    cfg,
    decider,
    enforcer,
    unbanLocal: async (p: IpPrefix) => {
      unbans.push(p.text);
      return true;
    },
    clock: () => NOW,
    log: silentLogger(),
  });
  return { a, asked, enforced, unbans };
}

const entry = (over: Record<string, string>) =>
  Object.entries({
    v: '1',
    eid: `e.${Math.random().toString(36).slice(2)}`,
    node: 'gw-b',
    type: 'ban',
    target: '198.51.100.7',
    exp: String(NOW + 60_000),
    source: 'suricata',
    reason: 'r',
    ...over,
  }).flat();

describe('FleetApplier', () => {
  it("takes others' bans with the time left on Redis's clock; never its own", () => {
    const { a, asked, enforced } = applier();
    a.entries(
      [
        ['1-0', entry({})],
        ['2-0', entry({ node: 'gw-a' })],
      ],
      NOW + 10_000,
    );
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ node: 'gw-b', origin: 'suricata', remainingMs: 50_000 });
    // The refusal is counted where every decision is (the Enforcer).
    expect(enforced).toEqual([{ kind: 'skip', why: 'allowlisted', address: '198.51.100.7' }]);
    expect(a.stats()).toMatchObject({ received: 2, skipped: 1 });
  });

  it('accept_from and accept filter; an expired ban is no decision', () => {
    const { a, asked } = applier({ accept_from: ['gw-b'], accept: ['alerts'] });
    a.entries(
      [
        ['1-0', entry({ node: 'gw-c' })],
        ['2-0', entry({ source: 'manual' })],
        ['3-0', entry({ source: 'kernel:scan' })],
        ['4-0', entry({ exp: String(NOW - 1) })],
        ['5-0', entry({ source: 'snort' })],
      ],
      NOW,
    );
    expect(asked.map((b) => b.origin)).toEqual(['snort']);
    expect(a.stats().notAccepted).toBe(3);
  });

  it('an event id is applied once; an unban lifts locally; bad entries are counted', async () => {
    const { a, asked, unbans } = applier();
    const e = entry({ eid: 'gw-b.x.1' });
    a.entries(
      [
        ['1-0', e],
        ['2-0', e],
      ],
      NOW,
    );
    expect(asked).toHaveLength(1);
    expect(a.stats().duplicates).toBe(1);
    a.entries(
      [
        ['3-0', entry({ type: 'unban', exp: '' })],
        ['4-0', ['v', '1']],
      ],
      NOW,
    );
    await new Promise((r) => setImmediate(r));
    expect(unbans).toEqual(['198.51.100.7/32']);
    expect(a.stats().bad).toBe(1);
  });

  it('per-ban values of a resync: the targets in force are returned', () => {
    const { a } = applier();
    const v = (node: string, target: string) =>
      JSON.stringify({ eid: `${node}.1`, node, target, exp: String(NOW + 5000), source: 'manual', reason: 'x' });
    const present = a.keyEvents(
      [v('gw-b', '198.51.100.8'), v('gw-a', '198.51.100.9'), '{bad'].map(parseFleetBanValue),
      NOW,
    );
    expect([...present]).toEqual(['198.51.100.8']);
    expect(a.stats().bad).toBe(1);
  });
});
