/**
 * The API's bearer token: read from a file that only its owner may read (0600), generated on
 * first start when missing, and compared in constant time.
 *
 * Comparison hashes both sides with SHA-256 first, so `timingSafeEqual` always sees two 32-byte
 * buffers and neither the token's length nor its content leaks through timing.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, openSync, writeSync, closeSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { NftsentryError, ErrorCodes } from '../errors.ts';

/** 32 random bytes, base64url: 43 characters of [A-Za-z0-9_-]. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

const TOKEN_TEXT = /^[\x21-\x7e]{16,512}$/;

/** Reads the token; throws E_FORBIDDEN when the file is readable by group or others. */
export function readTokenFile(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new NftsentryError(
      ErrorCodes.NOT_FOUND,
      `cannot read the API token file ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (!st.isFile()) throw new NftsentryError(ErrorCodes.FORBIDDEN, `API token file ${path} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    throw new NftsentryError(
      ErrorCodes.FORBIDDEN,
      `API token file ${path} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}; it must be 0600 (chmod 600 ${path})`,
    );
  }
  const token = readFileSync(path, 'utf8').trim();
  if (!TOKEN_TEXT.test(token)) {
    throw new NftsentryError(
      ErrorCodes.FORBIDDEN,
      `API token file ${path} does not hold a token (16-512 printable characters, no spaces)`,
    );
  }
  return token;
}

/**
 * Reads the token file, or creates it with a new token (mode 0600, exclusive create: two starts
 * racing cannot both write). Returns the token and whether it was generated now.
 */
export function loadOrCreateToken(path: string): { token: string; generated: boolean } {
  try {
    return { token: readTokenFile(path), generated: false };
  } catch (err) {
    if (!(err instanceof NftsentryError && err.code === ErrorCodes.NOT_FOUND)) throw err;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const token = generateToken();
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { token: readTokenFile(path), generated: false };
    throw new NftsentryError(
      ErrorCodes.FORBIDDEN,
      `cannot create the API token file ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  return { token, generated: true };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Holds the expected token's digest only; `verify` runs in constant time. */
export class TokenVerifier {
  private readonly expected: Buffer;

  constructor(token: string) {
    if (!TOKEN_TEXT.test(token))
      throw new NftsentryError(ErrorCodes.CONFIG_INVALID, 'the API token must be 16-512 printable characters');
    this.expected = digest(token);
  }

  verify(presented: string): boolean {
    return timingSafeEqual(digest(presented), this.expected);
  }

  /** Parses `Authorization: Bearer TOKEN` and verifies it; false for anything else. */
  verifyHeader(header: string | undefined): boolean {
    if (typeof header !== 'string' || header.length > 600) return false;
    const m = /^Bearer ([\x21-\x7e]+)$/i.exec(header.trim());
    // Still hash something when the header is malformed, so both paths cost about the same.
    return this.verify(m ? m[1]! : '') && m !== null;
  }
}
