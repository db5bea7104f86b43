/**
 * The main-thread side of the API worker: starts the worker thread, answers its RPC calls with the
 * Engine, pushes telemetry snapshots every 500 ms, and stops it. The token file and the listen
 * guard are handled here first, so that a refusal stops `nftsentry run` before any thread starts.
 */
import { Worker } from 'node:worker_threads';
import type { Engine } from '../../engine/engine.ts';
import { NftsentryError, ErrorCodes } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { parsePrefix, type IpPrefix } from '../../net/ip.ts';
import type { ApiConfig } from '../config.ts';
import type { ApiHandle } from '../server.ts';
import { checkListenAddress } from '../server.ts';
import { loadOrCreateToken } from '../token.ts';
import { cachedReader } from '../telemetry.ts';
import { readCounters } from '../../nft/state.ts';
import type { ApiWorkerData, FromWorker, TelemetrySnapshot, ToWorker } from './protocol.ts';
import { SNAPSHOT_INTERVAL_MS } from './protocol.ts';
import { answer, errorFromWire, type RpcHandlers, type RpcRequest } from './rpc.ts';

function prefixArg(v: unknown): IpPrefix {
  const p = typeof v === 'string' ? parsePrefix(v) : null;
  if (!p) throw new NftsentryError(ErrorCodes.ADDRESS_INVALID, `not an address or prefix: ${String(v).slice(0, 60)}`);
  return p;
}

export function engineHandlers(engine: Engine): RpcHandlers {
  const counters = cachedReader(() => readCounters(engine.runner), 1000);
  return {
    dropCounters: () => counters(),
    listBans: (filter) => engine.listBans(filter as Parameters<Engine['listBans']>[0]),
    getBan: (address) => engine.getBan(prefixArg(address)),
    ban: (r) => {
      const req = r as { address: string; durationSec: number | null; reason: string };
      return engine.ban({ address: prefixArg(req.address), durationSec: req.durationSec, reason: req.reason });
    },
    unban: (address) => engine.unban(prefixArg(address)),
    listAllow: () => engine.listAllow(),
    addAllow: (prefix, note) => engine.addAllow(prefixArg(prefix), String(note)),
    removeAllow: (prefix) => engine.removeAllow(prefixArg(prefix)),
    status: () => engine.status(),
  };
}

export interface ApiThreadOptions {
  engine: Engine;
  config: ApiConfig;
  storePath: string | null;
  log: Logger;
  version: string;
  snapshot: () => TelemetrySnapshot;
  startTimeoutMs?: number;
}

export async function startApiThread(options: ApiThreadOptions): Promise<ApiHandle> {
  const { engine, config, log } = options;
  checkListenAddress(config);
  const { token, generated } = loadOrCreateToken(config.token_file);
  if (generated) log.info({ tokenFile: config.token_file }, 'api: generated a new bearer token (mode 0600)');
  const data: ApiWorkerData = {
    config,
    token,
    version: options.version,
    storePath: options.storePath,
    readCounters: !engine.dryRun,
    logLevel: log.level,
    snapshot: options.snapshot(),
  };
  const worker = new Worker(new URL('./api-worker.ts', import.meta.url), { workerData: data });
  const handlers = engineHandlers(engine);
  const send = (m: ToWorker) => worker.postMessage(m);
  let closing = false;
  let closed: () => void = () => undefined;
  const closedPromise = new Promise<void>((r) => (closed = r));
  const started = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new NftsentryError(ErrorCodes.INTERNAL, 'the API worker did not start in time')), options.startTimeoutMs ?? 15_000);
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'call') void answer(worker, m as RpcRequest, handlers);
      else if (m.type === 'listening') (clearTimeout(timer), resolve(m.address));
      else if (m.type === 'failed') (clearTimeout(timer), reject(errorFromWire(m.error)));
      else if (m.type === 'closed') closed();
    });
    worker.on('error', (err) => {
      clearTimeout(timer);
      log.error({ err }, 'api worker failed');
      reject(err);
    });
    worker.on('exit', (code) => {
      clearTimeout(timer);
      closed();
      if (!closing) log.error({ code }, 'api worker exited; the API is down');
      reject(new NftsentryError(ErrorCodes.INTERNAL, `the API worker exited (${code})`));
    });
  });
  let address: string;
  try {
    address = await started;
  } catch (err) {
    closing = true;
    await worker.terminate();
    throw err;
  }
  const pusher = setInterval(() => send({ type: 'snapshot', snapshot: options.snapshot() }), SNAPSHOT_INTERVAL_MS);
  pusher.unref();
  worker.unref();
  log.info({ address, thread: 'worker' }, 'api: listening');
  return {
    address,
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(pusher);
      send({ type: 'close' });
      const timeout = new Promise<void>((r) => setTimeout(r, 3000).unref());
      await Promise.race([closedPromise, timeout]);
      await worker.terminate();
    },
  };
}
