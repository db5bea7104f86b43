/**
 * Every file under ../shared/samples goes through the chosen parsing path without a crash; for
 * every EVE / Snort alert_json file the counts of alerts, non-alerts and bad lines match two
 * independent counts: a deliberately simple JSON.parse + event_type check written here, and the
 * per-file numbers of SOURCES.md (for the EVE files it lists).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LineParser } from '../../src/ingest/line-parser.ts';
import { LineSplitter } from '../../src/ingest/line-splitter.ts';
import type { Alert } from '../../src/ingest/alert.ts';
import { allSampleFiles, isIdsNdjson, samplesDir } from './helpers.ts';

interface Counts {
  alerts: number;
  nonAlerts: number;
  bad: number;
  noAddress: number;
}

function countWithParser(path: string, strict = false): Counts & { list: Alert[] } {
  const parser = new LineParser({ format: 'auto', snortZone: 'utc', strict });
  const c = { alerts: 0, nonAlerts: 0, bad: 0, noAddress: 0, list: [] as Alert[] };
  const splitter = new LineSplitter(
    {
      line(buf, start, end) {
        const r = parser.parse(buf, start, end, Date.UTC(2026, 5, 1));
        if (r.kind === 'alert') {
          c.alerts++;
          c.list.push(r.alert);
        } else if (r.kind === 'bad') c.bad++;
        else if (r.why === 'no_address') c.noAddress++;
        else if (r.why === 'not_alert') c.nonAlerts++;
      },
      tooLong() {
        c.bad++;
      },
    },
    1 << 20,
  );
  const data = readFileSync(path);
  // Odd chunk sizes, so that lines straddle chunks.
  for (let i = 0; i < data.length; i += 4093) {
    const chunk = data.subarray(i, i + 4093);
    parser.noteChunk(chunk);
    splitter.push(chunk);
  }
  splitter.flush();
  return c;
}

/** The independent count: as simple as possible, no code shared with src/. */
function countSimply(path: string): Counts {
  const c = { alerts: 0, nonAlerts: 0, bad: 0, noAddress: 0 };
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      c.bad++;
      continue;
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) {
      c.bad++;
      continue;
    }
    const r = o as Record<string, unknown>;
    if ('event_type' in r) {
      if (r.event_type === 'alert') c.alerts++;
      else c.nonAlerts++;
    } else if ('rule' in r) {
      // Snort prints ":0" as the address of a non-IP packet (ARP).
      if (String(r.src_ap ?? r.src_addr ?? '').startsWith(':')) c.noAddress++;
      else c.alerts++;
    } else c.nonAlerts++;
  }
  return c;
}

/** SOURCES.md: "- `path` ... EVE stats: lines=N bad=B event_types={...}" under "## owner/repo". */
function sourcesMdStats(): Map<string, { lines: number; bad: number; alerts: number }> {
  const out = new Map<string, { lines: number; bad: number; alerts: number }>();
  let folder = '';
  let file = '';
  for (const line of readFileSync(`${samplesDir}/SOURCES.md`, 'utf8').split('\n')) {
    const h = /^## (\S+)\/(\S+)$/.exec(line);
    if (h) folder = `${h[1]}__${h[2]}`;
    const f = /^- `([^`]+)`/.exec(line);
    if (f) file = `${folder}/${f[1]}`;
    const s = /EVE stats: lines=(\d+) bad=(\d+) event_types=(\{[^}]*\})/.exec(line);
    if (s) {
      const types = JSON.parse(s[3]!) as Record<string, number>;
      out.set(file, { lines: Number(s[1]), bad: Number(s[2]), alerts: types.alert ?? 0 });
    }
  }
  return out;
}

const files = allSampleFiles();
const idsFiles = files.filter(isIdsNdjson);

describe('every sample file', () => {
  it('finds the EVE and Snort files (guards against an empty or moved samples dir)', () => {
    expect(idsFiles.length).toBeGreaterThanOrEqual(30);
    expect(idsFiles.filter((f) => f.endsWith('alert_json.txt'))).toHaveLength(3);
  });

  it.each(files.map((f) => [relative(samplesDir, f), f]))(
    '%s goes through the parser without a crash',
    (_name, path) => {
      const c = countWithParser(path);
      expect(c.alerts + c.nonAlerts + c.bad + c.noAddress).toBeGreaterThan(0);
    },
  );

  it.each(idsFiles.map((f) => [relative(samplesDir, f), f]))(
    '%s: strict_json counts match a simple count exactly',
    (_name, path) => {
      const { list, ...mine } = countWithParser(path, true);
      expect(mine).toEqual(countSimply(path));
      for (const a of list) {
        expect(a.src.ip).not.toMatch(/:0000|[A-F]/);
        expect(Number.isFinite(a.timeMs)).toBe(true);
      }
    },
  );

  it.each(idsFiles.map((f) => [relative(samplesDir, f), f]))(
    '%s: the fast path finds the same alerts; only bad non-alerts may pass as non-alerts',
    (_name, path) => {
      const fast = countWithParser(path, false);
      const strict = countWithParser(path, true);
      const simple = countSimply(path);
      expect(fast.list).toEqual(strict.list);
      expect(fast.alerts).toBe(simple.alerts);
      expect(fast.noAddress).toBe(simple.noAddress);
      expect(fast.nonAlerts + fast.bad).toBe(simple.nonAlerts + simple.bad);
      expect(fast.bad).toBeLessThanOrEqual(simple.bad);
    },
  );

  it('the fast path misses exactly the two non-alert lines of eve_broken.json that are broken inside', () => {
    const path = `${samplesDir}/rhaist__surevego/testdata/eve_broken.json`;
    expect(countSimply(path).bad - countWithParser(path, false).bad).toBe(2);
    expect(countSimply(path).bad - countWithParser(path, true).bad).toBe(0);
  });

  it('strict_json matches the per-file numbers of SOURCES.md for every EVE file it lists', () => {
    const listed = sourcesMdStats();
    expect(listed.size).toBeGreaterThanOrEqual(28);
    let checked = 0;
    for (const [file, s] of listed) {
      const c = countWithParser(`${samplesDir}/${file}`, true);
      expect({ file, alerts: c.alerts, bad: c.bad, nonAlerts: c.nonAlerts }).toEqual({
        file,
        alerts: s.alerts,
        bad: s.bad,
        nonAlerts: s.lines - s.bad - s.alerts,
      });
      checked++;
    }
    expect(checked).toBe(listed.size);
  });
});

describe('fields of real alerts', () => {
  it('canonicalises the fully expanded IPv6 of Suricata 7 (DHKHER)', () => {
    const { list } = countWithParser(`${samplesDir}/DHKHER__CYT160-LAB4/eve.json`);
    expect(list).toHaveLength(65);
    const multicast = list.filter((a) => a.dest.ip === 'ff02::16');
    expect(multicast.length).toBeGreaterThan(0);
    expect(list[0]!.proto).toBe('IPV6-ICMP');
    expect(list[0]!.src.port).toBeNull();
  });

  it('splits Snort IPv6 src_ap on the last colon (AegisNet)', () => {
    const { list, noAddress } = countWithParser(`${samplesDir}/TheOrionGD__AegisNet-IDS/alert_json.txt`);
    expect(noAddress).toBe(30);
    const v6 = list.filter((a) => a.src.ip.includes(':'));
    expect(v6.length).toBe(13);
    expect(v6.map((a) => a.src.ip)).toContain('fe80::215:5dff:fea8:993b');
    expect(list[0]).toMatchObject({
      ids: 'snort',
      gid: 1,
      sid: 1000001,
      rev: 1,
      signature: '',
      proto: 'ICMP',
      action: 'allow',
    });
    expect(list[0]!.src).toEqual({ ip: '172.22.76.26', port: null });
    expect(new Date(list[0]!.timeMs).toISOString()).toBe('2026-04-11T14:57:42.868Z');
  });

  it('reads the optional Snort fields (msg, class, priority, src_addr/src_port)', () => {
    const { list } = countWithParser(`${samplesDir}/patel-aum__snort-grafana-dashboard/alert_json.txt`);
    expect(list[0]).toMatchObject({
      signature: 'PROTOCOL-ICMP PING Unix',
      category: 'Misc activity',
      severity: 3,
      gid: 1,
      sid: 366,
      rev: 11,
    });
    const withPorts = list.filter((a) => a.proto === 'UDP');
    expect(withPorts.every((a) => typeof a.src.port === 'number' && typeof a.dest.port === 'number')).toBe(true);
  });

  it('reads a Suricata 4 alert completely (surevego)', () => {
    const { list } = countWithParser(`${samplesDir}/rhaist__surevego/testdata/eve.json`);
    const line = readFileSync(`${samplesDir}/rhaist__surevego/testdata/eve.json`, 'utf8')
      .split('\n')
      .find((l) => l.includes('"event_type":"alert"'))!;
    const raw = JSON.parse(line);
    expect(list[0]).toMatchObject({
      ids: 'suricata',
      timeMs: Date.parse(raw.timestamp.replace(/([+-]\d\d)(\d\d)$/, '$1:$2')),
      src: { ip: raw.src_ip, port: raw.src_port },
      dest: { ip: raw.dest_ip, port: raw.dest_port },
      sid: raw.alert.signature_id,
      signature: raw.alert.signature,
      severity: raw.alert.severity,
      flowId: String(raw.flow_id),
    });
  });
});
