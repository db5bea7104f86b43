/** What every running source gives its owner: its counters, and a way to stop it. */
import type { SourceStatsSnapshot } from '../source-stats.ts';

export interface SourceHandle {
  readonly name: string;
  /** Counters as a plain object (for the status API). */
  stats(): SourceStatsSnapshot;
  /** Stops reading, closes sockets/files, saves the file bookmark. Idempotent. */
  stop(): Promise<void>;
}
