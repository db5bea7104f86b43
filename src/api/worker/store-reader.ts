/**
 * The API worker's own read-only connection to the store (SQLite in WAL mode: readers never wait
 * for the writer), so that listing and looking up bans never waits for the daemon's main thread.
 * The reads are the engine's own (store/ban-queries.ts) on this connection.
 */
import { DatabaseSync } from 'node:sqlite';
import { NftsentryError, ErrorCodes } from '../../errors.ts';
import { BanQueries } from '../../store/ban-queries.ts';
import { BanStats } from '../../store/ban-stats.ts';

export class StoreReader {
  private readonly db: DatabaseSync;
  readonly queries: BanQueries;
  readonly stats: BanStats;

  constructor(path: string) {
    try {
      this.db = new DatabaseSync(path, { readOnly: true });
      this.db.exec('PRAGMA busy_timeout = 2000;');
      this.queries = new BanQueries(this.db);
      this.stats = new BanStats(this.db);
    } catch (err) {
      throw new NftsentryError(
        ErrorCodes.STORE_FAILED,
        `cannot open store ${path} for reading: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  close(): void {
    this.db.close();
  }
}
