/**
 * Where a source's lines go: parse each, count it, hand alerts to the sink, log bad lines at a
 * bounded rate. One per source; each connection or file gets its own splitter feeding it, so the
 * partial lines of two clients never mix.
 */
import type { Logger } from '../log.ts';
import { RateLimitedLog } from '../log.ts';
import type { Clock } from '../clock.ts';
import type { BadReason } from './alert.ts';
import type { AlertSink } from './alert-queue.ts';
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
}

export class LineIntake implements LineSink {
  readonly stats: SourceStats;
  readonly maxLineBytes: number;
  private readonly parser: LineParser;
  private readonly sink: AlertSink;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly badLog = new RateLimitedLog(10, 60_000);

  constructor(options: LineIntakeOptions) {
    this.stats = new SourceStats(options.name, options.type);
    this.parser = new LineParser(options);
    this.maxLineBytes = options.maxLineBytes;
    this.sink = options.sink;
    this.log = options.log.child({ source: options.name });
    this.clock = options.clock;
  }

  get sinkHasRoom(): boolean {
    return this.sink.hasRoom;
  }

  whenSinkHasRoom(): Promise<void> {
    return this.sink.whenRoom();
  }

  newSplitter(): LineSplitter {
    return new LineSplitter(this, this.maxLineBytes);
  }

  /** Counts received bytes and splits them. */
  push(splitter: LineSplitter, chunk: Buffer): void {
    this.stats.bytes += chunk.length;
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
      if (!this.sink.offer({ source: stats.name, alert: r.alert, receivedMs: nowMs })) stats.dropped++;
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
