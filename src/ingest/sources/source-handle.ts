/** What every running source gives its owner: its counters, and a way to stop it. */
import type { Readable } from 'node:stream';
import type { SourceStatsSnapshot } from '../source-stats.ts';

export interface SourceHandle {
  readonly name: string;
  /** Counters as a plain object (for the status API). */
  stats(): SourceStatsSnapshot;
  /** Stops reading, closes sockets/files, saves the file bookmark. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Call after handing a read of `stream` over: pauses it and resumes it on the next turn of the
 * event loop (while `alive()`), so that one read is handed over per turn. libuv reads a ready
 * stream up to 32 times in one go, so a writer that is ahead would make one long turn of parsing
 * and deciding, which every API request and nft answer would wait behind. The stream's own buffer
 * holds the rest meanwhile; nothing is dropped.
 */
export function resumeNextTurn(stream: Readable, alive: () => boolean): void {
  stream.pause();
  setImmediate(() => {
    if (alive()) stream.resume();
  });
}
