/**
 * Starting the API for the daemon: token file (read, or generated on first start), the listen
 * guard (loopback or a unix socket unless `allow_remote`), listen, and the socket's mode.
 * `nftsentry run` calls `startApi` once and `close` on SIGTERM.
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Operations } from '../engine/operations.ts';
import { NftsentryError, ErrorCodes } from '../errors.ts';
import { parseIp } from '../net/ip.ts';
import type { Logger } from '../log.ts';
import type { Clock } from '../clock.ts';
import type { ApiConfig } from './config.ts';
import { buildApi } from './app.ts';
import { loadOrCreateToken } from './token.ts';
import type { ApiTelemetry } from './telemetry.ts';

export interface StartApiOptions {
  telemetry?: ApiTelemetry;
  log: Logger;
  clock?: Clock;
  version?: string;
}

export interface ApiHandle {
  app: FastifyInstance;
  /** `http://127.0.0.1:8765` or `unix:/run/nftsentry/api.sock`. */
  address: string;
  close(): Promise<void>;
}

export function isLoopbackHost(host: string): boolean {
  const ip = parseIp(host);
  return ip !== null && (ip.family === 4 ? ip.bytes[0] === 127 : ip.text === '::1');
}

/** Removes a socket file nobody listens on (left by a crash); refuses to touch anything else. */
async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new NftsentryError(ErrorCodes.CONFLICT, `${path} exists and is not a socket; refusing to replace it`);
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

export async function startApi(config: ApiConfig, ops: Operations, options: StartApiOptions): Promise<ApiHandle | null> {
  const log = options.log;
  if (!config.enabled) {
    log.info('api: disabled in the config');
    return null;
  }
  if (!config.socket && !isLoopbackHost(config.host) && !config.allow_remote) {
    throw new NftsentryError(ErrorCodes.FORBIDDEN, `refusing to listen on ${config.host}: not loopback and allow_remote is false`);
  }
  const { token, generated } = loadOrCreateToken(config.token_file);
  if (generated) log.info({ tokenFile: config.token_file }, 'api: generated a new bearer token (mode 0600)');
  const app = buildApi(ops, { token, config, telemetry: options.telemetry, log, clock: options.clock, version: options.version });
  let address: string;
  if (config.socket) {
    await clearStaleSocket(config.socket.path);
    await app.listen({ path: config.socket.path });
    chmodSync(config.socket.path, config.socket.mode);
    address = `unix:${config.socket.path}`;
  } else {
    const listened = await app.listen({ host: config.host, port: config.port });
    address = listened;
  }
  log.info({ address, remote: !config.socket && !isLoopbackHost(config.host) }, 'api: listening');
  return {
    app,
    address,
    async close() {
      await app.close();
    },
  };
}
