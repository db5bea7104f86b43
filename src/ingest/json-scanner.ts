/**
 * A strict JSON validator over bytes that also finds the top-level `event_type` value, without
 * building any object. It accepts exactly what JSON.parse accepts (the fuzz test compares the
 * two), so a line it passes as "not an alert" is a well-formed line, and the 99% of EVE lines that
 * are not alerts cost one pass over their bytes instead of a JSON.parse.
 *
 * UTF-8 validity is not its job (see `isUtf8` in line-parser.ts): bytes >= 0x80 inside strings are
 * accepted as they are. Pure; one instance is reused line after line to avoid allocation.
 */

export const SCAN_OK = 0;
export const SCAN_NOT_JSON = 1;
/** Valid JSON whose top-level value is not an object. */
export const SCAN_NOT_OBJECT = 2;
/** Nested deeper than MAX_DEPTH. */
export const SCAN_TOO_DEEP = 3;

export type ScanStatus = typeof SCAN_OK | typeof SCAN_NOT_JSON | typeof SCAN_NOT_OBJECT | typeof SCAN_TOO_DEEP;

export const MAX_DEPTH = 512;

const ST_VALUE = 0;
const ST_VALUE_OR_CLOSE = 1;
const ST_AFTER_VALUE = 2;
const ST_KEY = 3;
const ST_KEY_OR_CLOSE = 4;
const ST_COLON = 5;

const OBJ = 1;
const ARR = 2;

// "event_type"
const EVENT_TYPE = [0x65, 0x76, 0x65, 0x6e, 0x74, 0x5f, 0x74, 0x79, 0x70, 0x65];

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** Index after the closing quote of a string whose body starts at `i`, or -1. */
function scanString(b: Buffer, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!;
    if (c === 0x22) return i + 1;
    if (c === 0x5c) {
      const e = b[i + 1];
      if (i + 1 >= end || e === undefined) return -1;
      if (e === 0x75) {
        if (i + 5 >= end || !isHex(b[i + 2]!) || !isHex(b[i + 3]!) || !isHex(b[i + 4]!) || !isHex(b[i + 5]!)) return -1;
        i += 6;
        continue;
      }
      // " \ / b f n r t
      if (e !== 0x22 && e !== 0x5c && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74)
        return -1;
      i += 2;
      continue;
    }
    if (c < 0x20) return -1;
    i++;
  }
  return -1;
}

function scanDigits(b: Buffer, i: number, end: number): number {
  while (i < end && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
  return i;
}

/** Index after a number starting at `i`, or -1 (JSON grammar: no leading zeros, no bare dot). */
function scanNumber(b: Buffer, i: number, end: number): number {
  if (b[i] === 0x2d) i++;
  if (i >= end) return -1;
  if (b[i] === 0x30) i++;
  else if (b[i]! >= 0x31 && b[i]! <= 0x39) i = scanDigits(b, i + 1, end);
  else return -1;
  if (i < end && b[i] === 0x2e) {
    const j = scanDigits(b, i + 1, end);
    if (j === i + 1) return -1;
    i = j;
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    const j = scanDigits(b, i, end);
    if (j === i) return -1;
    i = j;
  }
  return i;
}

function matchWord(b: Buffer, i: number, end: number, word: string): number {
  if (i + word.length > end) return -1;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return -1;
  return i + word.length;
}

function isEventTypeKey(b: Buffer, bodyStart: number, bodyEnd: number): boolean {
  if (bodyEnd - bodyStart !== 10) return false;
  for (let k = 0; k < 10; k++) if (b[bodyStart + k] !== EVENT_TYPE[k]) return false;
  return true;
}

export class JsonScanner {
  /** Byte range of the top-level `event_type` string's body (escapes left as they are); -1 if none. */
  eventTypeStart = -1;
  eventTypeEnd = -1;
  /** Where the scan failed (for log details). */
  errorAt = -1;
  private readonly stack = new Uint8Array(MAX_DEPTH + 1);

  scan(b: Buffer, start: number, end: number): ScanStatus {
    this.eventTypeStart = -1;
    this.eventTypeEnd = -1;
    this.errorAt = -1;
    const stack = this.stack;
    let depth = 0;
    let state = ST_VALUE;
    let topIsObject = false;
    let nextIsEventType = false;
    let i = start;
    while (true) {
      while (i < end && isWs(b[i]!)) i++;
      if (i >= end) break;
      const c = b[i]!;
      if (state === ST_VALUE || state === ST_VALUE_OR_CLOSE) {
        if (c === 0x5d && state === ST_VALUE_OR_CLOSE) {
          depth--;
          i++;
          state = ST_AFTER_VALUE;
          continue;
        }
        const isEt = nextIsEventType;
        nextIsEventType = false;
        if (c === 0x7b || c === 0x5b) {
          if (depth === 0) topIsObject = c === 0x7b;
          if (depth >= MAX_DEPTH) return this.fail(i, SCAN_TOO_DEEP);
          stack[++depth] = c === 0x7b ? OBJ : ARR;
          state = c === 0x7b ? ST_KEY_OR_CLOSE : ST_VALUE_OR_CLOSE;
          i++;
          continue;
        }
        let j: number;
        if (c === 0x22) {
          j = scanString(b, i + 1, end);
          if (isEt && j > 0) {
            this.eventTypeStart = i + 1;
            this.eventTypeEnd = j - 1;
          }
        } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) j = scanNumber(b, i, end);
        else if (c === 0x74) j = matchWord(b, i, end, 'true');
        else if (c === 0x66) j = matchWord(b, i, end, 'false');
        else if (c === 0x6e) j = matchWord(b, i, end, 'null');
        else j = -1;
        if (j < 0) return this.fail(i, SCAN_NOT_JSON);
        i = j;
        state = ST_AFTER_VALUE;
      } else if (state === ST_AFTER_VALUE) {
        if (depth === 0) return this.fail(i, SCAN_NOT_JSON);
        const top = stack[depth];
        if (c === 0x2c) state = top === OBJ ? ST_KEY : ST_VALUE;
        else if ((c === 0x7d && top === OBJ) || (c === 0x5d && top === ARR)) depth--;
        else return this.fail(i, SCAN_NOT_JSON);
        i++;
      } else if (state === ST_KEY || state === ST_KEY_OR_CLOSE) {
        if (c === 0x7d && state === ST_KEY_OR_CLOSE) {
          depth--;
          i++;
          state = ST_AFTER_VALUE;
          continue;
        }
        if (c !== 0x22) return this.fail(i, SCAN_NOT_JSON);
        const j = scanString(b, i + 1, end);
        if (j < 0) return this.fail(i, SCAN_NOT_JSON);
        nextIsEventType = depth === 1 && isEventTypeKey(b, i + 1, j - 1);
        i = j;
        state = ST_COLON;
      } else {
        if (c !== 0x3a) return this.fail(i, SCAN_NOT_JSON);
        i++;
        state = ST_VALUE;
      }
    }
    if (depth !== 0 || state !== ST_AFTER_VALUE) return this.fail(end, SCAN_NOT_JSON);
    return topIsObject ? SCAN_OK : SCAN_NOT_OBJECT;
  }

  /** True when the top-level `event_type` found by the last scan is exactly `word`. */
  eventTypeIs(b: Buffer, word: Buffer): boolean {
    const len = this.eventTypeEnd - this.eventTypeStart;
    if (this.eventTypeStart < 0 || len !== word.length) return false;
    for (let k = 0; k < len; k++) if (b[this.eventTypeStart + k] !== word[k]) return false;
    return true;
  }

  private fail(at: number, status: ScanStatus): ScanStatus {
    this.errorAt = at;
    return status;
  }
}
