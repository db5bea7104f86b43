/**
 * One open file being followed: its identity (device, inode), the read position, and its own line
 * splitter. `readToEnd` hands every complete line to the intake, waiting while the queue is full
 * (the file is the buffer). `committed` is the offset of the first byte of the first line not yet
 * handed over: what a bookmark stores.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { LineIntake } from '../line-intake.ts';
import type { LineSplitter } from '../line-splitter.ts';

export class FileReader {
  readonly path: string;
  readonly dev: bigint;
  readonly ino: bigint;
  pos: number;
  private readonly fh: FileHandle;
  private readonly splitter: LineSplitter;
  private readonly intake: LineIntake;

  private constructor(path: string, fh: FileHandle, dev: bigint, ino: bigint, pos: number, intake: LineIntake) {
    this.path = path;
    this.fh = fh;
    this.dev = dev;
    this.ino = ino;
    this.pos = pos;
    this.intake = intake;
    this.splitter = intake.newSplitter();
  }

  /** Opens `path`; `at` picks the start offset from the file's size. */
  static async open(
    path: string,
    intake: LineIntake,
    at: (size: number, fh: FileHandle) => Promise<number> | number,
  ): Promise<FileReader> {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat({ bigint: true });
      const pos = await at(Number(st.size), fh);
      intake.stats.opened++;
      return new FileReader(path, fh, st.dev, st.ino, pos, intake);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  get committed(): number {
    return this.pos - this.splitter.heldBytes;
  }

  async size(): Promise<number> {
    return Number((await this.fh.stat({ bigint: true })).size);
  }

  /**
   * Reads until end of file, or until `stop.stopped`; returns the bytes read. A short read is the
   * end: what is appended after it comes with its own wakeup (file-wakeups.ts) or the poll.
   */
  async readToEnd(buf: Buffer, stop: { stopped: boolean }): Promise<number> {
    let total = 0;
    while (!stop.stopped) {
      if (this.intake.mustWait) {
        await this.intake.waitForRoom();
        continue;
      }
      const { bytesRead } = await this.fh.read(buf, 0, buf.length, this.pos);
      if (bytesRead === 0) break;
      this.intake.push(this.splitter, buf.subarray(0, bytesRead));
      this.pos += bytesRead;
      total += bytesRead;
      if (bytesRead < buf.length) break;
    }
    return total;
  }

  /** The file shrank under us (copytruncate): drop the held partial line, read again from 0. */
  restartAtZero(): void {
    this.intake.truncated(this.splitter.discard(), 'file truncated');
    this.pos = 0;
  }

  /** A rotated file is done: its last line may lack a newline; hand it over as it is. */
  flushLastLine(): void {
    this.splitter.flush();
  }

  close(): Promise<void> {
    return this.fh.close().catch(() => undefined);
  }
}

/** Offset just after the last newline within the file's last `window` bytes (or the size). */
export async function offsetAfterLastNewline(fh: FileHandle, size: number, window = 256 * 1024): Promise<number> {
  if (size === 0) return 0;
  const len = Math.min(size, window);
  const buf = Buffer.allocUnsafe(len);
  const { bytesRead } = await fh.read(buf, 0, len, size - len);
  const nl = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
  return nl < 0 ? size : size - len + nl + 1;
}
