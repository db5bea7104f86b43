/**
 * A fixed-bucket histogram in the Prometheus sense (cumulative `le` buckets, sum, count), cheap
 * enough for hot paths: `observe` is a short loop over a few bounds. The engine records nft apply
 * durations into one; the API records its own request durations into another.
 */
export interface HistogramSnapshot {
  /** Upper bounds in seconds, ascending; `+Inf` is implied. */
  bounds: readonly number[];
  /** Cumulative counts per bound (same length as bounds). */
  cumulative: readonly number[];
  count: number;
  sumSec: number;
}

/** Default bounds for durations from 1 ms to 10 s. */
export const DURATION_BOUNDS_SEC: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export class Histogram {
  readonly bounds: readonly number[];
  private readonly counts: number[];
  private count = 0;
  private sumSec = 0;

  constructor(bounds: readonly number[] = DURATION_BOUNDS_SEC) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new RangeError('histogram bounds must be ascending');
    }
    this.bounds = [...bounds];
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  observe(valueSec: number): void {
    if (!Number.isFinite(valueSec) || valueSec < 0) return;
    this.count++;
    this.sumSec += valueSec;
    for (let i = 0; i < this.bounds.length; i++) {
      if (valueSec <= this.bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  snapshot(): HistogramSnapshot {
    const cumulative: number[] = [];
    let running = 0;
    for (const c of this.counts) {
      running += c;
      cumulative.push(running);
    }
    return { bounds: this.bounds, cumulative, count: this.count, sumSec: this.sumSec };
  }
}
