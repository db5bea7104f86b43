/**
 * The API's bearer token: generated, and compared in constant time. Its file (who may own and
 * read it, how it is created) is token-file.ts.
 *
 * Comparison hashes both sides with SHA-256 first, so `timingSafeEqual` always sees two 32-byte
 * buffers and neither the token's length nor its content leaks through timing.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { NftsentryError, ErrorCodes } from '../errors.ts';

/** 32 random bytes, base64url: 43 characters of [A-Za-z0-9_-]. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

const TOKEN_TEXT = /^[\x21-\x7e]{16,512}$/;

/** 16-512 printable ASCII characters, no spaces: what a token file may hold. */
export function isTokenText(text: string): boolean {
  return TOKEN_TEXT.test(text);
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
