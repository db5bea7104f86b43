/**
 * Gives the main thread's V8 heap back to the system once a burst is over.
 *
 * Under a burst of alerts the heap grows into new pages (alerts queued, decisions, rows waiting
 * for the kernel and the store); once the burst is over most of it is garbage, but V8 keeps the
 * pages as headroom (committed, not used) and gives them back only when its memory reducer finds
 * the process idle, which a daemon woken by its timers, `nft monitor` and API clients seldom is:
 * at 100k bans the heap stayed at ~100 MB committed for ~35 MB in use (docs/engine.md, "Memory
 * per ban"). So, after a burst (at least `minDecisions` alerts decided since the last trim), once
 * no alert was decided for `quietMs` and the committed heap has grown by `minGrowthBytes` over its
 * size after the last trim, one full compacting collection runs (V8's "last resort" collection,
 * as under memory pressure): the pages that are only headroom go back. It pauses the main thread
 * while it runs (docs/engine.md has the times), which is why it waits for a quiet moment; under a
 * steady stream of alerts it never runs, and without alerts it never runs again. Start-up (the
 * ruleset, the restore of the bans, the warm-up) counts as a burst: the first quiet moment after
 * it trims once.
 *
 * HeapTrimPolicy is pure (readings in, a yes or no out); startHeapTrim reads the heap and runs it.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from '../log.ts';

export interface HeapTrimOptions {
  /** Growth of the committed heap over its size after the last trim for a trim to be worth it. */
  minGrowthBytes: number;
  /** Alerts decided since the last trim that make a burst. */
  minDecisions: number;
  /** How long no alert may have been decided before a trim runs (ms). */
  quietMs: number;
}

export const HEAP_TRIM_DEFAULTS: HeapTrimOptions = { minGrowthBytes: 4 << 20, minDecisions: 1000, quietMs: 10_000 };

export interface HeapReading {
  nowMs: number;
  /** V8's committed heap (`total_heap_size`). */
  committedBytes: number;
  /** A count that moves with every alert decided. */
  activity: number;
}

export class HeapTrimPolicy {
  private readonly o: HeapTrimOptions;
  /** Committed bytes after the last trim; null before the first. */
  private baseline: number | null = null;
  /** The activity count at the last trim. */
  private activityAtTrim = 0;
  private activity = Number.NaN;
  private activeAtMs = 0;

  constructor(options: HeapTrimOptions = HEAP_TRIM_DEFAULTS) {
    this.o = options;
  }

  /** Whether a trim is due now. */
  due(r: HeapReading): boolean {
    if (r.activity !== this.activity) {
      this.activity = r.activity;
      this.activeAtMs = r.nowMs;
    }
    const quiet = r.nowMs - this.activeAtMs >= this.o.quietMs;
    // No trim yet: start-up was the burst.
    if (this.baseline === null) return quiet;
    return (
      quiet &&
      r.activity - this.activityAtTrim >= this.o.minDecisions &&
      r.committedBytes >= this.baseline + this.o.minGrowthBytes
    );
  }

  /** A trim ran: the heap's size after it is the new baseline, the burst is behind. */
  trimmed(committedBytes: number): void {
    this.baseline = committedBytes;
    this.activityAtTrim = this.activity;
  }
}

type GcFunction = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;
let gcFunction: GcFunction | null = null;

/** V8's `gc` (as `--expose-gc` gives it), made available at run time. */
function gc(): GcFunction {
  if (!gcFunction) {
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as GcFunction;
  }
  return gcFunction;
}

export interface HeapTrimHandle {
  /** Trims run so far. */
  readonly trims: number;
  stop(): void;
}

/** Checks the heap every `everyMs` and trims it when the policy says so (logged at info). */
export function startHeapTrim(parts: {
  log: Logger;
  activity: () => number;
  everyMs?: number;
  options?: HeapTrimOptions;
}): HeapTrimHandle {
  const policy = new HeapTrimPolicy(parts.options);
  let trims = 0;
  const timer = setInterval(() => {
    const before = getHeapStatistics().total_heap_size;
    if (!policy.due({ nowMs: performance.now(), committedBytes: before, activity: parts.activity() })) return;
    const started = performance.now();
    gc()({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    const after = getHeapStatistics().total_heap_size;
    policy.trimmed(after);
    trims++;
    const mib = (b: number) => Math.round(b / 104857.6) / 10;
    parts.log.info(
      { committedMiB: { before: mib(before), after: mib(after) }, pauseMs: Math.round(performance.now() - started) },
      'heap trimmed after a burst',
    );
  }, parts.everyMs ?? 5000);
  timer.unref();
  return {
    get trims() {
      return trims;
    },
    stop: () => clearInterval(timer),
  };
}
