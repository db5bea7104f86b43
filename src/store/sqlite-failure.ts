/**
 * What a failed node:sqlite call says, in SQLite's own words: the result code's name
 * (`SQLITE_FULL`), its number and SQLite's message ("database or disk is full"). node:sqlite throws
 * an Error with `errcode` (the extended result code, whose low byte is the primary code) and
 * `errstr`; the store wraps it in an NftsentryError whose `cause` chain leads to it.
 */

import { ErrorCodes, NftsentryError } from '../errors.ts';

/** SQLite's primary result codes (sqlite3.h). */
const PRIMARY: Readonly<Record<number, string>> = {
  1: 'SQLITE_ERROR',
  2: 'SQLITE_INTERNAL',
  3: 'SQLITE_PERM',
  4: 'SQLITE_ABORT',
  5: 'SQLITE_BUSY',
  6: 'SQLITE_LOCKED',
  7: 'SQLITE_NOMEM',
  8: 'SQLITE_READONLY',
  9: 'SQLITE_INTERRUPT',
  10: 'SQLITE_IOERR',
  11: 'SQLITE_CORRUPT',
  12: 'SQLITE_NOTFOUND',
  13: 'SQLITE_FULL',
  14: 'SQLITE_CANTOPEN',
  15: 'SQLITE_PROTOCOL',
  16: 'SQLITE_EMPTY',
  17: 'SQLITE_SCHEMA',
  18: 'SQLITE_TOOBIG',
  19: 'SQLITE_CONSTRAINT',
  20: 'SQLITE_MISMATCH',
  21: 'SQLITE_MISUSE',
  22: 'SQLITE_NOLFS',
  23: 'SQLITE_AUTH',
  24: 'SQLITE_FORMAT',
  25: 'SQLITE_RANGE',
  26: 'SQLITE_NOTADB',
};

/** Failures caused by the rows themselves: writing them again fails again. */
const CAUSED_BY_DATA = new Set(['SQLITE_CONSTRAINT', 'SQLITE_MISMATCH', 'SQLITE_TOOBIG', 'SQLITE_RANGE']);

export interface SqliteFailure {
  /** `SQLITE_FULL`, ...; for an error that is not SQLite's, its own code (`ERR_INVALID_STATE`) or `UNKNOWN`. */
  code: string;
  /** SQLite's extended result code; null when the error is not SQLite's. */
  errcode: number | null;
  message: string;
}

/** The SQLite error inside `err` (itself or along its `cause` chain), described. */
export function sqliteFailure(err: unknown): SqliteFailure {
  let innermost: unknown = err;
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    innermost = e;
    const errcode = (e as { errcode?: unknown }).errcode;
    if (typeof errcode === 'number') {
      const errstr = (e as { errstr?: unknown }).errstr;
      return {
        code: PRIMARY[errcode & 0xff] ?? `SQLITE_${errcode}`,
        errcode,
        message: typeof errstr === 'string' && errstr ? errstr : e.message,
      };
    }
  }
  const code = (innermost as { code?: unknown } | null)?.code;
  const message = innermost instanceof Error ? innermost.message : String(innermost);
  return { code: typeof code === 'string' ? code : 'UNKNOWN', errcode: null, message };
}

/** True when the failure comes from the rows written, not from the file, the disk or a lock. */
export function causedByData(f: SqliteFailure): boolean {
  return CAUSED_BY_DATA.has(f.code);
}

/** True when the file is not a usable database (corrupt, or not SQLite at all). */
export function fileUnusable(f: SqliteFailure): boolean {
  return f.code === 'SQLITE_CORRUPT' || f.code === 'SQLITE_NOTADB';
}

/** Runs a store call; anything it throws that is not already typed becomes E_STORE_FAILED naming `what`. */
export function storeGuard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof NftsentryError) throw err;
    throw new NftsentryError(ErrorCodes.STORE_FAILED, `store (${what}): ${(err as Error).message}`, { cause: err });
  }
}
