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
import type { ApiOperations } from './context.ts';

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

/** Refs of actors whose peer is looked up; a random start so that a restarted API worker's never meet the last one's. */
let nextRef = Math.floor(Math.random() * 2 ** 40);

/**
 * Runs `op` as the request's actor: the token's name and the peer (the address over TCP; `uid:N`,
 * or `unix` when it cannot be told, over the unix socket). A unix peer's uid takes an `ss` run (a
 * few ms): it is looked up beside the operation, which gets the actor with a `ref` while the
 * journal holds its rows, and `actorFrom(ref, from)` names the peer once both are done. The answer
 * waits for the lookup, so the client is still connected while ss looks for it.
 */
export async function withActor<T>(
  request: FastifyRequest,
  peers: UnixPeers,
  ops: Pick<ApiOperations, 'actorFrom'>,
  op: (actor: Actor) => Promise<T>,
): Promise<T> {
  const token = authOf(request)?.name ?? 'unknown';
  if (request.ip) return op({ token, from: request.ip });
  const fromOf = (uid: number | null) => (uid === null ? 'unix' : `uid:${uid}`);
  const uid = peers.uid(request.socket);
  if (!ops.actorFrom) return op({ token, from: fromOf(await uid) });
  const ref = nextRef++;
  try {
    return await op({ token, from: 'unix', ref });
  } finally {
    ops.actorFrom(ref, fromOf(await uid));
  }
}
