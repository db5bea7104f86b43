/**
 * The store's file on disk: created owner-only (0600; SQLite gives its -wal and -shm the database
 * file's mode) in a directory of mode 0750; checked when opened (SQLite's quick_check, and the
 * columns nftsentry's tables need); moved aside with its -wal and -shm when it is not usable, so
 * that a fresh one can take its place and the old one stays for a look.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ErrorCodes, NftsentryError } from '../errors.ts';
import { fileUnusable, sqliteFailure } from './sqlite-failure.ts';
import { STORE_COLUMNS } from './store-schema.ts';

/** The files SQLite keeps beside a database in WAL mode. */
const COMPANIONS = ['', '-wal', '-shm'] as const;

/** Creates the directory (0750) and an empty database file (0600) unless it exists. */
export function createStoreFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

const unusable = (message: string, cause?: unknown) =>
  new NftsentryError(ErrorCodes.STORE_UNUSABLE, message, { cause, details: { problem: message } });

/**
 * Throws E_STORE_UNUSABLE when the file is not SQLite, SQLite finds it damaged (quick_check), or a
 * table of nftsentry's lacks a column (another program's file, or another schema); a table still
 * missing is fine (it is created). The check runs on a read-only connection, whose close neither
 * checkpoints nor deletes the -wal: an unusable file is moved aside as it was found. An empty or
 * missing file passes; a failure of another kind is left to the connection that writes.
 */
export function checkStoreFile(path: string): void {
  if (!existsSync(path) || statSync(path).size === 0) return;
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: true });
  } catch {
    return;
  }
  try {
    checkContents(db);
  } catch (err) {
    if (err instanceof NftsentryError) throw err;
    const f = sqliteFailure(err);
    if (fileUnusable(f)) throw unusable(f.message, err);
  } finally {
    db.close();
  }
}

function checkContents(db: DatabaseSync): void {
  const check = db.prepare('PRAGMA quick_check').all() as Array<{ quick_check: string }>;
  if (check[0]?.quick_check !== 'ok') {
    throw unusable(
      `integrity check failed: ${check
        .map((r) => r.quick_check)
        .slice(0, 3)
        .join('; ')}`,
    );
  }
  for (const [table, columns] of Object.entries(STORE_COLUMNS)) {
    const have = new Set(
      (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((r) => r.name),
    );
    if (have.size === 0) continue;
    const missing = columns.filter((c) => !have.has(c));
    if (missing.length > 0)
      throw unusable(`table ${table} lacks column(s) ${missing.join(', ')}: not nftsentry's schema`);
  }
}

/** `state.db` -> `state.db.corrupt-20261201T120000Z` (and its -wal, -shm); returns the new name. */
export function moveStoreAside(path: string, nowMs: number): string {
  const stamp = new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  let aside = `${path}.corrupt-${stamp}`;
  for (let n = 1; existsSync(aside); n++) aside = `${path}.corrupt-${stamp}-${n}`;
  for (const suffix of COMPANIONS) {
    if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
  }
  return aside;
}
