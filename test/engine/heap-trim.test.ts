/**
 * engine/heap-trim.ts: the policy (pure, explicit readings) trims only after a burst of decisions,
 * once none came for `quietMs`, and when the committed heap grew by `minGrowthBytes` over its size
 * after the last trim; and the real trim, in this process, gives back the pages a burst of
 * garbage grew the heap into.
 */
import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { HeapTrimPolicy, startHeapTrim } from '../../src/engine/heap-trim.ts';

const MiB = 1 << 20;

describe('HeapTrimPolicy', () => {
  const options = { minGrowthBytes: 4 * MiB, minDecisions: 1000, quietMs: 10_000 };

  it('start-up is a burst: the first quiet moment trims once', () => {
    const p = new HeapTrimPolicy(options);
    expect(p.due({ nowMs: 0, committedBytes: 40 * MiB, activity: 0 })).toBe(false);
    expect(p.due({ nowMs: 5_000, committedBytes: 40 * MiB, activity: 3 })).toBe(false);
    expect(p.due({ nowMs: 14_000, committedBytes: 40 * MiB, activity: 3 })).toBe(false);
    expect(p.due({ nowMs: 15_000, committedBytes: 40 * MiB, activity: 3 })).toBe(true);
    p.trimmed(30 * MiB);
    expect(p.due({ nowMs: 60_000, committedBytes: 40 * MiB, activity: 3 })).toBe(false);
  });

  it('due after a burst of decisions, once quiet, when the heap grew: each of the three is needed', () => {
    const p = new HeapTrimPolicy(options);
    expect(p.due({ nowMs: -20_000, committedBytes: 30 * MiB, activity: 50 })).toBe(false);
    expect(p.due({ nowMs: 0, committedBytes: 30 * MiB, activity: 50 })).toBe(true);
    p.trimmed(30 * MiB);
    // The burst: 1,000 decisions, the heap grown by 60 MiB; still deciding.
    expect(p.due({ nowMs: 5_000, committedBytes: 90 * MiB, activity: 1050 })).toBe(false);
    expect(p.due({ nowMs: 10_000, committedBytes: 90 * MiB, activity: 1050 })).toBe(false);
    // Quiet for 10 s since the last decision.
    expect(p.due({ nowMs: 15_000, committedBytes: 90 * MiB, activity: 1050 })).toBe(true);
    p.trimmed(34 * MiB);
    // Without a new burst, no trim however the heap grows.
    expect(p.due({ nowMs: 100_000, committedBytes: 80 * MiB, activity: 1050 })).toBe(false);
    // A new burst of fewer than 1,000 decisions: none either.
    expect(p.due({ nowMs: 200_000, committedBytes: 80 * MiB, activity: 2049 })).toBe(false);
    expect(p.due({ nowMs: 300_000, committedBytes: 80 * MiB, activity: 2050 })).toBe(false);
    expect(p.due({ nowMs: 310_000, committedBytes: 80 * MiB, activity: 2050 })).toBe(true);
  });

  it('a burst that left the heap less than minGrowthBytes larger needs no trim', () => {
    const p = new HeapTrimPolicy(options);
    expect(p.due({ nowMs: -10_000, committedBytes: 30 * MiB, activity: 0 })).toBe(false);
    expect(p.due({ nowMs: 0, committedBytes: 30 * MiB, activity: 0 })).toBe(true);
    p.trimmed(30 * MiB);
    expect(p.due({ nowMs: 20_000, committedBytes: 33 * MiB, activity: 5000 })).toBe(false);
    expect(p.due({ nowMs: 40_000, committedBytes: 33 * MiB, activity: 5000 })).toBe(false);
    expect(p.due({ nowMs: 60_000, committedBytes: 34 * MiB, activity: 5000 })).toBe(true);
  });
});

describe('startHeapTrim in this process', () => {
  it('gives back the heap pages a burst of garbage grew into', async () => {
    const log = createLogger({ level: 'silent' });
    let decided = 0;
    const trim = startHeapTrim({
      log,
      activity: () => decided,
      everyMs: 50,
      options: { minGrowthBytes: 8 * MiB, minDecisions: 1, quietMs: 0 },
    });
    try {
      // The start-up trim first (quietMs 0: at the first reading), then a burst.
      const deadline0 = Date.now() + 20_000;
      while (trim.trims === 0 && Date.now() < deadline0) await new Promise((r) => setTimeout(r, 20));
      expect(trim.trims).toBe(1);
      let burst: Array<{ n: number; s: string }> | null = Array.from({ length: 600_000 }, (_, n) => ({
        n,
        s: `k${n}`,
      }));
      const grown = getHeapStatistics().total_heap_size;
      expect(burst.length).toBe(600_000);
      burst = null;
      decided = 1;
      const deadline = Date.now() + 20_000;
      while (trim.trims === 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(trim.trims).toBe(2);
      expect(getHeapStatistics().total_heap_size).toBeLessThan(grown - 8 * MiB);
    } finally {
      trim.stop();
    }
  });
});
