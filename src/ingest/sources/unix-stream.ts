/**
 * `unix_stream` source: nftsentry listens, Suricata connects (eve-log `filetype: unix_stream`).
 * Several clients at once, each with its own line splitter; a partial line left by a client that
 * disconnects is dropped and counted as `truncated`. Suricata drops events while nobody listens,
 * so `startUnixStream` resolves as soon as the socket is bound, before anything else starts.
 * Each connection hands over one read per turn of the event loop (resumeNextTurn).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { NftsentryError, ErrorCodes } from '../../errors.ts';
import type { UnixStreamSourceConfig } from '../source-schema.ts';
import type { LineIntake } from '../line-intake.ts';
import { resumeNextTurn, type SourceHandle } from './source-handle.ts';
import { applySocketAccess, prepareSocketPath, removeSocketPath, socketInode } from './socket-path.ts';

export async function startUnixStream(config: UnixStreamSourceConfig, intake: LineIntake): Promise<SourceHandle> {
  await prepareSocketPath(config.path);
  const stats = intake.stats;
  const clients = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: false }, (socket) => {
    clients.add(socket);
    stats.connected++;
    stats.opened++;
    const splitter = intake.newSplitter();
    socket.on('data', (chunk: Buffer) => {
      intake.push(splitter, chunk);
      resumeNextTurn(socket, () => !socket.destroyed);
    });
    socket.on('error', (err) => intake.ioError(err, 'read'));
    socket.on('close', () => {
      clients.delete(socket);
      stats.connected--;
      intake.truncated(splitter.discard(), 'client disconnected mid-line');
    });
  });
  server.maxConnections = config.max_connections;
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
        for (const c of clients) c.destroy();
        await closed;
        await removeSocketPath(config.path, ino);
      })();
      return stopping;
    },
  };
}
