/**
 * The daemon with its API, for the namespace tests: what `nftsentry run` does (sources, Engine,
 * alerts into decisions) plus startDaemonApi. Run it inside the gateway namespace only: it
 * refuses to start when its network namespace is the one named by NFTSENTRY_HOST_NETNS_INODE.
 * Prints `api-ready ADDRESS` when the API listens; SIGTERM stops it, leaving bans in the kernel.
 *
 * usage: node api-daemon.ts CONFIG
 */
import { statSync } from 'node:fs';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/log.ts';
import { AlertQueue, startSources } from '../../src/ingest/index.ts';
import { Engine } from '../../src/engine/engine.ts';
import { startDaemonApi } from '../../src/api/daemon-api.ts';

const hostIno = process.env.NFTSENTRY_HOST_NETNS_INODE;
if (!hostIno || String(statSync('/proc/self/ns/net').ino) === hostIno) {
  process.stderr.write('api-daemon: refusing to run in the host network namespace\n');
  process.exit(2);
}

const config = loadConfig(process.argv[2]!);
const log = createLogger();
const queue = new AlertQueue(config.sources.queue_capacity);
const engine = new Engine(config, { log });
const ingest = await startSources(config.sources, queue, { log, db: engine.db });
engine.attachSourceStats(() => ingest.stats());
await engine.start();
const consumer = (async () => {
  for await (const batch of queue) engine.handleAlerts(batch);
})();
const api = await startDaemonApi(config, engine, { log, sources: () => ingest.stats(), version: 'test' });
process.stdout.write(`api-ready ${api?.address ?? 'disabled'}\n`);

const keepAlive = setInterval(() => undefined, 1 << 30);
process.once('SIGTERM', async () => {
  await api?.close();
  await ingest.stop();
  queue.close();
  await consumer;
  await engine.stop();
  clearInterval(keepAlive);
  process.exit(0);
});
