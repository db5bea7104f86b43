/**
 * The config file's bytes, read and checked before any YAML is parsed: at most MAX_CONFIG_BYTES
 * (a device like /dev/zero or a runaway generator never fills memory), UTF-8 (a stray byte is an
 * error with its offset, never a silent U+FFFD in a path or an address), and not empty.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { ErrorCodes, NftsentryError } from '../errors.ts';

/**
 * Largest config file. The YAML parser's time and memory grow with the text, whatever the text
 * says; this bounds both (docs/config.md has the measurements). Long address lists belong in the
 * API's allowlist.
 */
export const MAX_CONFIG_BYTES = 512 * 1024;

const CHUNK = 64 * 1024;

/** The chunks read so far, bounded by MAX_CONFIG_BYTES; decoded once the file ends. */
class BoundedBytes {
  private readonly chunks: Buffer[] = [];
  private total = 0;
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** Keeps what one read returned (`n` bytes of `buffer`); false at the end of the file. */
  add(buffer: Buffer, n: number): boolean {
    if (n === 0) return false;
    this.chunks.push(buffer.subarray(0, n));
    this.total += n;
    if (this.total > MAX_CONFIG_BYTES) throw tooLarge(this.path);
    return true;
  }

  text(): string {
    return decodeConfigBytes(Buffer.concat(this.chunks, this.total), this.path);
  }
}

/** A read failure as E_CONFIG_INVALID naming the path (our own errors pass as they are). */
const readFailure = (path: string, err: unknown) => (err instanceof NftsentryError ? err : unreadable(path, err));

/** Reads the file, or throws E_CONFIG_INVALID naming the path. */
export function readConfigFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw unreadable(path, err);
  }
  const bytes = new BoundedBytes(path);
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafe(CHUNK);
      if (!bytes.add(chunk, readSync(fd, chunk, 0, CHUNK, null))) break;
    }
  } catch (err) {
    throw readFailure(path, err);
  } finally {
    closeSync(fd);
  }
  return bytes.text();
}

/** The same as readConfigFile, without blocking the event loop (the daemon's reload). */
export async function readConfigFileAsync(path: string): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw unreadable(path, err);
  }
  const bytes = new BoundedBytes(path);
  try {
    for (;;) {
      const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(CHUNK), 0, CHUNK, null);
      if (!bytes.add(buffer, bytesRead)) break;
    }
  } catch (err) {
    throw readFailure(path, err);
  } finally {
    await handle.close();
  }
  return bytes.text();
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Strict UTF-8 (a leading byte order mark is dropped), refused when empty. */
export function decodeConfigBytes(bytes: Uint8Array, path: string): string {
  if (bytes.length > MAX_CONFIG_BYTES) throw tooLarge(path);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new NftsentryError(
      ErrorCodes.CONFIG_INVALID,
      `${path} is not UTF-8 text: byte ${firstBadByte(bytes)} starts no valid UTF-8 character`,
    );
  }
  assertNotEmpty(text, path);
  return text;
}

/**
 * An empty or whitespace-only config file is an error: every key has a default, so an empty
 * document would be a valid config nobody meant (a truncated file, a write still under way).
 */
export function assertNotEmpty(text: string, path: string): void {
  if (text.trim().length === 0) {
    throw new NftsentryError(ErrorCodes.CONFIG_INVALID, `${path} is empty: a config file must say something`);
  }
}

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence (Unicode table 3-7). */
function firstBadByte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let len: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b < 0x80) len = 1;
    else if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k < len; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += len;
  }
  return i;
}

function tooLarge(path: string): NftsentryError {
  return new NftsentryError(
    ErrorCodes.CONFIG_INVALID,
    `${path} is larger than ${MAX_CONFIG_BYTES / 1024} KiB: not a config file (a long allowlist belongs in the API's: nftsentry allow)`,
  );
}

function unreadable(path: string, err: unknown): NftsentryError {
  return new NftsentryError(ErrorCodes.CONFIG_INVALID, `cannot read config ${path}: ${(err as Error).message}`, {
    cause: err,
  });
}
