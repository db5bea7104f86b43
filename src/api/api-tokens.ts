/**
 * The API's named tokens: `api.token_file` is the token named `admin` (read-write, generated on
 * first start when missing), and each `api.tokens` entry a token of its own name and role, read
 * from its file with the same rules (token-file.ts; such a file must exist). A request's token is
 * found by comparing its digest with every token's digest in constant time, all of them each time,
 * so neither which token matched nor how many there are shows in the timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorCodes, NftsentryError } from '../errors.ts';
import type { ApiConfig } from './api-schema.ts';
import { isTokenText } from './token.ts';
import { loadOrCreateToken, readTokenFile } from './token-file.ts';

export type TokenRole = 'read-only' | 'read-write';

export interface NamedToken {
  name: string;
  token: string;
  role: TokenRole;
}

/** Who a verified token is: its name and whether it may change anything. */
export interface TokenIdentity {
  name: string;
  canWrite: boolean;
}

export const ADMIN_TOKEN_NAME = 'admin';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export class TokenSet {
  private readonly entries: readonly { digest: Buffer; identity: TokenIdentity }[];

  constructor(tokens: readonly NamedToken[]) {
    if (tokens.length === 0) throw new NftsentryError(ErrorCodes.CONFIG_INVALID, 'the API needs at least one token');
    const seen = new Set<string>();
    this.entries = tokens.map((t) => {
      if (!isTokenText(t.token))
        throw new NftsentryError(ErrorCodes.CONFIG_INVALID, `API token ${t.name}: 16-512 printable characters`);
      if (seen.has(t.token))
        throw new NftsentryError(ErrorCodes.CONFIG_INVALID, `API token ${t.name} is the same text as another token`);
      seen.add(t.token);
      return { digest: digest(t.token), identity: Object.freeze({ name: t.name, canWrite: t.role === 'read-write' }) };
    });
  }

  /** The identity of `presented`, or null; compares against every token. */
  verify(presented: string): TokenIdentity | null {
    const d = digest(presented);
    let found: TokenIdentity | null = null;
    for (const e of this.entries) if (timingSafeEqual(d, e.digest) && found === null) found = e.identity;
    return found;
  }

  /** Parses `Authorization: Bearer TOKEN` and verifies it; null for anything else. */
  verifyHeader(header: string | undefined): TokenIdentity | null {
    if (typeof header !== 'string' || header.length > 600) return null;
    const m = /^Bearer ([\x21-\x7e]+)$/i.exec(header.trim());
    // Still hash something when the header is malformed, so both paths cost about the same.
    const identity = this.verify(m ? m[1]! : '');
    return m ? identity : null;
  }
}

/**
 * The daemon's tokens: admin from `api.token_file` (created when missing), then `api.tokens`
 * (each file must exist and pass the same checks). Returns whether the admin token was generated.
 */
export function loadApiTokens(config: ApiConfig): { tokens: NamedToken[]; generated: boolean } {
  const { token, generated } = loadOrCreateToken(config.token_file);
  const tokens: NamedToken[] = [{ name: ADMIN_TOKEN_NAME, token, role: 'read-write' }];
  for (const t of config.tokens) tokens.push({ name: t.name, token: readTokenFile(t.token_file), role: t.role });
  return { tokens, generated };
}
