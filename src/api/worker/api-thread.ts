/**
 * The main-thread side of the API worker: starts the worker thread, answers its RPC calls with
 * the daemon's Operations (daemon-rpc.ts), pushes telemetry snapshots every 500 ms, and stops it.
 * The token file and the listen guard are handled here first, so that a refusal stops
 * `nftsentry run` before any thread starts.
 */
import { Worker } from 'node:worker_threads';
import { NftsentryError, ErrorCodes } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { ApiConfig } from '../api-schema.ts';
import type { DaemonView } from '../daemon-view.ts';
import type { ApiHandle } from '../server.ts';
import { checkListenAddress } from '../server.ts';
import { loadApiTokens } from '../api-tokens.ts';
import type { ApiWorkerData, FromWorker, TelemetrySnapshot, ToWorker } from './protocol.ts';
import { SNAPSHOT_INTERVAL_MS } from './protocol.ts';
import { answer, errorFromWire, type RpcHandlers } from './rpc.ts';
import { daemonHandlers, type DaemonRpc } from './daemon-rpc.ts';
import type { TlsInfo } from '../tls.ts';
import { EventBatcher, type BanEventFeed } from '../live/event-batcher.ts';

/**
 * The worker's entry module, beside this one: the TypeScript source when running from source, the
 * bundled `api-worker.mjs` beside the bundle in the Debian package (scripts/package/bundle.ts).
 */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './api-worker.ts' : './api-worker.mjs', import.meta.url);

export interface ApiThreadOptions {
  daemon: DaemonView;
  config: ApiConfig;
  storePath: string | null;
  log: Logger;
  version: string;
  snapshot: () => TelemetrySnapshot;
  startTimeoutMs?: number;
  /** TLS made in this thread (tls.ts), served by the worker; null: plain HTTP. */
  tls?: TlsInfo | null;
  /** The daemon's ban events, forwarded in batches while the worker has live event clients. */
  events?: BanEventFeed;
}

interface RunningWorker {
  worker: Worker;
  address: string;
  /** Resolves when the worker has exited (for whatever reason). */
  exited: Promise<number>;
}

/** Starts one worker; resolves once it listens, rejects when it cannot. */
async function spawnWorker(
  data: ApiWorkerData,
  handlers: RpcHandlers<DaemonRpc>,
  log: Logger,
  startTimeoutMs: number,
  onWatchers: (count: number) => void,
): Promise<RunningWorker> {
  const worker = new Worker(WORKER_URL, { workerData: data });
  let onExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((r) => (onExit = r));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new NftsentryError(ErrorCodes.INTERNAL, 'the API worker did not start in time')),
      startTimeoutMs,
    );
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'call') void answer(worker, m, handlers);
      else if (m.type === 'watchers') onWatchers(m.count);
      else if (m.type === 'listening') {
        clearTimeout(timer);
        resolve(m.address);
      } else if (m.type === 'failed') {
        clearTimeout(timer);
        reject(errorFromWire(m.error));
      }
    });
    worker.on('error', (err) => {
      clearTimeout(timer);
      log.error({ err }, 'api worker failed');
      reject(err);
    });
    worker.on('exit', (code) => {
      clearTimeout(timer);
      onExit(code);
      reject(new NftsentryError(ErrorCodes.INTERNAL, `the API worker exited (${code})`));
    });
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  worker.unref();
  return { worker, address, exited };
}

/** At most this many restarts of a worker that died on its own, each after RESTART_DELAY_MS. */
const MAX_RESTARTS = 5;
const RESTART_DELAY_MS = 1000;

export interface ApiThreadHandle extends ApiHandle {
  /** The worker now serving (diagnostics and tests). */
  currentWorker(): Worker;
}

export async function startApiThread(options: ApiThreadOptions): Promise<ApiThreadHandle> {
  const { daemon, config, log } = options;
  checkListenAddress(config);
  const { tokens, generated } = loadApiTokens(config);
  if (generated) log.info({ tokenFile: config.token_file }, 'api: generated a new bearer token (mode 0600)');
  const dataNow = (): ApiWorkerData => ({
    config,
    tokens,
    version: options.version,
    storePath: options.storePath,
    clockAnchorMs: daemon.clockAnchorMs,
    readCounters: !daemon.dryRun,
    logLevel: log.level,
    snapshot: options.snapshot(),
    tls: options.tls ?? null,
  });
  const handlers = daemonHandlers(daemon);
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  // Batches go to whichever worker serves now; a new worker starts with no clients.
  const batcher = options.events
    ? new EventBatcher(options.events, (batch) =>
        current.worker.postMessage({ type: 'events', batch } satisfies ToWorker),
      )
    : null;
  const onWatchers = (count: number) => batcher?.watchers(count);
  let current: RunningWorker = await spawnWorker(dataNow(), handlers, log, startTimeoutMs, onWatchers);
  let closing = false;
  let restarts = 0;

  // A worker that dies on its own (not through close) is restarted, a bounded number of times.
  const supervise = (w: RunningWorker): void => {
    void w.exited.then(async (code) => {
      if (closing || w !== current) return;
      if (restarts >= MAX_RESTARTS) {
        log.error({ code, restarts }, 'api worker exited again; the API stays down');
        return;
      }
      restarts++;
      batcher?.watchers(0);
      log.error({ code, restart: restarts }, 'api worker exited; restarting it');
      await new Promise((r) => setTimeout(r, RESTART_DELAY_MS).unref());
      if (closing) return;
      try {
        current = await spawnWorker(dataNow(), handlers, log, startTimeoutMs, onWatchers);
        supervise(current);
      } catch (err) {
        log.error({ err }, 'api worker restart failed; the API stays down');
      }
    });
  };
  supervise(current);

  const push = () => current.worker.postMessage({ type: 'snapshot', snapshot: options.snapshot() } satisfies ToWorker);
  const pusher = setInterval(push, SNAPSHOT_INTERVAL_MS);
  pusher.unref();
  log.info({ address: current.address, thread: 'worker' }, 'api: listening');
  return {
    address: current.address,
    currentWorker: () => current.worker,
    refresh: push,
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(pusher);
      batcher?.close();
      const w = current;
      w.worker.postMessage({ type: 'close' } satisfies ToWorker);
      const timeout = new Promise<void>((r) => setTimeout(r, 3000).unref());
      await Promise.race([w.exited, timeout]);
      await w.worker.terminate();
    },
  };
}
