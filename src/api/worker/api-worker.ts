/**
 * Entry of the API worker thread: the HTTP server with its own event loop, so that requests are
 * answered while the daemon's main thread parses alerts, decides and forks nft. Reads come from a
 * read-only store connection; bans, unbans and the allowlist go to the main thread over RPC;
 * telemetry arrives as snapshots. This thread never starts a process: a fork would stall it.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { anchoredClock } from '../../clock.ts';
import { createLogger } from '../../log.ts';
import { BAN_SOURCES } from '../request-schemas.ts';
import { listenApi, type ApiHandle } from '../server.ts';
import { cachedReader } from '../../cached-reader.ts';
import type { ApiTelemetry } from '../telemetry.ts';
import type { ApiWorkerData, FromWorker, TelemetrySnapshot, ToWorker } from './protocol.ts';
import { errorToWire, RpcClient } from './rpc.ts';
import type { DaemonRpc } from './daemon-rpc.ts';
import { StoreReader } from './store-reader.ts';
import { WorkerOperations } from './worker-operations.ts';
import { EventHub } from '../live/event-hub.ts';

const port = parentPort!;
const data = workerData as ApiWorkerData;
const send = (m: FromWorker) => port.postMessage(m);
const log = createLogger({ level: data.logLevel }).child({ component: 'api', thread: 'worker' });
const rpc = new RpcClient<DaemonRpc>(port);
let snapshot: TelemetrySnapshot = data.snapshot;
let handle: ApiHandle | null = null;
let reader: StoreReader | null = null;
const liveEvents = new EventHub({ onWatchers: (count) => send({ type: 'watchers', count }) });
/** SSE comment lines every 15 s, so that proxies and browsers see the stream alive. */
const HEARTBEAT_MS = 15_000;
const heartbeat = setInterval(() => liveEvents.heartbeat(), HEARTBEAT_MS);
heartbeat.unref();

async function close(): Promise<void> {
  clearInterval(heartbeat);
  rpc.failAll();
  await handle?.close().catch(() => undefined);
  reader?.close();
  send({ type: 'closed' });
  port.close();
}

port.on('message', (m: ToWorker) => {
  if (rpc.settle(m)) return;
  if (m.type === 'snapshot') snapshot = m.snapshot;
  else if (m.type === 'events') liveEvents.publish(m.batch);
  else if (m.type === 'close') void close();
});

/** Linux: this thread's id from /proc/thread-self (`PID/task/TID`); its nice value is its own. */
function setThreadNice(nice: number): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch (err) {
    // Below 0 needs CAP_SYS_NICE (deploy/nftsentry.service grants it): say so, the admin asked for it.
    log.warn(
      { err: (err as Error).message, nice },
      'api worker: cannot set the thread priority (api.worker_nice below 0 needs CAP_SYS_NICE)',
    );
  }
}

try {
  if (data.config.worker_nice !== 0) setThreadNice(data.config.worker_nice);
  reader = data.storePath ? new StoreReader(data.storePath) : null;
  // Counters cost an nft process: the main thread forks it (a fork here would stall this thread).
  const counters = data.readCounters ? cachedReader(() => rpc.call('dropCounters'), 1000) : undefined;
  const telemetry: ApiTelemetry = {
    sources: () => snapshot.sources,
    alertResults: () => snapshot.alertResults,
    bansActive: () => {
      if (!reader) return snapshot.bansActive;
      const by = reader.queries.countActiveBySource();
      return BAN_SOURCES.map((source) => ({ source, count: by[source] ?? 0 }));
    },
    nftApplyDurations: () => snapshot.nftApply,
    banCap: () => snapshot.banCap ?? null,
    ...(counters ? { dropCounters: counters } : {}),
    ruleset: () => snapshot.ruleset,
    store: () => snapshot.store,
    engineCounters: () => snapshot.engine ?? null,
    notReady: () => snapshot.notReady,
  };
  const clock = data.clockAnchorMs === null ? Date.now : anchoredClock(data.clockAnchorMs);
  const ops = new WorkerOperations(rpc, reader, clock);
  handle = await listenApi(data.config, ops, {
    tokens: data.tokens,
    telemetry,
    log,
    version: data.version,
    clock,
    tls: data.tls,
    liveEvents,
  });
  send({ type: 'listening', address: handle.address });
} catch (err) {
  log.error({ err }, 'api worker: cannot start');
  send({ type: 'failed', error: errorToWire(err) });
  reader?.close();
  port.close();
}
