/**
 * What live events cost the daemon, measured piece by piece on this machine:
 * - main thread: the feed listener of EventBatcher (one array push per event) and the batch's
 *   postMessage to a worker (structured clone), per event;
 * - API worker: EventHub.publish (serialise once, write to each client) to 1 and 10 clients on
 *   real sockets, per event.
 *
 *   node_modules/.bin/node bench/live-events.ts [--events=20000] [--batch=500]
 */
import { createServer, connect, type Socket } from 'node:net';
import { MessageChannel } from 'node:worker_threads';
import { BanEvents, type BanEvent } from '../src/engine/ban-events.ts';
import { EventBatcher, type EventBatch } from '../src/api/live/event-batcher.ts';
import { EventHub, type EventSink } from '../src/api/live/event-hub.ts';
import { silentLogger } from '../src/log.ts';

const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const EVENTS = Math.min(arg('events', 20_000), 1_000_000);
const BATCH = Math.max(1, arg('batch', 500));

const event = (i: number): BanEvent => ({
  type: 'ban',
  address: `198.18.${(i >> 8) & 255}.${i & 255}`,
  source: 'suricata',
  reason: 'ET SCAN Potential SSH Scan',
  sid: 2001219,
  expiresMs: Date.now() + 3_600_000,
  offences: 1,
  atMs: Date.now(),
});
const events = Array.from({ length: EVENTS }, (_, i) => event(i));

// Main thread: listener + postMessage.
const feed = new BanEvents(silentLogger());
const { port1, port2 } = new MessageChannel();
let received = 0;
port2.on('message', (m: { batch: EventBatch }) => {
  received += m.batch.events.length;
});
const batcher = new EventBatcher(feed, (batch) => port1.postMessage({ type: 'events', batch }), {
  intervalMs: 1_000_000,
  maxPending: EVENTS,
});
batcher.watchers(1);
let t0 = performance.now();
for (let i = 0; i < EVENTS; i += BATCH) {
  for (let j = i; j < Math.min(EVENTS, i + BATCH); j++) feed.emit(events[j]!);
  batcher.flush();
}
const mainUs = ((performance.now() - t0) * 1000) / EVENTS;
await new Promise((r) => setTimeout(r, 200));
batcher.close();
port1.close();
console.log(
  `main thread: listener + postMessage ${mainUs.toFixed(2)} us per event (batches of ${BATCH}; ${received} delivered)`,
);

// Worker side: publish to N real socket clients (a local server reads and discards).
async function publishCost(clients: number): Promise<number> {
  const server = createServer((s) => s.resume());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const sockets: Socket[] = await Promise.all(
    Array.from(
      { length: clients },
      () =>
        new Promise<Socket>((r) => {
          const s = connect(port, '127.0.0.1', () => r(s));
        }),
    ),
  );
  const hub = new EventHub({ maxClients: clients, maxBufferedBytes: 64 << 20 });
  for (const s of sockets) hub.add(s as unknown as EventSink);
  t0 = performance.now();
  for (let i = 0; i < EVENTS; i += BATCH) hub.publish({ events: events.slice(i, i + BATCH), lost: 0 });
  const us = ((performance.now() - t0) * 1000) / EVENTS;
  for (const s of sockets) s.destroy();
  server.close();
  return us;
}
for (const n of [1, 10])
  console.log(`API worker: publish to ${n} client(s) ${(await publishCost(n)).toFixed(2)} us per event`);
