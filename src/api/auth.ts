/**
 * Who made a request: the name and role of its token, and where it came from (the peer address
 * over TCP, `uid:N` over the unix socket). Set by the /v1 authentication hook (app.ts) and read
 * by the routes, which hand the actor to the engine's operations so the journal can name it.
 *
 * `authOf(request)` is the one function other parts (the dashboard, the write guard) ask.
 */
import type { FastifyRequest } from 'fastify';
import type { Actor } from '../engine/operations.ts';
import type { UnixPeers } from '../net/unix-peer.ts';
import { ApiError, ApiOnlyCodes } from './http-errors.ts';
import type { TokenIdentity } from './api-tokens.ts';

const identities = new WeakMap<FastifyRequest, TokenIdentity>();

/** Records the identity the authentication hook verified. */
export function setAuth(request: FastifyRequest, identity: TokenIdentity): void {
  identities.set(request, identity);
}

/** The verified token of a /v1 request: its name and whether it may write; null before authentication. */
export function authOf(request: FastifyRequest): TokenIdentity | null {
  return identities.get(request) ?? null;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A hook of the /v1 routes: a read-only token gets 403 E_READ_ONLY_TOKEN on every write. */
export async function requireWriteRole(request: FastifyRequest): Promise<void> {
  if (READ_METHODS.has(request.method)) return;
  const auth = authOf(request);
  if (auth?.canWrite) return;
  throw new ApiError(
    ApiOnlyCodes.READ_ONLY_TOKEN,
    `the token ${auth?.name ?? '(none)'} is read-only: ${request.method} needs a read-write token`,
    { details: { token: auth?.name ?? null } },
  );
}

/** The request's actor: the token's name and the peer (address, or `uid:N` / `unix` on the unix socket). */
export async function actorOf(request: FastifyRequest, peers: UnixPeers): Promise<Actor> {
  const token = authOf(request)?.name ?? 'unknown';
  if (request.ip) return { token, from: request.ip };
  const uid = await peers.uid(request.socket);
  return { token, from: uid === null ? 'unix' : `uid:${uid}` };
}
