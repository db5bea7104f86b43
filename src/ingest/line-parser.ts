/**
 * One line of IDS output (bytes) -> alert | skip | bad. The parsing path (its cost is in
 * docs/ingestion.md, from bench/ingest.ts):
 *
 * Fast (default). Most EVE lines are not alerts, so they are decided with native searches only:
 *   - the key `"event_type"` is found with Buffer.indexOf, once per chunk and not once per line
 *     (a cursor moves through the chunk with the lines); its value is compared in place;
 *   - a line whose event_type is not "alert" is skipped after cheap checks: it starts with `{`,
 *     ends with `}`, holds no NUL byte (same cursor trick) and is valid UTF-8 (native `isUtf8`);
 *   - a line with `"event_type":"alert"` (about 1%), or without event_type (Snort alert_json),
 *     goes through JSON.parse and the field readers.
 *   An attacker cannot forge the key inside a string value: there, its quotes are escaped (`\"`).
 *   What the fast path does not see: a non-alert line broken inside (e.g. an unquoted value) is
 *   skipped as a non-alert instead of counted as bad. No alert is lost that way: every candidate
 *   alert is fully parsed.
 *
 * Strict (`strict: true`): every line goes through the byte scanner (json-scanner.ts), which
 *   accepts exactly what JSON.parse accepts, so bad-line counts are exact; about 2-3x slower.
 *
 * Pure: `nowMs` is a parameter (Snort's year). Not reentrant: one parser per splitter's sink.
 * The search cursors assume lines come in order from one buffer; they start over when the buffer
 * object changes, when a line starts before the previous one ended, or at `noteChunk`.
 */
import { isUtf8 } from 'node:buffer';
import type { ParseResult } from './alert.ts';
import { isObj } from './alert-fields.ts';
import { parseEveAlert } from './eve-alert.ts';
import { parseSnortAlert } from './snort-alert.ts';
import type { TimeZoneMode } from './snort-time.ts';
import { JsonScanner, SCAN_NOT_OBJECT, SCAN_OK, SCAN_TOO_DEEP } from './json-scanner.ts';

export type LineFormat = 'eve' | 'snort' | 'auto';

export interface LineParserOptions {
  format: LineFormat;
  /** Time zone of Snort's timestamps (Snort prints local time unless run with -U). */
  snortZone?: TimeZoneMode;
  /** Validate every line as strict JSON (exact bad counts, slower). Default false. */
  strict?: boolean;
}

const ET_KEY = Buffer.from('"event_type"');
const ALERT_VALUE = Buffer.from('"alert"');
const ALERT = Buffer.from('alert');
const SKIP_NOT_ALERT: ParseResult = Object.freeze({ kind: 'skip', why: 'not_alert' });
const SKIP_BLANK: ParseResult = Object.freeze({ kind: 'skip', why: 'blank' });
/** Cursor value: not searched yet in this buffer. */
const UNKNOWN = -2;

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0d || c === 0x09 || c === 0x0a;
}

/** After the key: optional spaces, a colon, optional spaces, then exactly `"alert"`, all before `end`. */
function valueIsAlert(b: Buffer, i: number, end: number): boolean {
  while (i < end && isWs(b[i]!)) i++;
  if (b[i] !== 0x3a) return false;
  i++;
  while (i < end && isWs(b[i]!)) i++;
  if (i + ALERT_VALUE.length > end) return false;
  for (let k = 0; k < ALERT_VALUE.length; k++) if (b[i + k] !== ALERT_VALUE[k]) return false;
  return true;
}

export class LineParser {
  private readonly scanner = new JsonScanner();
  private readonly format: LineFormat;
  private readonly snortZone: TimeZoneMode;
  private readonly strict: boolean;
  // Search cursors, valid while lines come in order from the same buffer.
  private lastBuf: Buffer | null = null;
  private lastEnd = 0;
  private nextEt = UNKNOWN;
  private nextNul = UNKNOWN;
  /** A chunk known to be valid UTF-8 as a whole, so each of its lines is (see `noteChunk`). */
  private utf8Chunk: Buffer | null = null;

  constructor(options: LineParserOptions) {
    this.format = options.format;
    this.snortZone = options.snortZone ?? 'local';
    this.strict = options.strict ?? false;
  }

  parse(buf: Buffer, start: number, end: number, nowMs: number): ParseResult {
    while (start < end && isWs(buf[start]!)) start++;
    while (end > start && isWs(buf[end - 1]!)) end--;
    if (start === end) return SKIP_BLANK;
    if (this.strict) return this.parseStrict(buf, start, end, nowMs);
    if (buf !== this.lastBuf || start < this.lastEnd) {
      this.lastBuf = buf;
      this.nextEt = UNKNOWN;
      this.nextNul = UNKNOWN;
    }
    this.lastEnd = end;
    if (this.format === 'snort') return this.parseFull(buf, start, end, nowMs);
    const et = this.eventType(buf, start, end);
    if (et === 'alert' || (et === 'none' && this.format === 'auto')) return this.parseFull(buf, start, end, nowMs);
    if (
      buf[start] !== 0x7b ||
      buf[end - 1] !== 0x7d ||
      this.hasNul(buf, start, end) ||
      (buf !== this.utf8Chunk && !isUtf8(buf.subarray(start, end)))
    ) {
      return this.refuse(buf, start, end);
    }
    return SKIP_NOT_ALERT;
  }

  /**
   * Optional hint, called with each chunk before it is split: one native UTF-8 check of the whole
   * chunk replaces one per line (a newline byte never falls inside a character, so every line of
   * a valid chunk is valid). A chunk cut inside a character just falls back to per-line checks.
   */
  noteChunk(chunk: Buffer): void {
    this.utf8Chunk = isUtf8(chunk) ? chunk : null;
    this.lastBuf = null; // new content: the search cursors start over, even in a reused buffer
  }

  /** 'alert' when some `"event_type"` key in the line has the value "alert". */
  private eventType(buf: Buffer, start: number, end: number): 'alert' | 'other' | 'none' {
    if (this.nextEt === UNKNOWN || (this.nextEt >= 0 && this.nextEt < start)) this.nextEt = buf.indexOf(ET_KEY, start);
    let found: 'other' | 'none' = 'none';
    let p = this.nextEt;
    while (p >= 0 && p + ET_KEY.length <= end) {
      found = 'other';
      if (valueIsAlert(buf, p + ET_KEY.length, end)) return 'alert';
      p = buf.indexOf(ET_KEY, p + 1);
      this.nextEt = p;
    }
    return found;
  }

  private hasNul(buf: Buffer, start: number, end: number): boolean {
    if (this.nextNul === UNKNOWN || (this.nextNul >= 0 && this.nextNul < start)) this.nextNul = buf.indexOf(0, start);
    return this.nextNul >= 0 && this.nextNul < end;
  }

  /** JSON.parse, then EVE or Snort by what the object holds. */
  private parseFull(buf: Buffer, start: number, end: number, nowMs: number): ParseResult {
    if (!isUtf8(buf.subarray(start, end))) return this.refuse(buf, start, end);
    const text = buf.toString('utf8', start, end);
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      return this.refuse(buf, start, end);
    }
    return this.fromObject(obj, text, nowMs);
  }

  private fromObject(obj: unknown, text: string, nowMs: number): ParseResult {
    if (!isObj(obj)) return { kind: 'bad', reason: 'not_object', detail: 'JSON but not an object' };
    if (this.format !== 'snort' && obj.event_type !== undefined) {
      return obj.event_type === 'alert' ? parseEveAlert(obj, text) : SKIP_NOT_ALERT;
    }
    if (this.format === 'eve') return SKIP_NOT_ALERT;
    // auto: a record without event_type is Snort's when it names a rule; otherwise not an alert.
    if (this.format === 'auto' && obj.rule === undefined && obj.sid === undefined) return SKIP_NOT_ALERT;
    return parseSnortAlert(obj, { nowMs, zone: this.snortZone });
  }

  private parseStrict(buf: Buffer, start: number, end: number, nowMs: number): ParseResult {
    const status = this.scanner.scan(buf, start, end);
    if (status !== SCAN_OK || !isUtf8(buf.subarray(start, end))) return this.refuse(buf, start, end);
    if (this.format !== 'snort' && this.scanner.eventTypeStart >= 0) {
      if (!this.scanner.eventTypeIs(buf, ALERT)) return SKIP_NOT_ALERT;
    } else if (this.format === 'eve') return SKIP_NOT_ALERT;
    const text = buf.toString('utf8', start, end);
    return this.fromObject(JSON.parse(text), text, nowMs);
  }

  /** Why a line is not acceptable JSON; the rare path, so it may look at every byte. */
  private refuse(buf: Buffer, start: number, end: number): ParseResult {
    const nul = buf.subarray(start, end).indexOf(0);
    if (nul >= 0) return { kind: 'bad', reason: 'nul_byte', detail: `NUL byte at ${nul}` };
    if (!isUtf8(buf.subarray(start, end))) return { kind: 'bad', reason: 'not_utf8', detail: 'invalid UTF-8' };
    const status = this.scanner.scan(buf, start, end);
    if (status === SCAN_NOT_OBJECT) return { kind: 'bad', reason: 'not_object', detail: 'JSON but not an object' };
    if (status === SCAN_TOO_DEEP) return { kind: 'bad', reason: 'not_json', detail: 'nested too deep' };
    if (status === SCAN_OK) return { kind: 'bad', reason: 'not_json', detail: 'not an EVE record' };
    return {
      kind: 'bad',
      reason: 'not_json',
      detail: `invalid JSON at byte ${this.scanner.errorAt - start} of ${end - start}`,
    };
  }
}
