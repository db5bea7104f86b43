/**
 * Opening the store at start. A file that is not usable (damaged, not SQLite, another schema) is
 * moved aside as `<path>.corrupt-<time>` with its -wal and -shm, and a fresh store takes its
 * place: the daemon runs, and its start-up reconcile adopts the bans the kernel holds. Any other
 * failure (permissions, a lock held past the wait) is thrown: the file is left alone.
 */
import { ErrorCodes, isNftsentryError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { sqliteFailure } from './sqlite-failure.ts';
import { moveStoreAside } from './store-file.ts';
import { Store } from './store.ts';

/** The file a start found unusable, where it went, and why. */
export interface RecoveredStore {
  movedTo: string;
  /** `SQLITE_NOTADB`, `SQLITE_CORRUPT`, or E_STORE_UNUSABLE (integrity check, schema). */
  code: string;
  message: string;
  atMs: number;
}

export interface OpenedStore {
  store: Store;
  recoveredFrom: RecoveredStore | null;
}

export function openStore(path: string, log: Logger, nowMs: number): OpenedStore {
  try {
    return { store: new Store(path), recoveredFrom: null };
  } catch (err) {
    if (path === ':memory:' || !isNftsentryError(err, ErrorCodes.STORE_UNUSABLE)) throw err;
    const { code, message } = sqliteFailure(err);
    const movedTo = moveStoreAside(path, nowMs);
    const store = new Store(path);
    log.error(
      { path, movedTo, code, err: message },
      'store cannot be used: moved aside, started with an empty store; the bans the kernel holds are adopted',
    );
    return { store, recoveredFrom: { movedTo, code, message, atMs: nowMs } };
  }
}
