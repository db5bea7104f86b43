/**
 * The fleet's pure parts: another node's ban decided here (protection, only ever lengthened,
 * max_duration, permanent), stream entries and per-ban values checked field by field (hostile
 * input), the consumer's reply readers, and the source kinds publish/accept filter by.
 */
import { describe, expect, it } from 'vitest';
import { banTargetOf } from '../../src/engine/ban-target.ts';
import { redisTimeMs, streamEntries } from '../../src/fleet/fleet-consumer.ts';
import { decideFleet, type FleetBan } from '../../src/fleet/fleet-decision.ts';
import { cleanText, parseFleetBanValue, parseFleetEntry, parseFleetTombstone } from '../../src/fleet/fleet-event.ts';
import { fleetKindOf } from '../../src/fleet/fleet-schema.ts';
import { parsePrefix } from '../../src/net/ip.ts';
import { config, ctxFor, T0 } from '../engine/helpers.ts';

const target = (t: string) => banTargetOf(parsePrefix(t)!);
const ban = (t: string, over: Partial<FleetBan> = {}): FleetBan => ({
  target: target(t),
  node: 'gw-a',
  origin: 'suricata',
  reason: 'et-scan',
  remainingMs: 600_000,
  maxSec: 86_400,
  ...over,
});

describe('decideFleet', () => {
  it('bans as fleet:<node> for the time left, rounded up to a second', () => {
    const ctx = ctxFor(config());
    expect(decideFleet(ban('198.51.100.7', { remainingMs: 599_200 }), ctx, T0)).toMatchObject({
      kind: 'ban',
      durationSec: 600,
      refresh: false,
      source: 'fleet:gw-a',
      reason: 'suricata: et-scan',
      offences: 1,
    });
  });

  it("never bans this node's allowlist, home networks or own addresses; a prefix over them neither", () => {
    const ctx = ctxFor(config(), ['198.18.0.1']);
    expect(decideFleet(ban('203.0.113.10'), ctx, T0)).toMatchObject({ kind: 'skip', why: 'allowlisted' });
    expect(decideFleet(ban('10.1.2.3'), ctx, T0)).toMatchObject({ kind: 'skip', why: 'home' });
    expect(decideFleet(ban('198.18.0.1'), ctx, T0)).toMatchObject({ kind: 'skip', why: 'own_address' });
    expect(decideFleet(ban('203.0.113.0/24'), ctx, T0)).toMatchObject({ kind: 'skip', why: 'allowlisted' });
    expect(decideFleet(ban('127.0.0.1'), ctx, T0)).toMatchObject({ kind: 'skip', why: 'loopback' });
  });

  it('an active ban is only lengthened: a shorter or equal one (within 1 s) is left alone', () => {
    const ctx = ctxFor(config());
    const set = (expiresMs: number | null) =>
      ctx.index.setActive('198.51.100.7', {
        set: 'ban4',
        expiresMs,
        durationSec: 600,
        offences: 2,
        lastOffenceMs: T0,
      });
    set(T0 + 600_000);
    expect(decideFleet(ban('198.51.100.7', { remainingMs: 300_000 }), ctx, T0)).toMatchObject({
      kind: 'skip',
      why: 'already_banned',
    });
    expect(decideFleet(ban('198.51.100.7', { remainingMs: 600_500 }), ctx, T0).kind).toBe('skip');
    expect(decideFleet(ban('198.51.100.7', { remainingMs: 900_000 }), ctx, T0)).toMatchObject({
      kind: 'ban',
      refresh: true,
      durationSec: 900,
      offences: 2,
    });
    set(null);
    expect(decideFleet(ban('198.51.100.7', { remainingMs: null }), ctx, T0).kind).toBe('skip');
  });

  it('max_duration caps a long or permanent ban; nothing left is no ban', () => {
    const ctx = ctxFor(config());
    expect(decideFleet(ban('198.51.100.8', { remainingMs: null, maxSec: 3600 }), ctx, T0)).toMatchObject({
      kind: 'ban',
      durationSec: 3600,
    });
    expect(decideFleet(ban('198.51.100.8', { remainingMs: 0 }), ctx, T0).kind).toBe('skip');
  });
});

const fields = (over: Record<string, string> = {}) =>
  Object.entries({
    v: '1',
    eid: 'gw-a.x.1',
    node: 'gw-a',
    type: 'ban',
    target: '198.51.100.7',
    exp: '1767268800000',
    source: 'suricata',
    reason: 'et-scan',
    ...over,
  }).flat();

describe('stream entries are hostile input', () => {
  it('a good entry: the target printed again in canonical form', () => {
    const p = parseFleetEntry(fields({ target: '2001:DB8:0:0:0::/64' }));
    expect(p).toMatchObject({
      ok: true,
      event: { node: 'gw-a', target: '2001:db8::/64', expiresMs: 1767268800000 },
      target: { set: 'ban6net64' },
    });
    expect(parseFleetEntry(fields({ exp: '' }))).toMatchObject({ ok: true, event: { expiresMs: null, atMs: null } });
    expect(parseFleetEntry(fields({ at: '1767268700000' }))).toMatchObject({
      ok: true,
      event: { atMs: 1767268700000 },
    });
  });

  it.each([
    ['nft syntax in the target', { target: '198.51.100.7 } ; flush ruleset' }],
    ['a host name', { target: 'example.com' }],
    ['a node name with a colon', { node: 'a:b' }],
    ['a fleet ban sent again', { source: 'fleet:gw-b' }],
    ['an unknown type', { type: 'flush' }],
    ['a negative expiry', { exp: '-5' }],
    ['a huge expiry', { exp: '99999999999999999999' }],
    ['another version', { v: '2' }],
    ['an eid with spaces', { eid: 'a b' }],
    ['a decision time that is no number', { at: '12x' }],
  ])('%s is refused', (_, over) => {
    expect(parseFleetEntry(fields(over as Record<string, string>)).ok).toBe(false);
  });

  it('odd field lists, non-strings and missing fields are refused, never thrown', () => {
    for (const f of [null, 'x', 42, ['v'], [1, 2], fields().slice(2), {}])
      expect(parseFleetEntry(f as unknown).ok).toBe(false);
  });

  it('a reason from another node is cut to 128 printable ASCII characters', () => {
    const p = parseFleetEntry(fields({ reason: `a\u0000b\n${'x'.repeat(500)}` }));
    expect(p.ok && p.event.reason).toBe(`a?b?${'x'.repeat(124)}`);
    expect(cleanText('ünï')).toBe('?n?');
  });

  it('per-ban values: JSON objects only', () => {
    expect(
      parseFleetBanValue(
        JSON.stringify({ eid: 'e.1', node: 'gw-b', target: '198.51.100.9', exp: '1', source: 'manual', reason: 'r' }),
      ),
    ).toMatchObject({ ok: true, event: { type: 'ban', node: 'gw-b' } });
    for (const v of ['{', '[]', 'null', 42, null, 'x'.repeat(9000)]) expect(parseFleetBanValue(v).ok).toBe(false);
    // A tombstone: an unban, its `exp` its own expiry.
    expect(
      parseFleetTombstone(
        JSON.stringify({
          eid: 'e.2',
          node: 'gw-c',
          target: '198.51.100.9',
          exp: '5',
          at: '4',
          source: 'manual',
          reason: 'r',
        }),
      ),
    ).toMatchObject({ ok: true, event: { type: 'unban', node: 'gw-c', atMs: 4, expiresMs: 5 } });
  });
});

describe('replies and kinds', () => {
  it('XREAD and TIME replies; anything else reads as nothing', () => {
    expect(streamEntries([['s', [['1-0', ['a', 'b']], ['bad', []], 'x']]])).toEqual([['1-0', ['a', 'b']]]);
    expect(streamEntries(null)).toEqual([]);
    expect(streamEntries([['s', 'x']])).toEqual([]);
    expect(redisTimeMs(['1767268800', '123456'])).toBe(1767268800123);
    expect(redisTimeMs(['x'])).toBeNull();
  });

  it('what publish and accept filter by', () => {
    expect(['suricata', 'snort', 'kernel:scan', 'manual', 'fleet:gw-a'].map(fleetKindOf)).toEqual([
      'alerts',
      'alerts',
      'kernel',
      'manual',
      null,
    ]);
  });
});
