/** Pure parser edges: time formats, the Snort year, address forms, and each bad reason. */
import { describe, expect, it } from 'vitest';
import { LineParser } from '../../src/ingest/line-parser.ts';
import { parseEveTime } from '../../src/ingest/eve-alert.ts';
import { parseSnortTime } from '../../src/ingest/snort-time.ts';
import type { ParseResult } from '../../src/ingest/alert.ts';

const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);

function parse(line: string | Buffer, format: 'eve' | 'snort' | 'auto' = 'auto', nowMs = NOW): ParseResult {
  const b = typeof line === 'string' ? Buffer.from(line) : line;
  return new LineParser({ format, snortZone: 'utc' }).parse(b, 0, b.length, nowMs);
}

const EVE = {
  timestamp: '2024-08-17T13:57:48.589343+0200',
  flow_id: 1234,
  in_iface: 'em0',
  event_type: 'alert',
  src_ip: '2001:0db8:0000:0000:0000:0000:0000:0001',
  src_port: 51000,
  dest_ip: '192.0.2.10',
  dest_port: 22,
  proto: 'TCP',
  alert: {
    action: 'allowed',
    gid: 1,
    signature_id: 3400002,
    rev: 1,
    signature: 'POSSBL PORT SCAN (NMAP -sS)',
    category: 'Attempted Information Leak',
    severity: 2,
  },
};

function eve(patch: (o: any) => void): string {
  const o = structuredClone(EVE) as any;
  patch(o);
  return JSON.stringify(o);
}

describe('EVE', () => {
  it('normalises an alert, canonicalising the expanded IPv6', () => {
    const r = parse(JSON.stringify(EVE));
    expect(r).toEqual({
      kind: 'alert',
      alert: {
        ids: 'suricata',
        timeMs: Date.UTC(2024, 7, 17, 11, 57, 48, 589),
        src: { ip: '2001:db8::1', port: 51000 },
        dest: { ip: '192.0.2.10', port: 22 },
        proto: 'TCP',
        gid: 1,
        sid: 3400002,
        rev: 1,
        signature: 'POSSBL PORT SCAN (NMAP -sS)',
        category: 'Attempted Information Leak',
        severity: 2,
        action: 'allowed',
        iface: 'em0',
        flowId: '1234',
      },
    });
  });

  it('keeps alert.source / alert.target as attacker / target, ignores a malformed one', () => {
    const r = parse(
      eve((o) => {
        o.alert.source = { ip: '2001:0db8:0000:0000:0000:0000:0000:0001', port: 51000 };
        o.alert.target = { ip: '192.0.2.10', port: 22 };
      }),
    );
    expect(r.kind === 'alert' && [r.alert.attacker, r.alert.target]).toEqual([
      { ip: '2001:db8::1', port: 51000 },
      { ip: '192.0.2.10', port: 22 },
    ]);
    const m = parse(eve((o) => (o.alert.source = { ip: 'nonsense' })));
    expect(m.kind === 'alert' && m.alert.attacker).toBeUndefined();
  });

  it('keeps every digit of a flow_id beyond 2^53', () => {
    const r = parse(JSON.stringify(EVE).replace('"flow_id":1234', '"flow_id":18446744073709551615'));
    expect(r.kind === 'alert' && r.alert.flowId).toBe('18446744073709551615');
  });

  it('does not parse a non-alert, even a huge one', () => {
    expect(parse(eve((o) => (o.event_type = 'flow')))).toEqual({ kind: 'skip', why: 'not_alert' });
    expect(parse('{"event_type":"alert_x"}')).toEqual({ kind: 'skip', why: 'not_alert' });
  });

  it.each([
    ['missing src_ip', (o: any) => delete o.src_ip, 'missing_field'],
    ['missing alert', (o: any) => delete o.alert, 'missing_field'],
    ['alert not an object', (o: any) => (o.alert = 'x'), 'wrong_type'],
    ['sid a string', (o: any) => (o.alert.signature_id = '3400002'), 'wrong_type'],
    ['negative gid', (o: any) => (o.alert.gid = -1), 'wrong_type'],
    ['src_ip a number', (o: any) => (o.src_ip = 3232235777), 'wrong_type'],
    ['impossible IPv4', (o: any) => (o.src_ip = '256.1.1.1'), 'bad_address'],
    ['impossible IPv6', (o: any) => (o.dest_ip = '2001:db8::1::2'), 'bad_address'],
    ['IPv4 with leading zero', (o: any) => (o.src_ip = '010.0.0.1'), 'bad_address'],
    ['port 70000', (o: any) => (o.dest_port = 70000), 'bad_port'],
    ['port a string', (o: any) => (o.dest_port = '22'), 'wrong_type'],
    ['no timestamp', (o: any) => delete o.timestamp, 'missing_field'],
    ['timestamp garbage', (o: any) => (o.timestamp = 'yesterday'), 'bad_time'],
    ['31 February', (o: any) => (o.timestamp = '2024-02-31T10:00:00.000000+0000'), 'bad_time'],
  ])('%s -> %s', (_what, patch, reason) => {
    const r = parse(eve(patch));
    expect(r.kind === 'bad' && r.reason).toBe(reason);
  });

  it('parses the time forms Suricata prints', () => {
    expect(parseEveTime('2017-01-30T16:12:27.008466+0100')).toBe(Date.UTC(2017, 0, 30, 15, 12, 27, 8));
    expect(parseEveTime('2017-01-30T16:12:27.008466-04:00')).toBe(Date.UTC(2017, 0, 30, 20, 12, 27, 8));
    expect(parseEveTime('2017-01-30T16:12:27Z')).toBe(Date.UTC(2017, 0, 30, 16, 12, 27));
    expect(parseEveTime('2017-13-30T16:12:27Z')).toBeNull();
  });
});

describe('Snort 3 alert_json', () => {
  const line = (o: Record<string, unknown>) =>
    JSON.stringify({
      timestamp: '11/21-10:00:00.250000',
      pkt_num: 1,
      proto: 'TCP',
      pkt_gen: 'raw',
      pkt_len: 60,
      dir: 'C2S',
      rule: '1:1000001:2',
      action: 'allow',
      ...o,
    });

  it('splits IPv6 addr:port on the last colon', () => {
    const r = parse(line({ src_ap: 'fe80::215:5dff:fea8:993b:443', dst_ap: '2001:db8::2:80' }));
    expect(r.kind === 'alert' && [r.alert.src, r.alert.dest]).toEqual([
      { ip: 'fe80::215:5dff:fea8:993b', port: 443 },
      { ip: '2001:db8::2', port: 80 },
    ]);
  });

  it('skips an alert without addresses (ARP: ":0")', () => {
    expect(parse(line({ proto: 'ARP', src_ap: ':0', dst_ap: ':0' }))).toEqual({ kind: 'skip', why: 'no_address' });
  });

  it('uses the optional fields when present, and target', () => {
    const r = parse(
      line({
        src_addr: '198.51.100.7',
        src_port: 4444,
        dst_addr: '192.0.2.1',
        dst_port: 22,
        msg: 'SCAN',
        class: 'Attempted Recon',
        priority: 2,
        target: 'dst',
      }),
      'snort',
    );
    expect(r.kind === 'alert' && r.alert).toMatchObject({
      signature: 'SCAN',
      category: 'Attempted Recon',
      severity: 2,
      attacker: { ip: '198.51.100.7', port: 4444 },
      target: { ip: '192.0.2.1', port: 22 },
    });
  });

  it("reads target as Snort 3 prints it: the address of the rule's target side", () => {
    const at = (target: string, src = '198.51.100.7:4444', dst = '2001:db8::1:22') => {
      const r = parse(line({ src_ap: src, dst_ap: dst, target }), 'snort');
      return r.kind === 'alert' ? [r.alert.attacker?.ip, r.alert.target?.ip] : r;
    };
    expect(at('2001:db8:0::1')).toEqual(['198.51.100.7', '2001:db8::1']);
    expect(at('198.51.100.7')).toEqual(['2001:db8::1', '198.51.100.7']);
    // An address of neither side, or both sides the same address: no hint, the alert is kept.
    expect(at('192.0.2.99')).toEqual([undefined, undefined]);
    expect(at('192.0.2.1', '192.0.2.1:1', '192.0.2.1:2')).toEqual([undefined, undefined]);
    expect(at('not an address')).toEqual([undefined, undefined]);
  });

  it.each([
    ['bad rule', { rule: '1:x:2', src_ap: '1.2.3.4:1', dst_ap: '1.2.3.5:2' }, 'wrong_type'],
    ['no src', { dst_ap: '1.2.3.5:2' }, 'missing_field'],
    ['impossible address', { src_ap: '1.2.3.400:1', dst_ap: '1.2.3.5:2' }, 'bad_address'],
    ['port 99999', { src_ap: '1.2.3.4:99999', dst_ap: '1.2.3.5:2' }, 'bad_port'],
    ['no port', { src_ap: '1.2.3.4', dst_ap: '1.2.3.5:2' }, 'bad_address'],
    ['bad time', { timestamp: '13/01-00:00:00.000000', src_ap: '1.2.3.4:1', dst_ap: '1.2.3.5:2' }, 'bad_time'],
  ])('%s -> %s', (_what, patch, reason) => {
    const r = parse(line(patch));
    expect(r.kind === 'bad' && r.reason).toBe(reason);
  });

  it('infers the year across New Year, both ways', () => {
    const jan1 = Date.UTC(2027, 0, 1, 0, 5);
    expect(new Date(parseSnortTime('12/31-23:59:59.000000', jan1, 'utc')!).toISOString()).toBe(
      '2026-12-31T23:59:59.000Z',
    );
    const dec31 = Date.UTC(2026, 11, 31, 23, 59);
    expect(new Date(parseSnortTime('01/01-00:00:30.000000', dec31, 'utc')!).toISOString()).toBe(
      '2027-01-01T00:00:30.000Z',
    );
    expect(new Date(parseSnortTime('06/15-12:00:00.000000', dec31, 'utc')!).toISOString()).toBe(
      '2026-06-15T12:00:00.000Z',
    );
    // 29 February exists only in leap years: read in March 2029, it is 2028's.
    expect(new Date(parseSnortTime('02/29-08:00:00.000000', Date.UTC(2029, 2, 1), 'utc')!).toISOString()).toBe(
      '2028-02-29T08:00:00.000Z',
    );
    expect(parseSnortTime('24/11/21-10:00:00.000000', jan1, 'utc')).toBe(Date.UTC(2024, 10, 21, 10));
  });

  it('prefers the optional epoch seconds field', () => {
    const r = parse(line({ seconds: 1700000000, src_ap: '1.2.3.4:1', dst_ap: '1.2.3.5:2' }));
    expect(r.kind === 'alert' && r.alert.timeMs).toBe(1700000000_250);
  });

  it('in eve format, a line without event_type is not an alert', () => {
    expect(parse(line({ src_ap: '1.2.3.4:1', dst_ap: '1.2.3.5:2' }), 'eve')).toEqual({
      kind: 'skip',
      why: 'not_alert',
    });
  });
});

describe('bytes that are not JSON', () => {
  it.each([
    ['NUL byte', Buffer.from('{"event_type":"alert"\u0000}'), 'nul_byte'],
    [
      'invalid UTF-8 in a valid line',
      Buffer.concat([Buffer.from('{"event_type":"flow","x":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
      'not_utf8',
    ],
    ['binary garbage', Buffer.from([0xff, 0xfe, 0x01, 0x02]), 'not_utf8'],
    ['truncated JSON', Buffer.from('{"timestamp":"2017-03-06T06:54:10'), 'not_json'],
    ['an array', Buffer.from('[1,2,3]'), 'not_object'],
  ])('%s -> %s', (_what, b, reason) => {
    const r = parse(b);
    expect(r.kind === 'bad' && r.reason).toBe(reason);
  });

  it('a blank or CRLF line', () => {
    expect(parse('  \r')).toEqual({ kind: 'skip', why: 'blank' });
    expect(parse(JSON.stringify(EVE) + '\r').kind).toBe('alert');
  });
});

describe('search cursors', () => {
  it('start over when a reused buffer gets new content (noteChunk), and across lines of one chunk', () => {
    const p = new LineParser({ format: 'eve' });
    const alert = JSON.stringify(EVE);
    const flow = eve((o) => (o.event_type = 'flow'));
    const buf = Buffer.alloc(4096, 0x20);
    const kinds = (text: string): string[] => {
      buf.fill(0x20);
      buf.write(text);
      p.noteChunk(buf.subarray(0, Buffer.byteLength(text)));
      const out: string[] = [];
      let s = 0;
      for (const line of text.split('\n')) {
        const e = s + Buffer.byteLength(line);
        out.push(p.parse(buf, s, e, NOW).kind);
        s = e + 1;
      }
      return out;
    };
    expect(kinds(`${flow}\n${flow}\n${alert}`)).toEqual(['skip', 'skip', 'alert']);
    // Same buffer object, new content where the cached key position would mislead.
    expect(kinds(`${alert}\n${flow}`)).toEqual(['alert', 'skip']);
    expect(kinds(`${flow}\n${alert}\n${alert}`)).toEqual(['skip', 'alert', 'alert']);
  });
});
