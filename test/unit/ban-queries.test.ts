/**
 * The reads of bans (store/ban-queries.ts) on the Store's own connection and on a read-only one,
 * as the engine and the API worker use them: the same answers, the lookup rule (exact target,
 * else the longest active prefix ban covering the address), filters, counts, the row's view.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, type BanWrite } from '../../src/store/store.ts';
import { banViewOf } from '../../src/store/ban-queries.ts';
import { StoreReader } from '../../src/api/worker/store-reader.ts';
import { banTargetOf } from '../../src/engine/ban-target.ts';
import { parsePrefix } from '../../src/net/ip.ts';

const NOW = 1_000_000;
const dir = mkdtempSync(join(tmpdir(), 'nftsentry-queries-'));
let store: Store;
let reader: StoreReader;

function write(text: string, nowMs: number, extra: Partial<BanWrite> = {}): BanWrite {
  const t = banTargetOf(parsePrefix(text)!);
  return {
    target: t.text,
    family: t.family,
    set: t.set,
    source: 'suricata',
    reason: 'ET SCAN',
    sid: 2001219,
    signature: 'ET SCAN x',
    nowMs,
    expiresMs: nowMs + 3_600_000,
    durationSec: 3600,
    offences: 1,
    ...extra,
  };
}

beforeAll(() => {
  store = new Store(join(dir, 'state.db'));
  store.recordBans([
    write('198.51.100.7', NOW),
    write('198.51.100.0/24', NOW + 1, { source: 'manual', reason: 'net' }),
    write('198.51.0.0/16', NOW + 2),
    write('2001:db8:1::/64', NOW + 3, { source: 'snort', expiresMs: null, durationSec: null }),
    write('2001:db8::/32', NOW + 4),
    write('203.0.113.9', NOW + 5),
    write('192.0.2.0/24', NOW + 6),
  ]);
  store.deactivate(['203.0.113.9', '192.0.2.0/24']);
  reader = new StoreReader(join(dir, 'state.db'));
});

afterAll(() => {
  reader.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const at = (text: string) => parsePrefix(text)!;

describe('BanQueries', () => {
  it('finds the exact target first, else the longest active prefix ban covering the address', () => {
    for (const q of [store.queries, reader.queries]) {
      expect(q.covering(at('198.51.100.7'))?.target).toBe('198.51.100.7');
      expect(q.covering(at('198.51.100.8'))?.target).toBe('198.51.100.0/24');
      expect(q.covering(at('198.51.7.1'))?.target).toBe('198.51.0.0/16');
      expect(q.covering(at('2001:db8:1::5'))?.target).toBe('2001:db8:1::/64');
      expect(q.covering(at('2001:db8:2::5'))?.target).toBe('2001:db8::/32');
      // Inactive rows hold nothing: the history stays, the ban does not.
      expect(q.covering(at('203.0.113.9'))).toBeUndefined();
      expect(q.covering(at('192.0.2.1'))).toBeUndefined();
      expect(q.get('203.0.113.9')?.active).toBe(0);
    }
  });

  it('takes the prefix bans from the caller when given (the engine keeps them in memory)', () => {
    expect(store.queries.activePrefixTargets().sort()).toEqual([
      '198.51.0.0/16',
      '198.51.100.0/24',
      '2001:db8:1::/64',
      '2001:db8::/32',
    ]);
    expect(store.queries.covering(at('198.51.100.8'), ['198.51.0.0/16'])?.target).toBe('198.51.0.0/16');
    // The longest given prefix is the answer, also when the table has it inactive.
    expect(store.queries.covering(at('192.0.2.1'), ['192.0.2.0/24'])).toBeUndefined();
  });

  it('lists active bans newest first, filtered and paged, the same on both connections', () => {
    const all = store.queries.listBans({ limit: 10, offset: 0 }, NOW);
    expect(all.total).toBe(5);
    expect(all.items.map((b) => b.address)).toEqual([
      '2001:db8::/32',
      '2001:db8:1::/64',
      '198.51.0.0/16',
      '198.51.100.0/24',
      '198.51.100.7',
    ]);
    expect(reader.queries.listBans({ limit: 10, offset: 0 }, NOW)).toEqual(all);
    expect(store.queries.listBans({ source: 'manual', limit: 10, offset: 0 }, NOW).items.map((b) => b.address)).toEqual(
      ['198.51.100.0/24'],
    );
    expect(store.queries.listBans({ reason: 'ET SCAN', limit: 2, offset: 1 }, NOW)).toMatchObject({
      total: 4,
      items: [{ address: '2001:db8:1::/64' }, { address: '198.51.0.0/16' }],
    });
    expect(store.queries.listBans({ limit: 0, offset: 0 }, NOW)).toEqual({ total: 5, items: [] });
    expect(reader.queries.countActiveBySource()).toEqual({ suricata: 3, manual: 1, snort: 1 });
  });

  it('shapes a row as the API shows it', () => {
    expect(reader.queries.getBan(at('198.51.100.8'), NOW + 1 + 1500, undefined)).toEqual({
      address: '198.51.100.0/24',
      family: 4,
      source: 'manual',
      reason: 'net',
      sid: 2001219,
      signature: 'ET SCAN x',
      firstSeenMs: NOW + 1,
      lastSeenMs: NOW + 1,
      expiresMs: NOW + 1 + 3_600_000,
      remainingSec: 3599,
      offences: 1,
    });
    expect(store.queries.getBan(at('2001:db8:1::1'), NOW)).toMatchObject({
      family: 6,
      source: 'snort',
      expiresMs: null,
      remainingSec: null,
    });
    expect(
      banViewOf(
        {
          target: '198.51.100.1',
          set_name: 'ban4',
          expires_ms: 5000,
          duration_sec: 5,
          active: 1,
          offences: 2,
          last_offence_ms: 0,
        },
        9000,
      ),
    ).toMatchObject({
      address: '198.51.100.1',
      family: 4,
      source: 'manual',
      reason: '',
      remainingSec: 0,
      offences: 2,
      firstSeenMs: 0,
    });
  });
});
