/**
 * The diff of the kernel's ban sets against the ledger's own index, element by element
 * (engine/reconcile.ts BanSetDiff over engine/index-sweep.ts): which active bans the listing met
 * is marked in the index, and a record written while the sets were read (a new ban, a refresh, an
 * unban, an expiry, a slot reused) is the ledger's newer word: neither sent nor reported unknown.
 */
import { describe, expect, it } from 'vitest';
import type { BanSetName } from '../../src/engine/ban-target.ts';
import { OffenderIndex } from '../../src/engine/offender-index.ts';
import { BanSetDiff } from '../../src/engine/reconcile.ts';

const now = 1_000_000_000;
const ban = (index: OffenderIndex, target: string, set: BanSetName, expiresMs: number | null = now + 600_000) =>
  index.setActive(target, { set, expiresMs, durationSec: 600, offences: 1, lastOffenceMs: now });
const el = (key: string, expiresSec: number | null = 600) => ({ key, timeoutSec: expiresSec, expiresSec });

describe('IndexSweep', () => {
  it('meets active bans of the set read; another set, an inactive record or none is not met', () => {
    const index = new OffenderIndex(86_400_000, null);
    ban(index, '198.51.100.1', 'ban4');
    ban(index, '2001:db8::1', 'ban6');
    ban(index, '198.51.100.2', 'ban4');
    index.setInactive('198.51.100.2');
    const sweep = index.sweep();
    expect(sweep.see('ban4', '198.51.100.1')).toMatchObject({ set: 'ban4', active: true });
    expect(sweep.see('ban4', '2001:db8::1')).toBeUndefined();
    expect(sweep.see('ban4', '198.51.100.2')).toBeUndefined();
    expect(sweep.see('ban4', '198.51.100.3')).toBeUndefined();
    expect([...sweep.unseen(['ban4', 'ban6'])].map(([k]) => k)).toEqual(['2001:db8::1']);
    expect([...sweep.unseen(['ban4'])]).toEqual([]);
  });

  it('a record written after the sweep began is "changed" and left out: new, refreshed, lifted, forgotten, slot reused', () => {
    const index = new OffenderIndex(1000, null);
    for (const t of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) ban(index, t, 'ban4');
    ban(index, '198.51.100.9', 'ban4');
    index.setInactive('198.51.100.9');
    const sweep = index.sweep();
    ban(index, '198.51.100.4', 'ban4'); // new
    ban(index, '198.51.100.1', 'ban4', now + 900_000); // refreshed
    index.setInactive('198.51.100.2'); // lifted or expired
    index.forget(now + 2000); // 198.51.100.9's slot is freed...
    ban(index, '198.51.100.5', 'ban4'); // ...and given to another target
    // .2 and .9 are forgotten (inactive, old): a target without a record is "changed" from now on.
    for (const t of ['198.51.100.1', '198.51.100.2', '198.51.100.4', '198.51.100.5', '198.51.100.77'])
      expect(sweep.see('ban4', t), t).toBe('changed');
    expect(index.sweep().see('ban4', '198.51.100.77')).toBeUndefined();
    expect(sweep.unchanged('198.51.100.1')).toBeUndefined();
    expect(sweep.unchanged('198.51.100.3')).toMatchObject({ set: 'ban4' });
    expect([...sweep.unseen(['ban4'])].map(([k]) => k)).toEqual(['198.51.100.3']);
  });
});

describe('BanSetDiff over the index', () => {
  it('missing -> add, wrong timeout -> refresh, right -> kept, unknown -> reported; what changed meanwhile is left alone', () => {
    const index = new OffenderIndex(86_400_000, null);
    for (const t of ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.5'])
      ban(index, t, 'ban4');
    ban(index, '2001:db8:1::/64', 'ban6net64', null);
    const diff = new BanSetDiff(index.sweep(), now, { minLeftSec: 2 });
    diff.element('ban4', el('198.51.100.2')); // right
    diff.element('ban4', el('198.51.100.3', 100)); // wrong timeout
    diff.element('ban4', el('198.51.100.99', 42)); // nobody's
    // While the sets are read: .4 expires in the ledger (its element is still listed), .5 is
    // refreshed (its element listed with the old time), .6 is banned (listed already).
    index.setInactive('198.51.100.4');
    ban(index, '198.51.100.5', 'ban4', now + 900_000);
    ban(index, '198.51.100.6', 'ban4');
    diff.element('ban4', el('198.51.100.4'));
    diff.element('ban4', el('198.51.100.5', 100));
    diff.element('ban4', el('198.51.100.6'));
    diff.element('ban6net64', el('2001:db8:1::/64', null));
    const plan = diff.finish(['ban4', 'ban6net64'], now + 1000, new Set(['198.51.100.77']));
    expect(plan.batch.add).toEqual([{ set: 'ban4', key: '198.51.100.1', timeoutSec: 599 }]);
    expect(plan.batch.refresh).toEqual([{ set: 'ban4', key: '198.51.100.3', timeoutSec: 599 }]);
    expect(plan.kept).toBe(2);
    expect(plan.unknown).toEqual([{ set: 'ban4', key: '198.51.100.99', expiresSec: 42 }]);
  });

  it('a ban with a change queued or in flight, or ending within minLeftSec, is not sent', () => {
    const index = new OffenderIndex(86_400_000, null);
    ban(index, '198.51.100.1', 'ban4');
    ban(index, '198.51.100.2', 'ban4', now + 1500);
    ban(index, '198.51.100.3', 'ban4');
    const diff = new BanSetDiff(index.sweep(), now, { minLeftSec: 2 });
    diff.element('ban4', el('198.51.100.3', 100));
    const plan = diff.finish(['ban4'], now, new Set(['198.51.100.1', '198.51.100.3']));
    expect(plan.batch).toEqual({ add: [], refresh: [] });
  });
});
