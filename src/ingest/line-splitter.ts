/**
 * One line splitter for any byte source (socket, file, stdin, datagram).
 *
 * Buffer-based: complete lines are handed out as (buffer, start, end) views into the chunk that
 * was pushed, so the hot path copies nothing. Only a partial last line is copied, into a carry
 * buffer that never grows past `maxLineBytes`: a longer line is skipped up to its newline and
 * reported once as too long, so memory stays bounded even for a 50 MB line without a newline.
 *
 * The views are valid only during the callback: the caller may reuse its chunk afterwards.
 */

const NL = 0x0a;

export interface LineSink {
  /** A complete line without its `\n` (a trailing `\r` is left for the parser to trim). */
  line(buf: Buffer, start: number, end: number): void;
  /** A line longer than the cap was skipped; `bytes` is how much of it was seen. */
  tooLong(bytes: number): void;
}

export class LineSplitter {
  private readonly maxLineBytes: number;
  private readonly sink: LineSink;
  private carry: Buffer;
  private carryLen = 0;
  /** True while skipping the rest of an over-long line up to its newline. */
  private discarding = false;
  private discardedBytes = 0;

  constructor(sink: LineSink, maxLineBytes: number) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1)
      throw new RangeError('maxLineBytes must be a positive integer');
    this.sink = sink;
    this.maxLineBytes = maxLineBytes;
    this.carry = Buffer.allocUnsafe(Math.min(maxLineBytes, 64 * 1024));
  }

  /** Bytes of an incomplete line held back (0 while discarding an over-long line). */
  get pendingBytes(): number {
    return this.carryLen;
  }

  /** Bytes pushed that belong to no complete line yet (a held partial, or an over-long line being skipped). */
  get heldBytes(): number {
    return this.carryLen + this.discardedBytes;
  }

  /** True while the splitter is skipping an over-long line. */
  get isDiscarding(): boolean {
    return this.discarding;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      const nl = chunk.indexOf(NL, pos);
      if (nl < 0) {
        this.hold(chunk, pos, len);
        return;
      }
      if (this.discarding) {
        this.discardedBytes += nl - pos;
        this.sink.tooLong(this.discardedBytes);
        this.discarding = false;
        this.discardedBytes = 0;
      } else if (this.carryLen > 0) {
        const total = this.carryLen + (nl - pos);
        if (total > this.maxLineBytes) {
          this.sink.tooLong(total);
        } else {
          this.append(chunk, pos, nl);
          this.sink.line(this.carry, 0, this.carryLen);
        }
        this.carryLen = 0;
      } else if (nl - pos > this.maxLineBytes) {
        this.sink.tooLong(nl - pos);
      } else {
        this.sink.line(chunk, pos, nl);
      }
      pos = nl + 1;
    }
  }

  /**
   * Ends the current record: a held partial line is handed out as a line (a datagram's last line
   * needs no newline). Returns nothing; an over-long tail is reported as too long.
   */
  flush(): void {
    if (this.discarding) {
      this.sink.tooLong(this.discardedBytes);
    } else if (this.carryLen > 0) {
      this.sink.line(this.carry, 0, this.carryLen);
    }
    this.reset();
  }

  /** Drops a held partial line and returns its length (a disconnect or a truncated file). */
  discard(): number {
    const dropped = this.carryLen + this.discardedBytes;
    this.reset();
    return dropped;
  }

  private reset(): void {
    this.carryLen = 0;
    this.discarding = false;
    this.discardedBytes = 0;
    // Give back a carry grown by one long line.
    if (this.carry.length > 64 * 1024) this.carry = Buffer.allocUnsafe(64 * 1024);
  }

  private hold(chunk: Buffer, from: number, to: number): void {
    if (this.discarding) {
      this.discardedBytes += to - from;
      return;
    }
    if (this.carryLen + (to - from) > this.maxLineBytes) {
      this.discarding = true;
      this.discardedBytes = this.carryLen + (to - from);
      this.carryLen = 0;
      return;
    }
    this.append(chunk, from, to);
  }

  private append(chunk: Buffer, from: number, to: number): void {
    const need = this.carryLen + (to - from);
    if (need > this.carry.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.maxLineBytes, Math.max(need, this.carry.length * 2)));
      this.carry.copy(grown, 0, 0, this.carryLen);
      this.carry = grown;
    }
    chunk.copy(this.carry, this.carryLen, from, to);
    this.carryLen = need;
  }
}
