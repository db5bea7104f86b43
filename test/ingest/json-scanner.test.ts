/**
 * The byte scanner must accept exactly what JSON.parse accepts: compared on every real sample line
 * and on thousands of mutations of them (cut, byte flipped, byte inserted), plus edge cases.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JsonScanner, SCAN_NOT_OBJECT, SCAN_OK } from '../../src/ingest/json-scanner.ts';
import { LineParser } from '../../src/ingest/line-parser.ts';
import { allSampleFiles, isIdsNdjson } from './helpers.ts';

function jsonParseVerdict(buf: Buffer): 'object' | 'other' | 'invalid' {
  try {
    const v: unknown = JSON.parse(buf.toString('latin1'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? 'object' : 'other';
  } catch {
    return 'invalid';
  }
}

function scannerVerdict(s: JsonScanner, buf: Buffer): 'object' | 'other' | 'invalid' {
  const st = s.scan(buf, 0, buf.length);
  return st === SCAN_OK ? 'object' : st === SCAN_NOT_OBJECT ? 'other' : 'invalid';
}

/** Deterministic PRNG so a failure reproduces. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const sampleLines: Buffer[] = allSampleFiles()
  .filter(isIdsNdjson)
  .flatMap((f) => readFileSync(f, 'latin1').split('\n'))
  .filter((l) => l.trim() !== '')
  .map((l) => Buffer.from(l, 'latin1'));

describe('JsonScanner', () => {
  const s = new JsonScanner();

  it('agrees with JSON.parse on every sample line', () => {
    expect(sampleLines.length).toBeGreaterThan(10_000);
    for (const b of sampleLines) expect(scannerVerdict(s, b)).toBe(jsonParseVerdict(b));
  });

  it('agrees with JSON.parse on 30k mutated sample lines', () => {
    const rand = rng(42);
    const alphabet = Buffer.from('{}[]":,\\ -+.0123456789eEtrufalsn\u0001\u001f\u007fabcxyz\t\r');
    let invalid = 0;
    for (let n = 0; n < 30_000; n++) {
      const src = sampleLines[Math.floor(rand() * sampleLines.length)]!;
      const b = Buffer.from(src);
      const kind = Math.floor(rand() * 3);
      const at = Math.floor(rand() * b.length);
      let m: Buffer;
      if (kind === 0) m = b.subarray(0, at);
      else if (kind === 1) {
        b[at] = alphabet[Math.floor(rand() * alphabet.length)]!;
        m = b;
      } else
        m = Buffer.concat([
          b.subarray(0, at),
          alphabet.subarray(Math.floor(rand() * alphabet.length)).subarray(0, 1),
          b.subarray(at),
        ]);
      const expected = jsonParseVerdict(m);
      if (expected === 'invalid') invalid++;
      const got = scannerVerdict(s, m);
      if (got !== expected)
        throw new Error(`disagreement (${got} vs ${expected}) on: ${m.toString('latin1').slice(0, 300)}`);
    }
    expect(invalid).toBeGreaterThan(10_000);
  });

  it.each([
    ['{}', 'object'],
    [' {"a":[1,2,{"b":null}]} ', 'object'],
    ['{"a":1,}', 'invalid'],
    ['{"a":01}', 'invalid'],
    ['{"a":1.}', 'invalid'],
    ['{"a":.5}', 'invalid'],
    ['{"a":-0.5e+10}', 'object'],
    ['{"a":"\\u00e9\\n"}', 'object'],
    ['{"a":"\\x"}', 'invalid'],
    ['{"a":"\\u12g4"}', 'invalid'],
    ['{"a":tru}', 'invalid'],
    ['{"a":1}{"b":2}', 'invalid'],
    ['{"a":1} x', 'invalid'],
    ['[1,2]', 'other'],
    ['"x"', 'other'],
    ['12', 'other'],
    ['', 'invalid'],
    ['{"a" 1}', 'invalid'],
    ['{"a":"b\u0000"}', 'invalid'],
  ])('%j is %s', (text, verdict) => {
    const b = Buffer.from(text);
    expect(scannerVerdict(s, b)).toBe(verdict);
    expect(jsonParseVerdict(b)).toBe(verdict);
  });

  it('fast and strict parsing give the same alerts on 30k mutated alert lines', () => {
    const rand = rng(99);
    const fast = new LineParser({ format: 'auto', snortZone: 'utc' });
    const strict = new LineParser({ format: 'auto', snortZone: 'utc', strict: true });
    const alerts = sampleLines.filter((b) => b.includes('"event_type":"alert"') || b.includes('"rule"'));
    let stillAlerts = 0;
    for (let n = 0; n < 30_000; n++) {
      const b = Buffer.from(alerts[Math.floor(rand() * alerts.length)]!);
      const at = Math.floor(rand() * b.length);
      b[at] = Math.floor(rand() * 256);
      if (b[at] === 0x0a) b[at] = 0x20;
      const f = fast.parse(b, 0, b.length, 0);
      const s2 = strict.parse(b, 0, b.length, 0);
      if (f.kind === 'alert' || s2.kind === 'alert') {
        stillAlerts++;
        expect(f).toEqual(s2);
      }
    }
    expect(stillAlerts).toBeGreaterThan(2_000);
  });

  it('finds the top-level event_type only, the last one when repeated', () => {
    const b = Buffer.from('{"x":{"event_type":"alert"},"event_type":"flow","y":[{"event_type":"alert"}]}');
    expect(s.scan(b, 0, b.length)).toBe(SCAN_OK);
    expect(b.toString('utf8', s.eventTypeStart, s.eventTypeEnd)).toBe('flow');
    expect(s.eventTypeIs(b, Buffer.from('alert'))).toBe(false);
    const esc = Buffer.from('{"http":{"ua":"\\"event_type\\":\\"alert\\""},"event_type":"http"}');
    expect(s.scan(esc, 0, esc.length)).toBe(SCAN_OK);
    expect(esc.toString('utf8', s.eventTypeStart, s.eventTypeEnd)).toBe('http');
    const none = Buffer.from('{"rule":"1:2:3"}');
    s.scan(none, 0, none.length);
    expect(s.eventTypeStart).toBe(-1);
  });

  it('refuses nesting deeper than its limit without recursion', () => {
    const deep = Buffer.from('['.repeat(100_000));
    expect(s.scan(deep, 0, deep.length)).not.toBe(SCAN_OK);
  });
});
