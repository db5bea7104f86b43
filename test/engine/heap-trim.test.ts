/**
 * engine/heap-trim.ts: the policy (pure, explicit readings) trims only once the committed heap
 * has grown by the larger of 16 MiB and a quarter over its size after the last trim, and only
 * once no alert was decided for `quietMs`; and the real trim, in this process, gives back the
 * pages a burst of garbage grew the heap into.
 */
import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { HeapTrimPolicy, startHeapTrim } from '../../src/engine/heap-trim.ts';

const MiB = 1 << 20;

describe('HeapTrimPolicy', () => {
  it('the first reading is the baseline; a trim is due after enough growth and a quiet moment', () => {
    const p = new HeapTrimPolicy({ minGrowthBytes: 16 * MiB, growthRatio: 0.25, quietMs: 10_000 });
    expect(p.due({ nowMs: 0, committedBytes: 100 * MiB, activity: 1 })).toBe(false);
    // Grown by 24 MiB: less than a quarter of 100 MiB.
    expect(p.due({ nowMs: 20_000, committedBytes: 124 * MiB, activity: 1 })).toBe(false);
    // A quarter more, but an alert was decided 5 s ago.
    expect(p.due({ nowMs: 30_000, committedBytes: 125 * MiB, activity: 2 })).toBe(false);
    expect(p.due({ nowMs: 35_000, committedBytes: 125 * MiB, activity: 2 })).toBe(false);
    expect(p.due({ nowMs: 40_000, committedBytes: 125 * MiB, activity: 2 })).toBe(true);
    p.trimmed(104 * MiB);
    expect(p.due({ nowMs: 45_000, committedBytes: 125 * MiB, activity: 2 })).toBe(false);
    expect(p.due({ nowMs: 50_000, committedBytes: 130 * MiB, activity: 2 })).toBe(true);
  });

  it('a small heap needs the minimum growth, not a quarter of itself', () => {
    const p = new HeapTrimPolicy({ minGrowthBytes: 16 * MiB, growthRatio: 0.25, quietMs: 0 });
    p.due({ nowMs: 0, committedBytes: 20 * MiB, activity: 0 });
    expect(p.due({ nowMs: 1, committedBytes: 35 * MiB, activity: 0 })).toBe(false);
    expect(p.due({ nowMs: 2, committedBytes: 36 * MiB, activity: 0 })).toBe(true);
  });
});

describe('startHeapTrim in this process', () => {
  it('gives back the heap pages a burst of garbage grew into', async () => {
    const log = createLogger({ level: 'silent' });
    const trim = startHeapTrim({
      log,
      activity: () => 0,
      everyMs: 50,
      options: { minGrowthBytes: 8 * MiB, growthRatio: 0, quietMs: 0 },
    });
    try {
      // Let the first reading be taken as the baseline, then grow the heap by a burst.
      await new Promise((r) => setTimeout(r, 120));
      let burst: Array<{ n: number; s: string }> | null = Array.from({ length: 600_000 }, (_, n) => ({
        n,
        s: `k${n}`,
      }));
      const grown = getHeapStatistics().total_heap_size;
      expect(burst.length).toBe(600_000);
      burst = null;
      const deadline = Date.now() + 20_000;
      while (trim.trims === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(trim.trims).toBeGreaterThan(0);
      expect(getHeapStatistics().total_heap_size).toBeLessThan(grown - 8 * MiB);
    } finally {
      trim.stop();
    }
  });
});
