/**
 * PendingRows (pure) and the StoreWriter on a real store file whose write lock a second connection
 * holds (SQLITE_BUSY, the same as another process holding it): what waits, in which order, when a
 * retry is due, what is logged and how often, what is dropped, and the last attempt at stop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PendingRows } from '../../src/engine/pending-rows.ts';
import { StoreWriter } from '../../src/engine/store-writer.ts';
import { type BanWrite, Store, type StoreBatch } from '../../src/store/store.ts';
import { memoryLog } from './store-fault-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'nftsentry-store-writer-'));
const open: Array<{ close(): void }> = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function row(target: string, nowMs: number, over: Partial<BanWrite> = {}): BanWrite {
  return {
    target,
    family: 4,
    set: 'ban4',
    source: 'suricata',
    reason: `r${nowMs}`,
    sid: 1,
    signature: null,
    nowMs,
    expiresMs: nowMs + 3_600_000,
    durationSec: 3600,
    offences: 1,
    ...over,
  };
}

function store(): Store {
  const s = new Store(join(dir, `s${++n}.db`));
  open.push(s);
  return s;
}

const dump = (s: Store) =>
  s.db
    .prepare('SELECT target, reason, first_seen_ms, last_seen_ms, active, hits FROM bans ORDER BY target')
    .all()
    .map((r) => ({ ...r }));

describe('PendingRows', () => {
  it('merges per target: the newest row with hits added up and the first time; a deactivation after a row stays', () => {
    const p = new PendingRows();
    p.add({ rows: [row('192.0.2.1', 10), row('192.0.2.2', 10)] });
    p.add({ deactivate: ['192.0.2.1', '192.0.2.3'] });
    p.add({ rows: [row('192.0.2.2', 20)], grace: [{ target: '192.0.2.1', untilMs: 5 }] });
    p.add({ grace: [{ target: '192.0.2.1', untilMs: 7 }] });
    expect(p.size).toBe(4);
    const b = p.batch();
    expect(b.rows.map((r) => [r.target, r.nowMs, r.hits, r.firstSeenMs])).toEqual([
      ['192.0.2.1', 10, undefined, undefined],
      ['192.0.2.2', 20, 2, 10],
    ]);
    expect(b.deactivate).toEqual(['192.0.2.1', '192.0.2.3']);
    expect(b.grace).toEqual([{ target: '192.0.2.1', untilMs: 7 }]);
    expect(p.row('192.0.2.1')?.active).toBe(false);
    p.add({ rows: [row('192.0.2.1', 30)] });
    expect(p.row('192.0.2.1')).toMatchObject({ active: true, row: { nowMs: 30, hits: 2 } });
    expect(p.batch().deactivate).toEqual(['192.0.2.3']);
  });

  it('leaves the store as the same writes one by one would (random sequences of bans and unbans)', () => {
    let seed = 7;
    const rand = (k: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % k;
    };
    for (let round = 0; round < 30; round++) {
      const oneByOne = store();
      const merged = store();
      const before = [row('192.0.2.1', 1), row('192.0.2.4', 1)];
      oneByOne.recordBans(before);
      merged.recordBans(before);
      const pending = new PendingRows();
      for (let i = 0; i < 12; i++) {
        const target = `192.0.2.${1 + rand(4)}`;
        const op: StoreBatch = rand(3) === 0 ? { deactivate: [target] } : { rows: [row(target, 100 + i)] };
        oneByOne.write(op);
        pending.add(op);
      }
      merged.write(pending.batch());
      expect(dump(merged)).toEqual(dump(oneByOne));
    }
  });
});

describe('StoreWriter', () => {
  function setUp() {
    const s = store();
    const other = new DatabaseSync(s.path);
    open.push(other);
    const clock = { now: 1_000_000 };
    const logs = memoryLog();
    const w = new StoreWriter(s, logs.log, () => clock.now);
    return { s, other, clock, logs, w, rows: () => dump(s).length };
  }

  it('keeps what a locked store refuses, retries when due (250 ms doubling to 5 s), writes it all once the lock is gone', () => {
    const { s, other, clock, logs, w, rows } = setUp();
    other.exec('BEGIN EXCLUSIVE');
    w.write({ rows: [row('192.0.2.1', 1)] });
    expect(w.health()).toMatchObject({ degraded: true, pendingRows: 1, errors: { SQLITE_BUSY: 1 } });
    expect(w.health().lastError).toEqual({ code: 'SQLITE_BUSY', message: 'database is locked', atMs: clock.now });
    // Not due yet: a new write joins the pending rows without an attempt.
    w.write({ rows: [row('192.0.2.2', 2)], deactivate: ['192.0.2.1'] });
    expect(w.health()).toMatchObject({ pendingRows: 2, errors: { SQLITE_BUSY: 1 } });
    const attemptsAfter = (ms: number) => {
      clock.now += ms;
      w.retry();
      return w.health().errors.SQLITE_BUSY;
    };
    expect([attemptsAfter(249), attemptsAfter(1), attemptsAfter(499), attemptsAfter(1)]).toEqual([1, 2, 2, 3]);
    for (let i = 0; i < 6; i++) attemptsAfter(5000);
    expect(attemptsAfter(4999)).toBe(9);
    expect(attemptsAfter(1)).toBe(10);
    // One error line for the whole fault so far (at most one a minute).
    expect(logs.lines.filter((l) => l.level === 50)).toHaveLength(1);
    expect(logs.lines[0]).toMatchObject({ code: 'SQLITE_BUSY', errcode: 5, err: 'database is locked', pendingRows: 1 });
    clock.now += 60_000;
    w.retry();
    expect(logs.lines.filter((l) => l.level === 50).at(-1)).toMatchObject({ code: 'SQLITE_BUSY', unlogged: 9 });

    other.exec('ROLLBACK');
    expect(rows()).toBe(0);
    clock.now += 5000;
    w.retry();
    expect(w.health()).toMatchObject({ degraded: false, pendingRows: 0 });
    expect(dump(s).map((r) => [r.target, r.active])).toEqual([
      ['192.0.2.1', 0],
      ['192.0.2.2', 1],
    ]);
    expect(logs.find('store written again: the rows kept during the fault are in')).toMatchObject({ rows: 2 });
    // Written normally again: at once, no pending.
    w.write({ rows: [row('192.0.2.3', 3)] });
    expect(rows()).toBe(3);
  });

  it('drops rows the store refuses for what they are (a type), logs it, and stays healthy', () => {
    const { logs, w, rows } = setUp();
    w.write({ rows: [row('192.0.2.1', 1, { sid: 'not a number' as unknown as number })] });
    expect(w.health()).toMatchObject({ degraded: false, pendingRows: 0, errors: { SQLITE_CONSTRAINT: 1 } });
    expect(logs.find('store refused rows; not kept')).toMatchObject({ code: 'SQLITE_CONSTRAINT', dropped: 1 });
    w.write({ rows: [row('192.0.2.2', 2)] });
    expect(rows()).toBe(1);
  });

  it('at stop, waits for the lock once more; what still fails is logged as lost', () => {
    const { other, logs, w } = setUp();
    other.exec('BEGIN EXCLUSIVE');
    w.write({ rows: [row('192.0.2.1', 1)] });
    w.finish();
    expect(
      logs.find(
        'store still cannot be written at stop: its pending rows are lost; the next start adopts the bans the kernel holds, and a ban lifted during the fault may come back',
      ),
    ).toMatchObject({ level: 50, pendingRows: 1, code: 'SQLITE_BUSY' });
    other.exec('ROLLBACK');
    w.finish();
    expect(w.health().pendingRows).toBe(0);
  });

  it('a failed checkpoint is counted and logged, and leaves nothing pending', () => {
    const { s, clock, logs, w, rows } = setUp();
    s.db.close();
    w.checkpoint();
    expect(w.health()).toMatchObject({ degraded: false, errors: { ERR_INVALID_STATE: 1 } });
    expect(logs.find('store checkpoint failed')).toMatchObject({ code: 'ERR_INVALID_STATE' });
    // A write finds the connection closed and keeps its rows; the retry opens it again.
    w.write({ rows: [row('192.0.2.1', 1)] });
    expect(w.health().degraded).toBe(true);
    clock.now += 250;
    w.retry();
    expect(w.health().degraded).toBe(false);
    expect(rows()).toBe(1);
  });
});
