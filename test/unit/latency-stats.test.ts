/**
 * The pure helpers of bench/latency.ts: the targets it bans and the lines it writes, `nft
 * monitor` lines back to element keys, percentiles, the table and the goal checks. No timing.
 */
import { describe, expect, it } from 'vitest';
import {
  benchTarget,
  etScanLine,
  floorLine,
  formatTable,
  goalChecks,
  latencies,
  MAX_ADDRESSES,
  parseMonitorLine,
  type PathName,
  percentile,
  type Summary,
  summarize,
} from '../../bench/latency-stats.ts';
import { canonicalIp, parseIp, parsePrefix, prefixContains, prefixContaining } from '../../src/net/ip.ts';
import { LineParser } from '../../src/ingest/line-parser.ts';
import { etScanFrom } from '../engine/daemon-harness.ts';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  it.each([
    [50, 50],
    [99, 99],
    [100, 100],
    [1, 1],
    [0, 1],
  ])('p%d of 1..100 is %d', (p, want) => expect(percentile(hundred, p)).toBe(want));

  it('on 1,000 samples p99 is the 990th, so the 10 largest are above it', () => {
    const xs = Array.from({ length: 1000 }, (_, i) => i);
    expect(percentile(xs, 99)).toBe(989);
    expect(percentile(xs, 50)).toBe(499);
  });

  it('one sample is every percentile; none is NaN', () => {
    expect(percentile([7], 1)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('summarize and latencies', () => {
  it('sorts, counts what was never seen as lost, and takes the max', () => {
    expect(summarize([5, 1, 3, 2, 4], 7)).toEqual({ n: 5, lost: 2, p50: 3, p99: 5, max: 5 });
  });

  it('pairs each written key with its commit, in the order written, and leaves the unseen out', () => {
    const seen = new Map([
      ['198.18.0.1', 110],
      ['198.18.0.3', 103.5],
      ['2001:db8:5ca0:9::', 120],
    ]);
    const written = [
      ['198.18.0.1', 100],
      ['198.18.0.2', 101],
      ['198.18.0.3', 102],
      ['2001:db8:5ca0:9::', 119],
    ] as const;
    expect(latencies(written, seen)).toEqual([10, 1.5, 1]);
  });
});

describe('parseMonitorLine', () => {
  it('an IPv4 element, as nft monitor prints it', () => {
    expect(parseMonitorLine('add element inet nftsentry ban4 { 198.18.0.1 timeout 1h expires 59m59s990ms }')).toEqual({
      family: 'inet',
      table: 'nftsentry',
      set: 'ban4',
      keys: ['198.18.0.1'],
    });
  });

  it('an IPv6 /64 network key, several elements on one line, a concatenation, a trailing newline', () => {
    expect(
      parseMonitorLine('add element inet nftsentry ban6net64 { 2001:db8:5ca0:9:: timeout 1h expires 1h }\n')?.keys,
    ).toEqual(['2001:db8:5ca0:9::']);
    expect(
      parseMonitorLine(
        'add element inet nftsentry ban4 { 198.18.0.2 timeout 1h expires 1h, 198.18.0.3 timeout 1h expires 1h }',
      )?.keys,
    ).toEqual(['198.18.0.2', '198.18.0.3']);
    expect(
      parseMonitorLine('add element inet nftsentry bannet4 { 10.0.0.0/24 . 0-255 timeout 1h expires 1h }')?.keys,
    ).toEqual(['10.0.0.0/24']);
  });

  it.each([
    ['a deletion', 'delete element inet nftsentry ban4 { 198.18.0.1 }'],
    ['a generation line', '# new generation 12 by process 345 (nft)'],
    ['the dump nft 1.0.6 prints for concatenated intervals', '000000000000000004a0000000000000'],
    ['a line cut in the middle', 'add element inet nftsentry trap_ports { 6 . 135-'],
    ['an empty element list', 'add element inet nftsentry ban4 {  }'],
    ['nothing', ''],
  ])('%s is not an element', (_, line) => expect(parseMonitorLine(line)).toBeNull());
});

describe('benchTarget', () => {
  const targets = Array.from({ length: 2000 }, (_, i) => benchTarget(i));

  it('every key is distinct, and each is in the form nft prints (canonical)', () => {
    expect(new Set(targets.map((t) => t.key)).size).toBe(targets.length);
    for (const t of targets) {
      const key = t.set === 'ban4' ? t.key : t.key.replace(/::$/, '::0');
      expect(canonicalIp(key)).toBe(t.set === 'ban4' ? t.key : parseIp(key)!.text);
      expect(canonicalIp(t.source)).toBe(t.source);
    }
  });

  it('IPv4 sources are their own key in ban4, inside 198.18.0.0/15', () => {
    const net = parsePrefix('198.18.0.0/15')!;
    const v4 = targets.filter((t) => t.set === 'ban4');
    expect(v4.length).toBe(1800);
    for (const t of v4) {
      expect(t.key).toBe(t.source);
      expect(prefixContains(net, parseIp(t.source)!)).toBe(true);
    }
  });

  it('one in ten is IPv6 in 2001:db8::/32, banned as its own /64 (the network address in ban6net64)', () => {
    const net = parsePrefix('2001:db8::/32')!;
    const v6 = targets.filter((t) => t.set === 'ban6net64');
    expect(v6.length).toBe(200);
    for (const t of v6) {
      const src = parseIp(t.source)!;
      expect(prefixContains(net, src)).toBe(true);
      expect(t.key).toBe(prefixContaining(src, 64).network.text);
    }
  });

  it('the last index is in range, the next is refused', () => {
    expect(benchTarget(MAX_ADDRESSES - 2).key).toBe('198.19.255.254');
    expect(() => benchTarget(MAX_ADDRESSES)).toThrow(RangeError);
    expect(() => benchTarget(-1)).toThrow(RangeError);
  });
});

describe('the lines written', () => {
  it('floor: one line (one transaction) with the daemon sets and keys, an hour each, an add element per set', () => {
    expect(floorLine([benchTarget(0)])).toBe('add element inet nftsentry ban4 { 198.18.0.0 timeout 1h }\n');
    expect(floorLine([benchTarget(9)])).toBe('add element inet nftsentry ban6net64 { 2001:db8:5ca0:9:: timeout 1h }\n');
    expect(floorLine([0, 9, 1].map(benchTarget))).toBe(
      'add element inet nftsentry ban4 { 198.18.0.0 timeout 1h, 198.18.0.1 timeout 1h }; ' +
        'add element inet nftsentry ban6net64 { 2001:db8:5ca0:9:: timeout 1h }\n',
    );
  });

  it('an ET SCAN line from another source parses as an alert from that source', () => {
    const template = etScanFrom('85.255.233.2');
    for (const ip of ['198.18.3.4', '2001:db8:5ca0:13::1']) {
      const line = Buffer.from(etScanLine(template, ip));
      expect(line.at(-1)).toBe(0x0a);
      const r = new LineParser({ format: 'eve' }).parse(line, 0, line.length - 1, 0);
      expect(r.kind).toBe('alert');
      if (r.kind === 'alert') expect([r.alert.src.ip, r.alert.signature]).toEqual([ip, 'ET SCAN Potential SSH Scan']);
    }
    expect(() => etScanLine('{"event_type":"alert"}', '198.18.0.1')).toThrow('src_ip');
  });
});

describe('table and goal checks', () => {
  const s = (p50: number, p99: number, lost = 0): Summary => ({ n: 100 - lost, lost, p50, p99, max: p99 + 1 });
  const rows = (socketFirstP99: number) =>
    new Map<PathName, Summary>([
      ['floor', s(0.5, 2)],
      ['socket first', s(1, socketFirstP99)],
      ['socket steady', s(1, 2.5)],
      ['file first', s(100, 250)],
      ['file steady', s(100, 240, 3)],
    ]);

  it('one row per path, the first N named, the ratio to the floor p99', () => {
    const t = formatTable(rows(4), 500).split('\n');
    expect(t[0]).toMatch(/^path\s+n\s+lost\s+p50 ms\s+p99 ms\s+max ms\s+p99\/floor p99$/);
    expect(t.slice(2).map((l) => l.split(/\s{2,}/)[0])).toEqual([
      'floor',
      'socket first 500',
      'socket steady',
      'file first 500',
      'file steady',
    ]);
    expect(t[3]!.trim().split(/\s+/).at(-1)).toBe('2.00');
    expect(t[6]!.trim().split(/\s+/).at(-1)).toBe('120.00');
  });

  it('PASS and FAIL by the bounds of issue 13, lost alerts included', () => {
    const socket = s(1, 3);
    expect(goalChecks(rows(2.9), { socket, file: s(1, 4) }).map((g) => g.pass)).toEqual([false, true, true, true]);
    const checks = goalChecks(rows(3.5), { socket, file: s(100, 250) });
    expect(checks.map((g) => g.pass)).toEqual([false, false, true, false]);
    expect(checks[0]!.text).toBe('FAIL  every alert written was seen committed (3 lost)');
    expect(checks[1]!.text).toMatch(
      /^FAIL {2}file p99 <= socket p99 \+ 1 ms: 250\.0 ms <= socket p99 \+ 1 = 4\.00 ms$/,
    );
  });
});
