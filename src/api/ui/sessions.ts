/**
 * The dashboard's login sessions: a random id (the cookie's value) -> who logged in and until
 * when. In memory, in the API's own thread: a restart of the API logs everyone out, which is the
 * safe direction. Bounded: at most `maxSessions`; the oldest is dropped first. Pure apart from the
 * random id: `nowMs` is passed in.
 */
import { randomBytes } from 'node:crypto';

/** Who a request acts as: the API token the session logged in with (api-tokens.ts), by name. */
export interface Principal {
  /** `token`: an API bearer token. */
  kind: 'token';
  name: string;
  /** The token's role: read-write (true) or read-only (false). */
  write: boolean;
}

export interface Session {
  id: string;
  principal: Principal;
  expiresMs: number;
}

export const SESSION_COOKIE = 'nftsentry_session';

/**
 * Whether a principal may change anything (ban, unban, allowlist). The one place that decides it:
 * the page shows its write buttons from this, and the /v1 writes made with the cookie are refused
 * without it. A read-write token may write; a read-only one may not.
 */
export function canWrite(principal: Principal): boolean {
  return principal.kind === 'token' && principal.write;
}

export class Sessions {
  private readonly sessions = new Map<string, Session>();
  private readonly ttlMs: number;
  private readonly maxSessions: number;

  constructor(ttlMs: number, maxSessions = 1000) {
    this.ttlMs = ttlMs;
    this.maxSessions = maxSessions;
  }

  create(principal: Principal, nowMs: number): Session {
    const s: Session = { id: randomBytes(32).toString('base64url'), principal, expiresMs: nowMs + this.ttlMs };
    this.sessions.set(s.id, s);
    while (this.sessions.size > this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    return s;
  }

  /** The live session of this id; an expired one is forgotten. */
  get(id: string | undefined, nowMs: number): Session | null {
    if (!id || id.length > 100) return null;
    const s = this.sessions.get(id);
    if (!s) return null;
    if (s.expiresMs <= nowMs) {
      this.sessions.delete(id);
      return null;
    }
    return s;
  }

  delete(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (typeof header !== 'string' || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Whether a request's Origin is this server's own: the scheme and the Host header it was sent to.
 * A write with the cookie must carry it (browsers send Origin on every POST and DELETE of fetch).
 */
export function sameOrigin(origin: string | undefined, host: string | undefined, tls: boolean): boolean {
  if (typeof origin !== 'string' || typeof host !== 'string') return false;
  return origin === `${tls ? 'https' : 'http'}://${host}`;
}
