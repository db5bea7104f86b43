/**
 * Where the file source remembers how far it has read: one row per source in the store's
 * `source_bookmarks` table (device, inode, byte offset of the first byte not yet handed over).
 * Takes the store's open DatabaseSync (node:sqlite, WAL); creates its table if missing. Statements
 * are prepared at each call (a few per bookmark interval): the store may open its connection again
 * (engine/store-writer.ts), which finalizes the statements prepared before.
 */
import type { DatabaseSync } from 'node:sqlite';
import { NftsentryError, ErrorCodes } from '../errors.ts';

export interface FileBookmark {
  path: string;
  /** st_dev and st_ino, as bigint (they may exceed 2^53). */
  dev: bigint;
  ino: bigint;
  /** Bytes of that file already handed over (always at a line boundary). */
  offset: number;
  updatedMs: number;
}

interface Row {
  path: string;
  dev: string;
  ino: string;
  offset: number;
  updated_ms: number;
}

export class SourceBookmarks {
  private readonly db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.db = db;
    try {
      db.exec(`CREATE TABLE IF NOT EXISTS source_bookmarks (
        source TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        dev TEXT NOT NULL,
        ino TEXT NOT NULL,
        offset INTEGER NOT NULL CHECK (offset >= 0),
        updated_ms INTEGER NOT NULL
      ) STRICT`);
    } catch (err) {
      throw new NftsentryError(ErrorCodes.STORE_FAILED, `cannot prepare source_bookmarks: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  get(source: string): FileBookmark | null {
    const row = this.run(() =>
      this.db.prepare('SELECT path, dev, ino, offset, updated_ms FROM source_bookmarks WHERE source = ?').get(source),
    ) as Row | undefined;
    if (!row) return null;
    return {
      path: row.path,
      dev: BigInt(row.dev),
      ino: BigInt(row.ino),
      offset: Number(row.offset),
      updatedMs: Number(row.updated_ms),
    };
  }

  set(source: string, bm: FileBookmark): void {
    this.run(() =>
      this.db
        .prepare(
          `INSERT INTO source_bookmarks (source, path, dev, ino, offset, updated_ms) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(source) DO UPDATE SET path = excluded.path, dev = excluded.dev, ino = excluded.ino,
             offset = excluded.offset, updated_ms = excluded.updated_ms`,
        )
        .run(source, bm.path, bm.dev.toString(), bm.ino.toString(), bm.offset, bm.updatedMs),
    );
  }

  delete(source: string): void {
    this.run(() => this.db.prepare('DELETE FROM source_bookmarks WHERE source = ?').run(source));
  }

  private run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw new NftsentryError(ErrorCodes.STORE_FAILED, `source_bookmarks: ${(err as Error).message}`, { cause: err });
    }
  }
}
