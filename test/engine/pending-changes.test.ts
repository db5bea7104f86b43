/**
 * PendingChanges, pure and synchronous: which queue a change goes to, coalescing per element
 * key across both queues (the latest decision wins), waiters carried over to the replacement,
 * and what one transaction takes.
 */
import { describe, expect, it } from 'vitest';
import { PendingChanges } from '../../src/engine/pending-changes.ts';
import { banWrite } from './helpers.ts';

const ban = (key: string, timeoutSec = 60) => ({ set: 'ban4', key, timeoutSec });

describe('PendingChanges', () => {
  it('automatic changes stay automatic; a change with a waiter goes to the operator queue', () => {
    const p = new PendingChanges();
    expect(p.addBan(ban('198.51.100.1'), false, banWrite('198.51.100.1'), null)).toBe('automatic');
    expect(p.addBan(ban('198.51.100.2'), false, banWrite('198.51.100.2'), () => undefined)).toBe('operator');
    expect(p.addRemove({ set: 'ban4', key: '198.51.100.3' }, null)).toBe('automatic');
    expect([p.sizeOf('automatic'), p.sizeOf('operator'), p.size, p.automaticBans]).toEqual([2, 1, 3, 1]);
  });

  it('the same target twice is one pending ban with the latest change; a pending add stays an add', () => {
    const p = new PendingChanges();
    p.addBan(ban('198.51.100.5', 3600), false, banWrite('198.51.100.5'), null);
    p.addBan(ban('198.51.100.5', 7200), true, banWrite('198.51.100.5'), null);
    const t = p.take('automatic', 10);
    expect(t.bans).toHaveLength(1);
    expect(t.bans[0]).toMatchObject({ change: { timeoutSec: 7200 }, refresh: false });
    expect(p.size).toBe(0);
  });

  it('a removal cancels a pending ban of the same element only (same set), and answers its waiters', () => {
    const p = new PendingChanges();
    const answered: string[] = [];
    p.addBan(ban('198.51.100.6'), false, banWrite('198.51.100.6'), () => answered.push('ban'));
    p.addRemove({ set: 'scanners4', key: '198.51.100.6' }, null);
    expect(p.sizeOf('operator')).toBe(1); // other set: the ban is still pending
    expect(p.addRemove({ set: 'ban4', key: '198.51.100.6' }, () => answered.push('remove'))).toBe('operator');
    const t = p.take('operator', 10);
    expect(t.bans).toEqual([]);
    expect(t.removes).toHaveLength(1);
    for (const d of t.removes[0]!.done ?? []) d();
    expect(answered).toEqual(['ban', 'remove']);
  });

  it('a ban replaces a pending removal of the same element; the removal waiter waits for the ban', () => {
    const p = new PendingChanges();
    let answered = false;
    p.addRemove({ set: 'ban4', key: '198.51.100.7' }, () => (answered = true));
    expect(p.addBan(ban('198.51.100.7'), false, banWrite('198.51.100.7'), null)).toBe('operator');
    const t = p.take('operator', 10);
    expect(t.removes).toEqual([]);
    expect(t.bans).toHaveLength(1);
    for (const d of t.bans[0]!.done!) d();
    expect(answered).toBe(true);
  });

  it('an automatic ban decided again while an operator ban of it waits joins the operator queue', () => {
    const p = new PendingChanges();
    p.addBan(ban('198.51.100.8'), false, banWrite('198.51.100.8'), () => undefined);
    expect(p.addBan(ban('198.51.100.8', 120), true, banWrite('198.51.100.8'), null)).toBe('operator');
    expect(p.sizeOf('automatic')).toBe(0);
    expect(p.take('operator', 10).bans[0]!.change.timeoutSec).toBe(120);
  });

  it('take: every removal alone, then at most maxBatch bans, oldest first', () => {
    const p = new PendingChanges();
    for (let i = 1; i <= 5; i++) p.addBan(ban(`198.51.100.${i}`), false, banWrite(`198.51.100.${i}`), null);
    p.addRemove({ set: 'ban4', key: '198.51.100.50' }, null);
    p.addRemove({ set: 'ban4', key: '198.51.100.51' }, null);
    const t = p.take('automatic', 3);
    expect(t.removes.map((r) => r.change.key)).toEqual(['198.51.100.50', '198.51.100.51']);
    expect(t.bans).toEqual([]);
    // Bans taken with the removals would be out of the queue while the removals are sent: a
    // removal of one of them decided then could not cancel it.
    const next = p.take('automatic', 3);
    expect(next.removes).toEqual([]);
    expect(next.bans.map((b) => b.change.key)).toEqual(['198.51.100.1', '198.51.100.2', '198.51.100.3']);
    expect(p.take('automatic', 3).bans.map((b) => b.change.key)).toEqual(['198.51.100.4', '198.51.100.5']);
  });
});
