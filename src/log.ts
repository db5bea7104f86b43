/**
 * Structured logging (pino). One place builds loggers; everything else takes a `Logger` argument,
 * so tests can log into an in-memory stream.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Where log lines go; stderr by default so that stdout stays for command output. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.NFTSENTRY_LOG_LEVEL ?? 'info';
  return pino(
    { name: 'nftsentry', level, base: { pid: process.pid } },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything: for pure-unit tests and for library use without logging. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Lets through at most `perWindow` calls per window and reports how many were suppressed:
 * bad input is logged at a bounded rate, never one line per bad line.
 */
export class RateLimitedLog {
  private windowStartMs = -Infinity;
  private usedInWindow = 0;
  private suppressed = 0;
  private readonly perWindow: number;
  private readonly windowMs: number;

  constructor(perWindow = 10, windowMs = 10_000) {
    this.perWindow = perWindow;
    this.windowMs = windowMs;
  }

  /** Returns null when the call should be suppressed, else how many were suppressed before it. */
  take(nowMs: number): { suppressedBefore: number } | null {
    if (nowMs - this.windowStartMs >= this.windowMs) {
      this.windowStartMs = nowMs;
      this.usedInWindow = 0;
    }
    if (this.usedInWindow >= this.perWindow) {
      this.suppressed++;
      return null;
    }
    this.usedInWindow++;
    const suppressedBefore = this.suppressed;
    this.suppressed = 0;
    return { suppressedBefore };
  }
}
