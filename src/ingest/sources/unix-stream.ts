/**
 * `unix_stream` source: nftsentry listens, Suricata connects (eve-log `filetype: unix_stream`).
 * Several clients at once, each with its own line splitter; a partial line left by a client that
 * disconnects is dropped and counted as `truncated`. Suricata drops events while nobody listens,
 * so `startUnixStream` resolves as soon as the socket is bound, before anything else starts.
 * Each connection hands over one read per turn of the event loop (resumeNextTurn).
 *
 * Clients cannot lock the IDS out: a client that sends nothing within `idle_timeout` of
 * connecting is closed (a client that has sent data stays, however quiet: Suricata keeps one
 * connection open and writes only when it has events), and at `max_connections` a new client
 * takes the place of the oldest client that has sent nothing, else of the client idle longest
 * (at least EVICTABLE_IDLE_MS: an IDS in mid-stream is never cut for a newcomer), else it is
 * refused. Each close and refusal is counted and logged at a bounded rate.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { NftsentryError, ErrorCodes } from '../../errors.ts';
import type { UnixStreamSourceConfig } from '../source-schema.ts';
import type { LineIntake } from '../line-intake.ts';
import { resumeNextTurn, type SourceHandle } from './source-handle.ts';
import { applySocketAccess, prepareSocketPath, removeSocketPath, socketInode } from './socket-path.ts';

/** A client that has sent data must have been idle this long to give its place to a new one. */
const EVICTABLE_IDLE_MS = 1000;

interface Client {
  /** Connect time until the first data, then the time of the last data (performance.now()). */
  lastDataMs: number;
  sent: boolean;
}

/** Who makes room for a newcomer: the oldest silent client, else the one idle longest (long enough); else none. */
export function evictionVictim<K>(clients: ReadonlyMap<K, Client>, nowMs: number): K | null {
  let silent: K | null = null;
  let silentSince = Infinity;
  let idle: K | null = null;
  let idleSince = nowMs - EVICTABLE_IDLE_MS;
  for (const [key, c] of clients) {
    if (!c.sent && c.lastDataMs < silentSince) {
      silent = key;
      silentSince = c.lastDataMs;
    } else if (c.sent && c.lastDataMs <= idleSince) {
      idle = key;
      idleSince = c.lastDataMs;
    }
  }
  return silent ?? idle;
}

export async function startUnixStream(config: UnixStreamSourceConfig, intake: LineIntake): Promise<SourceHandle> {
  await prepareSocketPath(config.path);
  const stats = intake.stats;
  const clients = new Map<Socket, Client>();
  const server: Server = createServer({ allowHalfOpen: false }, (socket) => {
    const nowMs = performance.now();
    if (clients.size >= config.max_connections) {
      const victim = evictionVictim(clients, nowMs);
      if (!victim) {
        intake.connection('refused', { clients: clients.size, why: 'every client at the cap sent data within 1 s' });
        socket.destroy();
        return;
      }
      intake.connection('evicted', {
        clients: clients.size,
        idleMs: Math.round(nowMs - clients.get(victim)!.lastDataMs),
      });
      victim.destroy();
    }
    const client: Client = { lastDataMs: nowMs, sent: false };
    clients.set(socket, client);
    stats.connected++;
    stats.opened++;
    const splitter = intake.newSplitter();
    socket.setTimeout(config.idle_timeout * 1000, () => {
      intake.connection('idleClosed', { idleTimeoutSec: config.idle_timeout });
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      if (!client.sent) socket.setTimeout(0);
      client.sent = true;
      client.lastDataMs = performance.now();
      intake.push(splitter, chunk);
      resumeNextTurn(socket, () => !socket.destroyed);
    });
    socket.on('error', (err) => intake.ioError(err, 'read'));
    socket.on('close', () => {
      if (!clients.delete(socket)) return;
      stats.connected--;
      intake.truncated(splitter.discard(), 'client disconnected mid-line');
    });
  });
  server.on('error', (err) => intake.ioError(err, 'accept'));

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void =>
      reject(
        new NftsentryError(ErrorCodes.CONFLICT, `cannot listen on ${config.path}: ${err.message}`, { cause: err }),
      );
    server.once('error', onError);
    server.listen(config.path, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const ino = await socketInode(config.path);
  try {
    await applySocketAccess(config.path, config);
  } catch (err) {
    server.close();
    await removeSocketPath(config.path, ino);
    throw err;
  }

  let stopping: Promise<void> | null = null;
  return {
    name: stats.name,
    stats: () => stats.snapshot(),
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const c of clients.keys()) c.destroy();
        await closed;
        await removeSocketPath(config.path, ino);
      })();
      return stopping;
    },
  };
}
