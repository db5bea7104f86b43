/**
 * The bans list's search (the start of the address), sorts and paging on a real SQLite table, and
 * the dashboard's summary (bans by source per bucket, top scanners, top signatures).
 */
import { describe, it, expect, beforeEach } from 'vitest';
import { DatabaseSync } from 'node:sqlite';
import { SCHEMA_SQL } from '../../src/store/store-schema.ts';
import { BanQueries, searchUpperBound } from '../../src/store/ban-queries.ts';
import { BanStats } from '../../src/store/ban-stats.ts';

const NOW = Date.parse('2026-11-21T12:00:00Z');
let db: DatabaseSync;
let q: BanQueries;

function insert(
  target: string,
  o: {
    source?: string;
    seenAgoMs?: number;
    expiresInMs?: number | null;
    offences?: number;
    hits?: number;
    active?: number;
    sid?: number;
    signature?: string | null;
  } = {},
) {
  const seen = NOW - (o.seenAgoMs ?? 0);
  db.prepare(
    `INSERT INTO bans (target, family, set_name, source, reason, sid, signature, first_seen_ms, last_seen_ms, expires_ms,
       duration_sec, active, offences, hits, last_offence_ms) VALUES (?, ?, ?, ?, 'r', ?, ?, ?, ?, ?, 3600, ?, ?, ?, ?)`,
  ).run(
    target,
    target.includes(':') ? 6 : 4,
    target.includes(':') ? 'ban6' : 'ban4',
    o.source ?? 'suricata',
    o.sid ?? 1,
    o.signature === undefined ? 'ET SCAN' : o.signature,
    seen,
    seen,
    o.expiresInMs === null ? null : NOW + (o.expiresInMs ?? 3_600_000),
    o.active ?? 1,
    o.offences ?? 1,
    o.hits ?? 1,
    seen,
  );
}

beforeEach(() => {
  db = new DatabaseSync(':memory:');
  db.exec(SCHEMA_SQL);
  q = new BanQueries(db);
});

const addrs = (r: { rows: Array<{ target: string }> }) => r.rows.map((x) => x.target);

describe('filter by source', () => {
  it('`fleet` lists the bans of every fleet node and nothing else', () => {
    insert('198.51.100.1', { source: 'fleet:gw-a' });
    insert('198.51.100.2', { source: 'fleet:gw-b', seenAgoMs: 1 });
    insert('198.51.100.3', { source: 'suricata' });
    insert('198.51.100.4', { source: 'fleetish' });
    const r = q.listActive({ source: 'fleet', sort: 'address', order: 'asc', limit: 10, offset: 0 });
    expect(r.total).toBe(2);
    expect(addrs(r)).toEqual(['198.51.100.1', '198.51.100.2']);
    expect(addrs(q.listActive({ source: 'fleet:gw-b', limit: 10, offset: 0 }))).toEqual(['198.51.100.2']);
  });
});

describe('search by the start of the address', () => {
  it('finds the targets that start with the text, and counts them all', () => {
    insert('198.51.100.7', { seenAgoMs: 3 });
    insert('198.51.100.70', { seenAgoMs: 2 });
    insert('198.51.101.1', { seenAgoMs: 1 });
    insert('2001:db8::1');
    insert('198.51.100.0/24', { seenAgoMs: 4 });
    const r = q.listActive({ search: '198.51.100.', limit: 10, offset: 0 });
    expect(r.total).toBe(3);
    expect(addrs(r)).toEqual(['198.51.100.70', '198.51.100.7', '198.51.100.0/24']);
    expect(addrs(q.listActive({ search: '198.51.100.7', limit: 10, offset: 0 }))).toEqual([
      '198.51.100.70',
      '198.51.100.7',
    ]);
    expect(addrs(q.listActive({ search: '2001:db8:', limit: 10, offset: 0 }))).toEqual(['2001:db8::1']);
    expect(q.listActive({ search: '203.', limit: 10, offset: 0 }).total).toBe(0);
  });

  it('the upper bound is the next text after every match', () => {
    expect(searchUpperBound('198.51.')).toBe('198.51/');
    expect(searchUpperBound('2001:db8:')).toBe('2001:db8;');
  });

  it('reads a range of the primary key, not every active ban', () => {
    const sql = [
      "SELECT count(*) FROM bans WHERE +active = 1 AND target >= '1' AND target < '2'",
      "SELECT * FROM bans WHERE +active = 1 AND target >= '1' AND target < '2' ORDER BY last_seen_ms DESC, target LIMIT 5",
    ];
    for (const s of sql) {
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${s}`).all() as Array<{ detail: string }>;
      expect(plan.map((p) => p.detail).join(' ')).toMatch(
        /SEARCH bans USING INDEX sqlite_autoindex_bans_1 \(target>\? AND target<\?\)/,
      );
    }
  });
});

describe('sorts and pages', () => {
  beforeEach(() => {
    insert('198.51.100.1', { seenAgoMs: 10, expiresInMs: 50_000, offences: 2 });
    insert('198.51.100.2', { seenAgoMs: 20, expiresInMs: null, offences: 5 });
    insert('198.51.100.3', { seenAgoMs: 30, expiresInMs: 10_000, offences: 1 });
    insert('198.51.100.4', { seenAgoMs: 5, active: 0 });
  });

  it.each([
    [undefined, undefined, ['198.51.100.1', '198.51.100.2', '198.51.100.3']],
    ['last_seen', 'asc', ['198.51.100.3', '198.51.100.2', '198.51.100.1']],
    ['expires', undefined, ['198.51.100.3', '198.51.100.1', '198.51.100.2']],
    ['expires', 'desc', ['198.51.100.2', '198.51.100.1', '198.51.100.3']],
    ['offences', undefined, ['198.51.100.2', '198.51.100.1', '198.51.100.3']],
    ['address', undefined, ['198.51.100.1', '198.51.100.2', '198.51.100.3']],
  ] as const)('sort %s %s', (sort, order, want) => {
    const r = q.listActive({ ...(sort ? { sort } : {}), ...(order ? { order } : {}), limit: 10, offset: 0 });
    expect(addrs(r)).toEqual(want);
    expect(r.total).toBe(3);
  });

  it('pages with limit and offset', () => {
    expect(addrs(q.listActive({ sort: 'address', limit: 2, offset: 1 }))).toEqual(['198.51.100.2', '198.51.100.3']);
  });
});

describe('dashboard summary', () => {
  it('counts bans by source per bucket in the window, and the top scanners and signatures', () => {
    insert('198.51.100.1', { source: 'suricata', seenAgoMs: 60_000, hits: 40, sid: 7, signature: 'ET SCAN A' });
    insert('198.51.100.2', { source: 'suricata', seenAgoMs: 70_000, hits: 5, sid: 7, signature: 'ET SCAN A' });
    insert('198.51.100.3', { source: 'kernel:scan', seenAgoMs: 1_000_000, hits: 9, signature: null });
    insert('198.51.100.4', { source: 'snort', seenAgoMs: 7_200_000, hits: 99, sid: 8, signature: 'OLD' });
    const s = new BanStats(db).summary(NOW - 3_600_000, NOW, 300_000);
    const total: Record<string, number> = {};
    for (const b of s.buckets) for (const [k, v] of Object.entries(b.bySource)) total[k] = (total[k] ?? 0) + v;
    expect(total).toEqual({ suricata: 2, 'kernel:scan': 1 });
    expect(s.buckets.length).toBeGreaterThanOrEqual(12);
    expect(s.buckets.at(-1)!.bySource).toEqual({ suricata: 2 });
    expect(s.topScanners.map((x) => [x.address, x.hits])).toEqual([
      ['198.51.100.1', 40],
      ['198.51.100.3', 9],
      ['198.51.100.2', 5],
    ]);
    expect(s.topSignatures).toEqual([{ sid: 7, signature: 'ET SCAN A', addresses: 2 }]);
  });
});
