/**
 * The Suricata and Snort 3 pack (suricata/, snort/): the YAML snippets parse and their matching
 * nftsentry source config validates; each enable.conf sid is an nmap rule of the ET Open sample;
 * threshold.config parses against Suricata's threshold.config grammar and tracks every enabled
 * sid by_src; snort.lua asks only for fields Snort 3 has and for every one nftsentry needs; the
 * example alert_json lines parse as Snort alerts with the attacker found from `target`.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { sourceSchema } from '../../src/ingest/source-schema.ts';
import { LineParser } from '../../src/ingest/line-parser.ts';
import { REPO, SAMPLES } from '../helpers.ts';

const read = (path: string) => readFileSync(join(REPO, path), 'utf8');
const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !/^\s*(#|--)/.test(l));
const ET_SCAN = readFileSync(join(SAMPLES, 'jarelllama__Emerging-Threats/rules/emerging-scan.rules'), 'utf8');
/** The sids the issue lists: the nmap rules ET Open ships commented out. */
const ISSUE_SIDS = [2009582, 2000537, 2009583, 2009584, 2000536, 2000538, 2000540, 2000543, 2000544, 2000545, 2000546];

/** The nftsentry source config a snippet documents in its "Matching nftsentry config" comment. */
function matchingSources(text: string, comment: '#' | '--'): unknown[] {
  const all = text.split('\n');
  const start = all.findIndex((l) => l.includes('Matching nftsentry config'));
  expect(start).toBeGreaterThanOrEqual(0);
  const block: string[] = [];
  for (const l of all.slice(start + 1)) {
    if (!l.startsWith(`${comment}   `)) break;
    block.push(l.slice(comment.length + 1).replace(/\s+#.*$/, ''));
  }
  return parseYaml(block.join('\n')) as unknown[];
}

// Suricata's threshold.config grammar (global-thresholds), one entry per line.
const G = String.raw`gen_id (\d+), sig_id (\d+)`;
const TRACK = 'track (by_src|by_dst|by_rule|by_both)';
const GRAMMAR: [string, RegExp][] = [
  [
    'threshold',
    new RegExp(
      String.raw`^(?:threshold|event_filter) ${G}, type (threshold|limit|both), ${TRACK}, count (\d+), seconds (\d+)$`,
    ),
  ],
  [
    'rate_filter',
    new RegExp(
      String.raw`^rate_filter ${G}, ${TRACK}, count (\d+), seconds (\d+), new_action (alert|drop|pass|reject), timeout (\d+)$`,
    ),
  ],
  ['suppress', new RegExp(String.raw`^suppress ${G}(?:, track (by_src|by_dst|by_either), ip (\S+))?$`)],
];
function parseThreshold(line: string): { kind: string; fields: string[] } | null {
  for (const [kind, re] of GRAMMAR) {
    const m = re.exec(line.trim());
    if (m) return { kind, fields: m.slice(1) };
  }
  return null;
}

describe('the Suricata pack', () => {
  it('eve-log snippets parse, and the nftsentry source each documents validates and uses its path', () => {
    const files = readdirSync(join(REPO, 'suricata')).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      const text = read(`suricata/${f}`);
      const doc = parseYaml(text) as { outputs: { 'eve-log': { filetype: string; filename: string } }[] };
      const eve = doc.outputs[0]!['eve-log'];
      expect(['regular', 'unix_stream', 'unix_dgram'], f).toContain(eve.filetype);
      const sources = matchingSources(text, '#');
      expect(sources, f).toHaveLength(1);
      const source = sourceSchema.parse(sources[0]);
      if (!('path' in source)) throw new Error(`${f}: the matching source has no path`);
      // A relative filename is under Suricata's default-log-dir (/var/log/suricata).
      expect(source.path, f).toBe(eve.filename.startsWith('/') ? eve.filename : `/var/log/suricata/${eve.filename}`);
      expect(source.type, f).toBe(eve.filetype === 'regular' ? 'file' : eve.filetype);
    }
  });

  it('enable.conf turns on exactly the nmap rules the issue lists, each an ET Open scan rule', () => {
    const sids = lines(read('suricata/enable.conf')).map((l) => {
      expect(l).toMatch(/^\d+$/);
      return Number(l);
    });
    expect([...sids].sort()).toEqual([...ISSUE_SIDS].sort());
    for (const sid of sids) {
      const rule = ET_SCAN.split('\n').find((l) => l.includes(`sid:${sid};`));
      expect(rule, `sid ${sid} in emerging-scan.rules`).toBeDefined();
      expect(rule).toMatch(/^#alert .*msg:"ET SCAN NMAP /);
      expect(rule).toContain('threshold: type both, track by_dst, count 1, seconds 60;');
    }
  });

  it('the grammar the test checks with accepts Suricata entries and refuses malformed ones', () => {
    expect(parseThreshold('threshold gen_id 1, sig_id 2002087, type both, track by_src, count 3, seconds 5')).toEqual({
      kind: 'threshold',
      fields: ['1', '2002087', 'both', 'by_src', '3', '5'],
    });
    expect(parseThreshold('suppress gen_id 1, sig_id 2003614, track by_either, ip 217.110.97.128/25')?.kind).toBe(
      'suppress',
    );
    expect(
      parseThreshold(
        'rate_filter gen_id 1, sig_id 1000, track by_rule, count 100, seconds 60, new_action alert, timeout 30',
      )?.kind,
    ).toBe('rate_filter');
    for (const bad of [
      'threshold gen_id 1, sig_id 2002087, type both, track by_src, count 3',
      'threshold gen_id 1, sig_id 2002087, type often, track by_src, count 3, seconds 5',
      'threshold gen_id 1, sig_id 2002087, type both, track by_host, count 3, seconds 5',
      'threshold gen_id 1 sig_id 2002087, type both, track by_src, count 3, seconds 5',
      'threshold: type both, track by_src, count 3, seconds 5',
    ]) {
      expect(parseThreshold(bad), bad).toBeNull();
    }
  });

  it('threshold.config parses and tracks every enabled sid by_src, a few alerts a minute', () => {
    const entries = lines(read('suricata/threshold.config')).map((l) => {
      const e = parseThreshold(l);
      expect(e, l).not.toBeNull();
      return e!;
    });
    const bySid = new Map(entries.map((e) => [Number(e.fields[1]), e]));
    expect(bySid.size).toBe(entries.length);
    expect([...bySid.keys()].sort()).toEqual([...ISSUE_SIDS].sort());
    for (const e of entries) {
      const [gid, , type, track, count, seconds] = e.fields;
      expect({ kind: e.kind, gid, type, track }).toEqual({
        kind: 'threshold',
        gid: '1',
        type: 'limit',
        track: 'by_src',
      });
      expect(Number(count)).toBeGreaterThanOrEqual(1);
      expect(Number(count)).toBeLessThanOrEqual(10);
      expect(Number(seconds)).toBeGreaterThanOrEqual(10);
    }
  });

  it("local rules use each engine's spelling of target:", () => {
    expect(lines(read('suricata/local.rules')).every((l) => /target:(dest_ip|src_ip);/.test(l))).toBe(true);
    expect(lines(read('snort/local.rules')).every((l) => /target:(dst_ip|src_ip);/.test(l))).toBe(true);
  });
});

/** alert_json's fields in Snort 3 (src/loggers/alert_json.cc, json_range). */
const SNORT_FIELDS = `action class b64_data client_bytes client_pkts dir dst_addr dst_ap dst_port eth_dst eth_len
  eth_src eth_type flowstart_time geneve_vni gid icmp_code icmp_id icmp_seq icmp_type iface ip_id ip_len msg mpls
  pkt_gen pkt_len pkt_num priority proto rev rule seconds server_bytes server_pkts service sgt sid src_addr src_ap
  src_port target tcp_ack tcp_flags tcp_len tcp_seq tcp_win timestamp tos ttl udp_len vlan`.split(/\s+/);

describe('the Snort 3 pack', () => {
  const lua = read('snort/snort.lua');

  it('snort.lua asks alert_json for fields Snort has, including every one nftsentry needs', () => {
    const fields = /fields\s*=\s*'([^']*)'/.exec(lua)?.[1]?.split(/\s+/) ?? [];
    expect(fields.filter((f) => !SNORT_FIELDS.includes(f))).toEqual([]);
    for (const needed of ['timestamp', 'proto', 'src_ap', 'dst_ap', 'rule', 'seconds', 'target']) {
      expect(fields).toContain(needed);
    }
    expect(lua).toMatch(/^\s*file = true,$/m);
    const sources = matchingSources(lua, '--');
    expect(sourceSchema.parse(sources[0])).toMatchObject({ type: 'file', format: 'snort' });
  });

  it('the example alert_json lines parse as Snort alerts, with the attacker found from target', () => {
    const parser = new LineParser({ format: 'snort', snortZone: 'utc' });
    const got = lines(read('snort/alert_json.example')).map((l) => {
      const b = Buffer.from(l);
      const r = parser.parse(b, 0, b.length, Date.UTC(2026, 11, 3));
      return r.kind === 'alert' ? [r.alert.sid, r.alert.attacker?.ip, r.alert.target?.ip, r.alert.timeMs] : r;
    });
    expect(got).toEqual([
      [1000001, '198.51.100.7', '192.0.2.10', Date.UTC(2026, 11, 3, 0, 15, 42, 123)],
      [1000002, '2001:db8:ffff::7', '2001:db8::22', Date.UTC(2026, 11, 3, 0, 15, 43, 0)],
    ]);
  });
});
