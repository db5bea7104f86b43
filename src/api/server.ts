/**
 * Starting the API for the daemon: token file (read, or generated on first start), the listen
 * guard (loopback or a unix socket unless `allow_remote`), listen, and the socket's mode.
 * `nftsentry run` calls `startApi` once and `close` on SIGTERM.
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { ApiOperations } from './context.ts';
import { NftsentryError, ErrorCodes } from '../errors.ts';
import { isLoopbackHost } from './loopback.ts';
import type { Logger } from '../log.ts';
import type { Clock } from '../clock.ts';
import type { ApiConfig } from './api-schema.ts';
import { buildApi } from './app.ts';
import { loadApiTokens, type NamedToken } from './api-tokens.ts';
import type { ApiTelemetry } from './telemetry.ts';
import type { TlsInfo } from './tls.ts';
import type { EventHub } from './live/event-hub.ts';

export interface StartApiOptions {
  telemetry?: ApiTelemetry;
  log: Logger;
  clock?: Clock;
  version?: string;
}

export interface ApiHandle {
  /** The fastify app when it runs in this thread (not when the API runs in its worker). */
  app?: FastifyInstance;
  /** `http://127.0.0.1:8765` or `unix:/run/nftsentry/api.sock`. */
  address: string;
  /** Sends the telemetry to the API worker now, not at its next push (readiness changed). */
  refresh?(): void;
  close(): Promise<void>;
}

export { isLoopbackHost };

/** Removes a socket file nobody listens on (left by a crash); refuses to touch anything else. */
async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket())
    throw new NftsentryError(ErrorCodes.CONFLICT, `${path} exists and is not a socket; refusing to replace it`);
  const live = await new Promise<boolean>((resolve) => {
    const s = connect({ path }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
  if (live) throw new NftsentryError(ErrorCodes.CONFLICT, `another process listens on ${path}`);
  unlinkSync(path);
}

/** Refuses a non-loopback TCP address unless the config says allow_remote (checked again at start). */
export function checkListenAddress(config: ApiConfig): void {
  if (!config.socket && !isLoopbackHost(config.host) && !config.allow_remote) {
    throw new NftsentryError(
      ErrorCodes.FORBIDDEN,
      `refusing to listen on ${config.host}: not loopback and allow_remote is false`,
    );
  }
}

export interface ListenApiOptions extends StartApiOptions {
  /** The admin token alone (tests)... */
  token?: string;
  /** ...or every named token (api-tokens.ts). */
  tokens?: readonly NamedToken[];
  /** Serve HTTPS with this (tls.ts: configured, or self-signed beyond loopback). */
  tls?: TlsInfo | null;
  liveEvents?: EventHub;
}

/** Builds the app and listens (unix socket with its mode, or TCP). The caller has the token. */
export async function listenApi(config: ApiConfig, ops: ApiOperations, options: ListenApiOptions): Promise<ApiHandle> {
  checkListenAddress(config);
  const log = options.log;
  const app = buildApi(ops, {
    token: options.token,
    tokens: options.tokens,
    config,
    telemetry: options.telemetry,
    log,
    clock: options.clock,
    version: options.version,
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.liveEvents ? { liveEvents: options.liveEvents } : {}),
  });
  let address: string;
  try {
    if (config.socket) {
      await clearStaleSocket(config.socket.path);
      await app.listen({ path: config.socket.path });
      chmodSync(config.socket.path, config.socket.mode);
      address = `unix:${config.socket.path}`;
    } else {
      address = await app.listen({ host: config.host, port: config.port });
    }
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  log.info(
    {
      address,
      remote: !config.socket && !isLoopbackHost(config.host),
      tls: options.tls !== undefined && options.tls !== null,
    },
    'api: listening',
  );
  return {
    app,
    address,
    async close() {
      await app.close();
    },
  };
}

/** Token file (read, or generated on first start), then listenApi, in this thread. */
export async function startApi(
  config: ApiConfig,
  ops: ApiOperations,
  options: StartApiOptions & { tls?: TlsInfo | null; liveEvents?: EventHub },
): Promise<ApiHandle | null> {
  if (!config.enabled) {
    options.log.info('api: disabled in the config');
    return null;
  }
  checkListenAddress(config);
  const { tokens, generated } = loadApiTokens(config);
  if (generated) options.log.info({ tokenFile: config.token_file }, 'api: generated a new bearer token (mode 0600)');
  return listenApi(config, ops, { ...options, tokens });
}
