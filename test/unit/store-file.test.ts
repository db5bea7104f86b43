/**
 * The store file: created 0600 (its -wal and -shm too) in a 0750 directory; a write that fails
 * throws SQLite's own error (disk full on a small tmpfs: SQLITE_FULL, not "cannot rollback");
 * what counts as unusable (garbage, damaged pages, another schema) and what does not (another
 * program's tables beside ours, a permission problem); openStore moving an unusable file aside.
 */
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  existsSync,
  openSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { isNftsentryError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { sqliteFailure } from '../../src/store/sqlite-failure.ts';
import { openStore } from '../../src/store/store-opener.ts';
import { type BanWrite, Store } from '../../src/store/store.ts';
import { memoryLog, mountTmpfs, unmountTmpfs } from '../engine/store-fault-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'nftsentry-store-file-'));
const small = join(dir, 'small');
afterAll(() => {
  unmountTmpfs(small);
  rmSync(dir, { recursive: true, force: true });
});

const row = (i: number): BanWrite => ({
  target: `100.64.${i >> 8}.${i & 255}`,
  family: 4,
  set: 'ban4',
  source: 'suricata',
  reason: 'x'.repeat(200),
  sid: 1,
  signature: 'ET SCAN something long enough to take room',
  nowMs: 1,
  expiresMs: 2,
  durationSec: 1,
  offences: 1,
});

const mode = (p: string) => statSync(p).mode & 0o777;
const unusable = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return isNftsentryError(err, 'E_STORE_UNUSABLE') ? (err as Error).message : `other: ${(err as Error).message}`;
  }
  return 'opened';
};

describe('the store file', () => {
  it('is created 0600 with its -wal and -shm, in a directory of 0750', () => {
    const path = join(dir, 'new', 'sub', 'state.db');
    const s = new Store(path);
    s.recordBans([row(1)]);
    expect(mode(join(dir, 'new', 'sub'))).toBe(0o750);
    for (const p of [path, `${path}-wal`, `${path}-shm`]) expect([p, mode(p)]).toEqual([p, 0o600]);
    s.close();
  });

  it('a write on a full disk throws SQLITE_FULL ("database or disk is full"), and the next write works', () => {
    mkdirSync(small);
    mountTmpfs(small, 1);
    const s = new Store(join(small, 'state.db'));
    let failure;
    try {
      s.recordBans(Array.from({ length: 20_000 }, (_, i) => row(i)));
    } catch (err) {
      failure = sqliteFailure(err);
    }
    expect(failure).toEqual({ code: 'SQLITE_FULL', errcode: 13, message: 'database or disk is full' });
    expect(s.db.isTransaction).toBe(false);
    s.recordBans([row(1)]);
    expect(s.queries.get(row(1).target)).toBeDefined();
    s.close();
    unmountTmpfs(small);
  });

  it('is unusable when it is garbage, has damaged pages, or has our tables without our columns', () => {
    const garbage = join(dir, 'garbage.db');
    writeFileSync(garbage, Buffer.alloc(16_384, 0x5a));
    expect(unusable(() => new Store(garbage))).toMatch(/file is not a database/);

    const damaged = join(dir, 'damaged.db');
    const s = new Store(damaged);
    s.recordBans(Array.from({ length: 2000 }, (_, i) => row(i)));
    s.close();
    const fd = openSync(damaged, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, 3 * 4096);
    closeSync(fd);
    expect(unusable(() => new Store(damaged))).toMatch(/integrity check failed|malformed/);

    const other = join(dir, 'other-schema.db');
    const db = new DatabaseSync(other);
    db.exec("CREATE TABLE bans (id INTEGER PRIMARY KEY, ip TEXT); INSERT INTO bans (ip) VALUES ('192.0.2.1')");
    db.close();
    expect(unusable(() => new Store(other))).toMatch(/table bans lacks column\(s\) target, family/);
  });

  it("is usable with another program's tables beside ours; a path it cannot create is a failure, not unusable", () => {
    const shared = join(dir, 'shared.db');
    const db = new DatabaseSync(shared);
    db.exec('CREATE TABLE notes (t TEXT)');
    db.close();
    expect(unusable(() => new Store(shared).close())).toBe('opened');
    writeFileSync(join(dir, 'a-file'), '');
    expect(unusable(() => new Store(join(dir, 'a-file', 'state.db')))).toMatch(/^other: cannot open store/);
  });
});

describe('openStore', () => {
  it('moves an unusable file aside with its -wal and -shm, opens a fresh one, says so; the next open is clean', () => {
    const path = join(dir, 'recover', 'state.db');
    mkdirSync(join(dir, 'recover'));
    writeFileSync(path, Buffer.alloc(8192, 0x42));
    writeFileSync(`${path}-wal`, 'wal bytes');
    writeFileSync(`${path}-shm`, 'shm bytes');
    const logs = memoryLog();
    const at = Date.UTC(2026, 11, 1, 12, 30, 5);
    const { store, recoveredFrom } = openStore(path, logs.log, at);
    const movedTo = `${path}.corrupt-20261201T123005Z`;
    expect(recoveredFrom).toEqual({ movedTo, code: 'SQLITE_NOTADB', message: 'file is not a database', atMs: at });
    expect(readFileSync(movedTo)).toEqual(Buffer.alloc(8192, 0x42));
    expect(readFileSync(`${movedTo}-wal`, 'utf8')).toBe('wal bytes');
    // The -shm is an index SQLite rebuilds from the -wal (a read may rewrite it): moved along, as found or not.
    expect(existsSync(`${movedTo}-shm`)).toBe(true);
    expect(logs.lines).toEqual([
      expect.objectContaining({ level: 50, path, movedTo, code: 'SQLITE_NOTADB', err: 'file is not a database' }),
    ]);
    expect(store.loadOffenders(0)).toEqual([]);
    expect(mode(path)).toBe(0o600);
    store.close();
    const again = openStore(path, silentLogger(), at + 1000);
    expect(again.recoveredFrom).toBeNull();
    again.store.close();
    // A second unusable file in the same second gets a name of its own.
    writeFileSync(path, 'not sqlite either, and long enough to have a header of sorts.........................');
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
    const third = openStore(path, silentLogger(), at);
    expect(third.recoveredFrom?.movedTo).toBe(`${movedTo}-1`);
    third.store.close();
    expect(existsSync(movedTo)).toBe(true);
  });

  it('leaves a file alone when it cannot be opened for another reason', () => {
    writeFileSync(join(dir, 'b-file'), '');
    expect(() => openStore(join(dir, 'b-file', 'state.db'), silentLogger(), 0)).toThrow(/cannot open store/);
  });
});
