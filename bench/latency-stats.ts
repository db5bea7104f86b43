/**
 * The pure part of bench/latency.ts: the addresses it bans, the lines it writes, `nft monitor`
 * lines back to element addresses, percentiles, the table and the goal checks of issue 13.
 * Unit-tested in test/unit/latency-stats.test.ts.
 */

/** One of every `V6_EVERY` alerts comes from 2001:db8::/32, the rest from 198.18.0.0/15. */
const V6_EVERY = 10;
/** 198.18.0.0/15 holds 2^17 addresses; the bench never asks for more. */
export const MAX_ADDRESSES = 1 << 17;

/** What the daemon puts in the kernel for one alert's source: the set and the element's key, as nft prints it. */
export interface BenchTarget {
  /** The alert's src_ip. */
  source: string;
  set: 'ban4' | 'ban6net64';
  /** The element's key: the address, or for IPv6 its /64's network address (policy.ipv6_prefix 64). */
  key: string;
}

/**
 * The i-th source of the bench: an address of 198.18.0.0/15, or (one in ten) `::1` of a /64 of
 * its own in 2001:db8::/32, banned by the daemon's default policy as that /64 in ban6net64.
 * Texts are in the form nft prints (RFC 5952), so that the monitor's text is looked up as it is.
 */
export function benchTarget(i: number): BenchTarget {
  if (!Number.isInteger(i) || i < 0 || i >= MAX_ADDRESSES) throw new RangeError(`address index ${i} out of range`);
  if (i % V6_EVERY === V6_EVERY - 1) {
    const net = `2001:db8:${(0x5ca0 + (i >>> 16)).toString(16)}:${(i & 0xffff).toString(16)}`;
    return (i & 0xffff) === 0
      ? { source: `${net.slice(0, -2)}:1`, set: 'ban6net64', key: `${net.slice(0, -2)}:` }
      : { source: `${net}::1`, set: 'ban6net64', key: `${net}::` };
  }
  const n = (198 << 24) + (18 << 16) + i;
  const a = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  return { source: a, set: 'ban4', key: a };
}

/**
 * The line the floor writes into `nft -i` for some targets: one line, so one transaction, with
 * the elements the daemon would add for them (an `add element` per set).
 */
export function floorLine(targets: readonly BenchTarget[], table = 'nftsentry'): string {
  const bySet = new Map<string, string[]>();
  for (const t of targets) bySet.set(t.set, [...(bySet.get(t.set) ?? []), `${t.key} timeout 1h`]);
  const statements = [...bySet].map(([set, elements]) => `add element inet ${table} ${set} { ${elements.join(', ')} }`);
  return `${statements.join('; ')}\n`;
}

/** An EVE alert line (`template`) from another source address, with its newline. */
export function etScanLine(template: string, ip: string): string {
  if (!/"src_ip":"[^"]*"/.test(template)) throw new Error('the template has no src_ip');
  return `${template.trim().replace(/"src_ip":"[^"]*"/, `"src_ip":"${ip}"`)}\n`;
}

export interface MonitorElements {
  family: string;
  table: string;
  set: string;
  /** The first word of each element (its key; for a concatenation, the key's first part). */
  keys: string[];
}

const ADD_ELEMENT = /^add element (\S+) (\S+) (\S+) \{ (.*) \}$/;

/**
 * One line of `nft monitor new elements`, e.g.
 * `add element inet nftsentry ban4 { 198.18.0.1 timeout 1h expires 59m59s990ms }`; null for any
 * other line. One line may carry several elements, separated by ", ".
 */
export function parseMonitorLine(line: string): MonitorElements | null {
  const m = ADD_ELEMENT.exec(line.trim());
  if (!m) return null;
  const keys = m[4]!
    .split(', ')
    .map((e) => e.trim().split(' ')[0]!)
    .filter((k) => k.length > 0);
  return keys.length === 0 ? null : { family: m[1]!, table: m[2]!, set: m[3]!, keys };
}

/** Nearest-rank percentile of `sorted` (ascending); NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface Summary {
  n: number;
  /** Written but never seen committed before the deadline. */
  lost: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarize(latenciesMs: readonly number[], written: number): Summary {
  const s = [...latenciesMs].sort((a, b) => a - b);
  return {
    n: s.length,
    lost: written - s.length,
    p50: percentile(s, 50),
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1]! : Number.NaN,
  };
}

/**
 * Latency of each written address (commit seen - write done, ms), in the order written; an
 * address the monitor did not see is left out (and counts as lost in `summarize`).
 */
export function latencies(
  written: ReadonlyArray<readonly [string, number]>,
  seen: ReadonlyMap<string, number>,
): number[] {
  const out: number[] = [];
  for (const [address, at] of written) {
    const t = seen.get(address);
    if (t !== undefined) out.push(t - at);
  }
  return out;
}

export type PathName = 'floor' | 'socket first' | 'socket steady' | 'file first' | 'file steady';
export const PATHS: readonly PathName[] = ['floor', 'socket first', 'socket steady', 'file first', 'file steady'];

const ms = (x: number) => (Number.isNaN(x) ? '-' : x < 10 ? x.toFixed(2) : x.toFixed(1));

/** The one table: a row per path, with the ratio of its p99 to the floor's. */
export function formatTable(rows: ReadonlyMap<PathName, Summary>, first: number): string {
  const floorP99 = rows.get('floor')?.p99 ?? Number.NaN;
  const label = (p: PathName) => p.replace('first', `first ${first}`);
  const head = ['path', 'n', 'lost', 'p50 ms', 'p99 ms', 'max ms', 'p99/floor p99'];
  const body = PATHS.filter((p) => rows.has(p)).map((p) => {
    const s = rows.get(p)!;
    return [label(p), String(s.n), String(s.lost), ms(s.p50), ms(s.p99), ms(s.max), (s.p99 / floorP99).toFixed(2)];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((r) => r[c]!.length)));
  const line = (cells: string[]) =>
    cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export interface GoalCheck {
  pass: boolean;
  text: string;
}

/**
 * The goals of issue 13, in the same run: the file path's p99 at most the socket path's + 1 ms
 * (both over all their alerts, the first ones after each start included); the socket path's p99
 * at most the floor's + 1 ms, in the steady state and over the first alerts after a start.
 * `all` holds each path's samples whole (first + steady).
 */
export function goalChecks(rows: ReadonlyMap<PathName, Summary>, all: { socket: Summary; file: Summary }): GoalCheck[] {
  const floor = rows.get('floor')!.p99;
  const check = (name: string, value: number, bound: number, boundText: string): GoalCheck => {
    const pass = value <= bound;
    return { pass, text: `${pass ? 'PASS' : 'FAIL'}  ${name}: ${ms(value)} ms <= ${boundText} = ${ms(bound)} ms` };
  };
  const lost = [...rows.values()].reduce((n, s) => n + s.lost, 0);
  return [
    {
      pass: lost === 0,
      text: `${lost === 0 ? 'PASS' : 'FAIL'}  every alert written was seen committed (${lost} lost)`,
    },
    check('file p99 <= socket p99 + 1 ms', all.file.p99, all.socket.p99 + 1, 'socket p99 + 1'),
    check('socket steady p99 <= floor p99 + 1 ms', rows.get('socket steady')!.p99, floor + 1, 'floor p99 + 1'),
    check(
      'socket first-after-start p99 <= floor p99 + 1 ms',
      rows.get('socket first')!.p99,
      floor + 1,
      'floor p99 + 1',
    ),
  ];
}
