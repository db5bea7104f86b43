/**
 * Where a source's lines go: parse each, count it, hand alerts to the sink, log bad lines at a
 * bounded rate. One per source; each connection or file gets its own splitter feeding it, so the
 * partial lines of two clients never mix.
 *
 * Sources that can wait (file, stdin: `canWait`) never drop: alerts the sink refuses while a chunk
 * is being split are held here (at most one chunk's worth) and the source awaits `waitForRoom()`
 * before reading on. Sockets cannot wait: a refused alert is dropped and counted.
 */
import type { Logger } from '../log.ts';
import { RateLimitedLog } from '../log.ts';
import type { Clock } from '../clock.ts';
import type { BadReason } from './alert.ts';
import type { AlertSink, IngestedAlert } from './alert-queue.ts';
import { LineParser, type LineParserOptions } from './line-parser.ts';
import { LineSplitter, type LineSink } from './line-splitter.ts';
import { SourceStats, type SourceType } from './source-stats.ts';

export interface LineIntakeOptions extends LineParserOptions {
  name: string;
  type: SourceType;
  maxLineBytes: number;
  sink: AlertSink;
  log: Logger;
  clock: Clock;
  /** Hold refused alerts and let the source wait, instead of dropping them. */
  canWait?: boolean;
}

export class LineIntake implements LineSink {
  readonly stats: SourceStats;
  readonly maxLineBytes: number;
  private readonly parser: LineParser;
  private readonly sink: AlertSink;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly badLog = new RateLimitedLog(10, 60_000);
  private readonly connLog = new RateLimitedLog(10, 60_000);
  private canWait: boolean;
  private held: IngestedAlert[] = [];
  private aborted = false;
  private wakeWaiter: (() => void) | null = null;

  constructor(options: LineIntakeOptions) {
    this.stats = new SourceStats(options.name, options.type);
    this.parser = new LineParser(options);
    this.maxLineBytes = options.maxLineBytes;
    this.sink = options.sink;
    this.log = options.log.child({ source: options.name });
    this.clock = options.clock;
    this.canWait = options.canWait ?? false;
  }

  /** True when a source that can wait should not read more before `waitForRoom()`. */
  get mustWait(): boolean {
    return this.held.length > 0 || !this.sink.hasRoom;
  }

  /**
   * Hands over held alerts as the sink makes room; resolves when it has room, or once
   * `abortWaits()` was called (at stop). Attaches nothing to long-lived promises.
   */
  async waitForRoom(): Promise<void> {
    while (!this.aborted && this.mustWait) {
      while (this.held.length > 0 && this.sink.offer(this.held[0]!)) this.held.shift();
      if (!this.mustWait) return;
      await new Promise<void>((resolve) => {
        this.wakeWaiter = resolve;
        void this.sink.whenRoom().then(resolve);
      });
      this.wakeWaiter = null;
    }
  }

  /** Stop: any current or later `waitForRoom` returns at once. */
  abortWaits(): void {
    this.aborted = true;
    this.wakeWaiter?.();
  }

  /** At stop: held alerts the sink still refuses are dropped, and counted. */
  releaseHeld(): void {
    for (const item of this.held) if (!this.sink.offer(item)) this.stats.dropped++;
    this.held = [];
  }

  newSplitter(): LineSplitter {
    return new LineSplitter(this, this.maxLineBytes);
  }

  /** Counts received bytes and splits them. */
  push(splitter: LineSplitter, chunk: Buffer): void {
    this.stats.bytes += chunk.length;
    this.parser.noteChunk(chunk);
    splitter.push(chunk);
  }

  line(buf: Buffer, start: number, end: number): void {
    const nowMs = this.clock();
    const stats = this.stats;
    stats.lines++;
    stats.lastLineMs = nowMs;
    const r = this.parser.parse(buf, start, end, nowMs);
    if (r.kind === 'skip') {
      if (r.why === 'blank') stats.blank++;
      else if (r.why === 'no_address') stats.noAddress++;
      else stats.nonAlerts++;
    } else if (r.kind === 'alert') {
      stats.alerts++;
      stats.lastEventMs = r.alert.timeMs;
      stats.lastLagMs = nowMs - r.alert.timeMs;
      const item = { source: stats.name, alert: r.alert, receivedMs: nowMs };
      if (this.held.length > 0) this.held.push(item);
      else if (!this.sink.offer(item)) {
        if (this.canWait) this.held.push(item);
        else stats.dropped++;
      }
    } else {
      this.bad(r.reason, r.detail ?? '', end - start);
    }
  }

  tooLong(bytes: number): void {
    this.stats.lines++;
    this.bad('too_long', `line of ${bytes} bytes or more, cap ${this.maxLineBytes}`, bytes);
  }

  /** A partial line cut off (disconnect, truncation, shutdown). */
  truncated(bytes: number, why: string): void {
    if (bytes > 0) this.bad('truncated', `${bytes} bytes of an unfinished line: ${why}`, bytes);
  }

  /** A connection closed or refused by the source (cap, idle timeout): counted, logged at a bounded rate. */
  connection(kind: 'evicted' | 'refused' | 'idleClosed', detail: Record<string, unknown>): void {
    this.stats[kind]++;
    const took = this.connLog.take(this.clock());
    if (took) this.log.warn({ kind, ...detail, suppressed: took.suppressedBefore }, 'source connection closed');
  }

  ioError(err: unknown, what: string): void {
    this.stats.errors++;
    const took = this.badLog.take(this.clock());
    if (took) this.log.warn({ err, what, suppressed: took.suppressedBefore }, 'source IO error');
  }

  private bad(reason: BadReason, detail: string, bytes: number): void {
    this.stats.countBad(reason);
    const took = this.badLog.take(this.clock());
    if (took) this.log.warn({ reason, detail, bytes, suppressed: took.suppressedBefore }, 'bad input line skipped');
  }
}
