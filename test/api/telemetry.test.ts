/** cachedReader: a slow reader (nft, engine status) answers from cache and refreshes in the background. */
import { describe, it, expect } from 'vitest';
import { cachedReader } from '../../src/cached-reader.ts';
import { Histogram } from '../../src/api/histogram.ts';
import { renderPrometheus } from '../../src/api/prometheus.ts';

describe('cachedReader', () => {
  it('waits for the first read only, then serves the cache and refreshes once in the background', async () => {
    let now = 0;
    let reads = 0;
    let release: (() => void) | null = null;
    const read = () =>
      new Promise<number>((resolve) => {
        reads++;
        const n = reads;
        release = () => resolve(n);
      });
    const get = cachedReader(read, 1000, () => now);
    const first = get();
    release!();
    expect(await first).toBe(1);
    now = 500;
    expect(await get()).toBe(1);
    expect(reads).toBe(1);
    now = 1500;
    expect(await get()).toBe(1); // stale, served at once; one refresh started
    expect(await get()).toBe(1);
    expect(reads).toBe(2);
    release!();
    await new Promise((r) => setImmediate(r));
    expect(await get()).toBe(2);
  });

  it('a ttl given as a function is asked at each call (the engine stretches it after slow reads)', async () => {
    let now = 0;
    let ttl = 1000;
    let reads = 0;
    const get = cachedReader(
      async () => ++reads,
      () => ttl,
      () => now,
    );
    expect(await get()).toBe(1);
    now = 1500;
    ttl = 5000; // the last read was slow: the value stays fresh longer
    expect(await get()).toBe(1);
    expect(reads).toBe(1);
    ttl = 1000;
    expect(await get()).toBe(1); // now stale: served, and one refresh started
    await new Promise((r) => setImmediate(r));
    expect(reads).toBe(2);
    expect(await get()).toBe(2);
  });

  it('after a quiet longer than 5 ttls the caller waits for a fresh value instead of the old one', async () => {
    let now = 0;
    let reads = 0;
    const get = cachedReader(
      async () => ++reads,
      1000,
      () => now,
    );
    expect(await get()).toBe(1);
    now = 4999;
    expect(await get()).toBe(1); // stale but recent: served, one refresh behind
    await new Promise((r) => setImmediate(r));
    now = 4999 + 5000;
    expect(await get()).toBe(3); // too old: waited for
    expect(reads).toBe(3);
  });

  it('a failed read is thrown to the waiting caller and not cached', async () => {
    let fail = true;
    const get = cachedReader(
      async () => {
        if (fail) throw new Error('nft gone');
        return 'ok';
      },
      1000,
      () => 0,
    );
    await expect(get()).rejects.toThrow('nft gone');
    fail = false;
    expect(await get()).toBe('ok');
  });
});

describe('Prometheus rendering', () => {
  it('escapes label values and renders histograms cumulatively', () => {
    const h = new Histogram([1, 2]);
    h.observe(0.5);
    h.observe(1.5);
    h.observe(5);
    const text = renderPrometheus([
      { name: 'x_total', help: 'a\nb', type: 'counter', samples: [{ labels: { why: 'a"b\\c\nd' }, value: 3 }] },
      {
        name: 'y_seconds',
        help: 'h',
        type: 'histogram',
        histograms: [{ labels: { route: '/v1' }, snapshot: h.snapshot() }],
      },
    ]);
    expect(text).toBe(
      [
        '# HELP x_total a\\nb',
        '# TYPE x_total counter',
        'x_total{why="a\\"b\\\\c\\nd"} 3',
        '# HELP y_seconds h',
        '# TYPE y_seconds histogram',
        'y_seconds_bucket{route="/v1",le="1"} 1',
        'y_seconds_bucket{route="/v1",le="2"} 2',
        'y_seconds_bucket{route="/v1",le="+Inf"} 3',
        'y_seconds_sum{route="/v1"} 7',
        'y_seconds_count{route="/v1"} 3',
        '',
      ].join('\n'),
    );
  });
});
