/**
 * One line of IDS output (bytes) -> alert | skip | bad. The chosen parsing path (see
 * docs/ingestion.md for the measurements):
 *
 *   1. trim; an empty line is `blank`;
 *   2. `isUtf8` (native) and one pass of the byte scanner (json-scanner.ts), which validates the
 *      line and finds the top-level `event_type` without building objects;
 *   3. only when `event_type` is "alert" (about 1% of EVE lines), or when the line has no
 *      `event_type` (Snort 3 alert_json), JSON.parse and read the fields.
 *
 * Pure: `nowMs` is a parameter (Snort's year), the scanner is reused state owned by the caller.
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
}

const ALERT = Buffer.from('alert');
const SKIP_NOT_ALERT: ParseResult = Object.freeze({ kind: 'skip', why: 'not_alert' });
const SKIP_BLANK: ParseResult = Object.freeze({ kind: 'skip', why: 'blank' });

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0d || c === 0x09 || c === 0x0a;
}

export class LineParser {
  private readonly scanner = new JsonScanner();
  private readonly format: LineFormat;
  private readonly snortZone: TimeZoneMode;

  constructor(options: LineParserOptions) {
    this.format = options.format;
    this.snortZone = options.snortZone ?? 'local';
  }

  parse(buf: Buffer, start: number, end: number, nowMs: number): ParseResult {
    while (start < end && isWs(buf[start]!)) start++;
    while (end > start && isWs(buf[end - 1]!)) end--;
    if (start === end) return SKIP_BLANK;
    const status = this.scanner.scan(buf, start, end);
    if (status !== SCAN_OK) return this.refuse(buf, start, end, status);
    if (!isUtf8(buf.subarray(start, end))) return { kind: 'bad', reason: 'not_utf8', detail: 'invalid UTF-8' };

    const hasEventType = this.scanner.eventTypeStart >= 0;
    if (this.format !== 'snort' && hasEventType) {
      if (!this.scanner.eventTypeIs(buf, ALERT)) return SKIP_NOT_ALERT;
      const text = buf.toString('utf8', start, end);
      return parseEveAlert(JSON.parse(text) as Record<string, unknown>, text);
    }
    if (this.format === 'eve') return SKIP_NOT_ALERT;
    const obj: unknown = JSON.parse(buf.toString('utf8', start, end));
    if (!isObj(obj)) return { kind: 'bad', reason: 'not_object', detail: 'not an object' };
    // auto: a record without event_type is Snort's when it names a rule; otherwise not an alert.
    if (this.format === 'auto' && obj.rule === undefined && obj.sid === undefined) return SKIP_NOT_ALERT;
    return parseSnortAlert(obj, { nowMs, zone: this.snortZone });
  }

  /** Why the scanner refused a line; the rare path, so it may look at every byte. */
  private refuse(buf: Buffer, start: number, end: number, status: number): ParseResult {
    const at = this.scanner.errorAt - start;
    const nul = buf.indexOf(0, start);
    if (nul >= 0 && nul < end) return { kind: 'bad', reason: 'nul_byte', detail: `NUL byte at ${nul - start}` };
    if (!isUtf8(buf.subarray(start, end))) return { kind: 'bad', reason: 'not_utf8', detail: 'invalid UTF-8' };
    if (status === SCAN_NOT_OBJECT) return { kind: 'bad', reason: 'not_object', detail: 'JSON but not an object' };
    if (status === SCAN_TOO_DEEP) return { kind: 'bad', reason: 'not_json', detail: 'nested too deep' };
    return { kind: 'bad', reason: 'not_json', detail: `invalid JSON at byte ${at} of ${end - start}` };
  }
}
