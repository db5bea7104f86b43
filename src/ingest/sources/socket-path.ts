/**
 * The filesystem side of a listening unix socket: replace a stale socket file, refuse to replace
 * anything else (a live socket, a regular file), and apply the configured owner, group and mode.
 */
import { connect } from 'node:net';
import { chmod, chown, lstat, mkdir, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { NftsentryError, ErrorCodes } from '../../errors.ts';

function isAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      s.destroy();
      // EPROTOTYPE: a live socket of another type (a datagram socket) is bound there.
      resolve(err.code === 'EPROTOTYPE');
    });
  });
}

/** Makes `path` free to bind: creates its directory, removes a stale socket file. */
export async function prepareSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new NftsentryError(ErrorCodes.FORBIDDEN, `cannot inspect socket path ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!st.isSocket()) {
    throw new NftsentryError(ErrorCodes.CONFLICT, `${path} exists and is not a socket; not replacing it`, {
      details: { path },
    });
  }
  if (await isAlive(path)) {
    throw new NftsentryError(ErrorCodes.CONFLICT, `another process is listening on ${path}`, { details: { path } });
  }
  await unlink(path);
}

async function lookupId(file: string, name: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return null;
}

async function resolveId(kind: 'user' | 'group', v: string | number | undefined): Promise<number> {
  if (v === undefined) return -1;
  if (typeof v === 'number') return v;
  const id = await lookupId(kind === 'user' ? '/etc/passwd' : '/etc/group', v);
  if (id === null)
    throw new NftsentryError(
      ErrorCodes.CONFIG_INVALID,
      `unknown ${kind} "${v}" for a socket's ${kind === 'user' ? 'owner' : 'group'}`,
    );
  return id;
}

export interface SocketAccess {
  mode: number;
  owner?: string | number | undefined;
  group?: string | number | undefined;
}

/** Applies mode, then owner and group (-1 leaves one unchanged). */
export async function applySocketAccess(path: string, access: SocketAccess): Promise<void> {
  const uid = await resolveId('user', access.owner);
  const gid = await resolveId('group', access.group);
  try {
    await chmod(path, access.mode);
    if (uid !== -1 || gid !== -1) await chown(path, uid, gid);
  } catch (err) {
    throw new NftsentryError(ErrorCodes.FORBIDDEN, `cannot set owner/mode of ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** The inode of the socket file we bound, so that stop removes ours and nobody else's. */
export async function socketInode(path: string): Promise<number | null> {
  return lstat(path).then(
    (st) => st.ino,
    () => null,
  );
}

/** Removes our socket file at stop, unless another process has replaced it since. */
export async function removeSocketPath(path: string, ino: number | null): Promise<void> {
  if (ino === null || (await socketInode(path)) !== ino) return;
  await unlink(path).catch(() => undefined);
}
