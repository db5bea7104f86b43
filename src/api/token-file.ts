/**
 * The API token's file: read only when nobody else could have read or replaced it, created on
 * the daemon's first start so that nobody else can. The daemon (`loadOrCreateToken`) and the CLI
 * client (`readTokenFile`) apply the same rules, each for its own effective user:
 *
 * - the path is a regular file, opened with O_NOFOLLOW (a symbolic link is refused, not followed);
 * - the file belongs to the reading user and has no group or other permission bits;
 * - the directory that holds it belongs to that user or root and is not writable by group or
 *   others (whoever may write there may swap the file).
 *
 * A refusal is E_TOKEN_FILE_UNSAFE with `details.problem` and a message naming the fix; a missing
 * file is E_NOT_FOUND (the daemon then creates it: O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600).
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  statSync,
  type Stats,
  writeSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { ErrorCodes, NftsentryError } from '../errors.ts';
import { generateToken, isTokenText } from './token.ts';

/** What is wrong with a token file (`details.problem` of E_TOKEN_FILE_UNSAFE). */
export type TokenFileProblem = 'symlink' | 'not_regular' | 'owner' | 'mode' | 'directory' | 'changed' | 'no_token';

/** A token is at most 512 characters: a longer file is not a token file. */
const MAX_BYTES = 1024;

function unsafe(path: string, problem: TokenFileProblem, message: string): NftsentryError {
  return new NftsentryError(ErrorCodes.TOKEN_FILE_UNSAFE, message, { details: { path, problem } });
}

function euid(): number {
  return process.geteuid?.() ?? 0;
}

/** The reading user's name for a `chown` the admin can paste, else the uid. */
function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return String(euid());
  }
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

function kind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** The directory holding the token: nobody but its user (or root) may change what it holds. */
function checkDirectory(dir: string, path: string): void {
  const st = statSync(dir);
  if ((st.mode & 0o022) !== 0) {
    throw unsafe(
      path,
      'directory',
      `the directory ${dir} of the API token file is writable by group or others (mode ${octal(st.mode)}): they could replace the token; chmod go-w ${dir}`,
    );
  }
  if (st.uid !== euid() && st.uid !== 0) {
    throw unsafe(
      path,
      'directory',
      `the directory ${dir} of the API token file belongs to uid ${st.uid}, who could replace the token; chown ${userName()} ${dir} (or move the file to a directory of ${userName()} or root)`,
    );
  }
}

/** The opened file: still the one looked at, the reader's own, no group or other bits. */
function checkOpened(path: string, fd: number, seen: Stats): void {
  const st = fstatSync(fd);
  if (!st.isFile()) throw unsafe(path, 'not_regular', `API token file ${path} is ${kind(st)}`);
  if (st.dev !== seen.dev || st.ino !== seen.ino) {
    throw unsafe(path, 'changed', `API token file ${path} was replaced while it was read; check who writes there`);
  }
  if (st.uid !== euid()) {
    throw unsafe(
      path,
      'owner',
      `API token file ${path} belongs to uid ${st.uid}, not to ${userName()} (uid ${euid()}) who reads it: its owner may read or replace the token; chown ${userName()} ${path}, or delete it so that the daemon generates a new one`,
    );
  }
  if ((st.mode & 0o077) !== 0) {
    throw unsafe(
      path,
      'mode',
      `API token file ${path} has mode ${octal(st.mode)}; group and others must have no permission on it: chmod 600 ${path}`,
    );
  }
}

/** Reads the token; E_NOT_FOUND when the file is missing, E_TOKEN_FILE_UNSAFE when it may not be trusted. */
export function readTokenFile(path: string): string {
  let seen: Stats;
  try {
    seen = lstatSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new NftsentryError(
      code === 'ENOENT' ? ErrorCodes.NOT_FOUND : ErrorCodes.FORBIDDEN,
      `cannot read the API token file ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (seen.isSymbolicLink()) {
    throw unsafe(
      path,
      'symlink',
      `API token file ${path} is a symbolic link; it is not followed: put the token file itself at that path`,
    );
  }
  if (!seen.isFile()) throw unsafe(path, 'not_regular', `API token file ${path} is ${kind(seen)}`);
  checkDirectory(dirname(path), path);
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO swapped in after the lstat does not hang the open; fstat refuses it.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP')
      throw unsafe(path, 'symlink', `API token file ${path} is a symbolic link; it is not followed`);
    throw new NftsentryError(
      ErrorCodes.FORBIDDEN,
      `cannot read the API token file ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  try {
    checkOpened(path, fd, seen);
    const buf = Buffer.alloc(MAX_BYTES + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const token = n > MAX_BYTES ? '' : buf.subarray(0, n).toString('utf8').trim();
    if (!isTokenText(token)) {
      throw unsafe(
        path,
        'no_token',
        `API token file ${path} does not hold a token (16-512 printable characters, no spaces); delete it so that the daemon generates one`,
      );
    }
    return token;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads the token file, or creates it with a new token: the directory made 0700 when missing (and
 * checked as above), the file created exclusively without following a link (O_CREAT|O_EXCL|
 * O_NOFOLLOW) and set to 0600 whatever the umask. Two starts racing cannot both write. Returns
 * the token and whether it was generated now.
 */
export function loadOrCreateToken(path: string): { token: string; generated: boolean } {
  try {
    return { token: readTokenFile(path), generated: false };
  } catch (err) {
    if (!(err instanceof NftsentryError && err.code === ErrorCodes.NOT_FOUND)) throw err;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  checkDirectory(dirname(path), path);
  const token = generateToken();
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { token: readTokenFile(path), generated: false };
    throw new NftsentryError(
      ErrorCodes.FORBIDDEN,
      `cannot create the API token file ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  return { token, generated: true };
}
