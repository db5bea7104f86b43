/**
 * `unix_dgram` source: a bound AF_UNIX datagram socket (eve-log `filetype: unix_dgram`), through
 * node-unix-socket (prebuilt; Node has no AF_UNIX datagrams). Each datagram is a whole record:
 * its lines are split, and a last line without a newline is complete at the datagram's end.
 */
import { DgramSocket } from 'node-unix-socket';
import { NftsentryError, ErrorCodes } from '../../errors.ts';
import type { UnixDgramSourceConfig } from '../source-schema.ts';
import type { LineIntake } from '../line-intake.ts';
import type { SourceHandle } from './source-handle.ts';
import { applySocketAccess, prepareSocketPath, removeSocketPath, socketInode } from './socket-path.ts';

export async function startUnixDgram(config: UnixDgramSourceConfig, intake: LineIntake): Promise<SourceHandle> {
  await prepareSocketPath(config.path);
  const stats = intake.stats;
  const socket = new DgramSocket();
  const splitter = intake.newSplitter();
  socket.on('data', (buf: Buffer) => {
    intake.push(splitter, buf);
    splitter.flush();
  });
  socket.on('error', (err: Error) => intake.ioError(err, 'recv'));
  try {
    socket.bind(config.path);
  } catch (err) {
    socket.close();
    throw new NftsentryError(ErrorCodes.CONFLICT, `cannot bind ${config.path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const ino = await socketInode(config.path);
  try {
    socket.setRecvBufferSize(config.receive_buffer_bytes);
  } catch (err) {
    intake.ioError(err, 'SO_RCVBUF');
  }
  try {
    await applySocketAccess(config.path, config);
  } catch (err) {
    socket.close();
    await removeSocketPath(config.path, ino);
    throw err;
  }
  stats.connected = 1;
  stats.opened++;

  let stopping: Promise<void> | null = null;
  return {
    name: stats.name,
    stats: () => stats.snapshot(),
    stop() {
      stopping ??= (async () => {
        socket.close();
        stats.connected = 0;
        await removeSocketPath(config.path, ino);
      })();
      return stopping;
    },
  };
}
