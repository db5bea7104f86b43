/**
 * Table tests of the decision core with an explicit clock: rules, thresholds and windows,
 * direction, protection, escalation, IPv6 prefixes, refresh and grace.
 */
import { describe, it, expect } from 'vitest';
import { decideAlert, decideKernelScan, decideManual, type Decision } from '../../src/engine/decide.ts';
import { parsePrefix } from '../../src/net/ip.ts';
import { parseConfigText } from '../../src/config/config.ts';
import { config, ctxFor, alert, T0 } from './helpers.ts';

type Ctx = ReturnType<typeof ctxFor>;

/** Applies a ban decision to the index the way the engine does. */
function record(ctx: Ctx, d: Decision, nowMs: number): void {
  if (d.kind !== 'ban') return;
  ctx.index.setActive(d.target.text, {
    set: d.target.set,
    expiresMs: d.durationSec === null ? null : nowMs + d.durationSec * 1000,
    durationSec: d.durationSec,
    offences: d.offences,
    lastOffenceMs: nowMs,
  });
}

const summary = (d: Decision) =>
  (d.kind === 'skip'
    ? `skip ${d.why}`
    : `${d.refresh ? 'refresh' : 'ban'} ${d.target.set} ${d.target.text} ${d.durationSec}s #${d.offences} ${d.reason}`) +
  (d.note ? ` [${d.note}]` : '');

describe('default policy: ET SCAN at any severity', () => {
  const cases: Array<[string, Parameters<typeof alert>[0], string]> = [
    ['ET SCAN, severity 2, inbound', {}, 'ban ban4 198.51.100.7 3600s #1 et-scan'],
    ['ET SCAN, severity 3', { severity: 3 }, 'ban ban4 198.51.100.7 3600s #1 et-scan'],
    ['ET SCAN, no severity', { severity: null }, 'ban ban4 198.51.100.7 3600s #1 et-scan'],
    ['not a scan signature', { signature: 'ET POLICY Dropbox Client Broadcasting' }, 'skip no_rule'],
    ['GPL ICMP_INFO', { signature: 'GPL ICMP_INFO PING *NIX' }, 'skip no_rule'],
    ['Snort alert with no message', { ids: 'snort', signature: '' }, 'skip no_rule'],
  ];
  for (const [name, over, want] of cases) {
    it(name, () => {
      const ctx = ctxFor(config());
      expect(summary(decideAlert(alert(over), ctx, T0))).toBe(want);
    });
  }
});

describe('rule matching keys', () => {
  const cfg = config(`
policy:
  rules:
    - { name: sids, match: { sids: [2001219, "2010935-2010939"] }, ban: 60 }
    - { name: cat-sev, match: { category: [attempted recon], max_severity: 1 }, ban: 120 }
    - { name: udp-blocked, match: { proto: [udp], action: [blocked] }, ban: 180 }
    - { name: pattern, match: { signature_pattern: "nmap.*user-agent" }, ban: 240 }
`);
  const cases: Array<[string, Parameters<typeof alert>[0], string]> = [
    ['sid in list', { sid: 2001219 }, 'ban ban4 198.51.100.7 60s #1 sids'],
    ['sid in range', { sid: 2010937, signature: 'x' }, 'ban ban4 198.51.100.7 60s #1 sids'],
    ['sid outside', { sid: 2010940, signature: 'x' }, 'skip no_rule'],
    [
      'category + severity 1',
      { sid: 1, category: 'Attempted Recon', severity: 1 },
      'ban ban4 198.51.100.7 120s #1 cat-sev',
    ],
    ['category + severity 2', { sid: 1, category: 'Attempted Recon', severity: 2 }, 'skip no_rule'],
    ['proto + action', { sid: 1, proto: 'UDP', action: 'blocked' }, 'ban ban4 198.51.100.7 180s #1 udp-blocked'],
    ['proto, other action', { sid: 1, proto: 'UDP', action: 'allowed' }, 'skip no_rule'],
    [
      'pattern, any case',
      { sid: 1, signature: 'ET SCAN Possible Nmap User-Agent Observed' },
      'ban ban4 198.51.100.7 240s #1 pattern',
    ],
  ];
  for (const [name, over, want] of cases) {
    it(name, () => expect(summary(decideAlert(alert(over), ctxFor(cfg), T0))).toBe(want));
  }
});

describe('thresholds and windows', () => {
  it('alerts: the third within 60 s bans; spread out, never', () => {
    const cfg = config(
      'policy: { rules: [{ name: r, match: { signature_prefix: [ET SCAN] }, threshold: { alerts: 3, window: 60 }, ban: 600 }] }',
    );
    const ctx = ctxFor(cfg);
    expect(summary(decideAlert(alert(), ctx, T0))).toBe('skip below_threshold');
    expect(summary(decideAlert(alert(), ctx, T0 + 10_000))).toBe('skip below_threshold');
    expect(summary(decideAlert(alert(), ctx, T0 + 59_000))).toBe('ban ban4 198.51.100.7 600s #1 r');
    const slow = ctxFor(cfg);
    for (let i = 0; i < 10; i++) expect(decideAlert(alert(), slow, T0 + i * 31_000).kind).toBe('skip');
  });
  it('distinct destination ports: retries to one port count once', () => {
    const cfg = config(
      'policy: { rules: [{ name: ports, match: { signature_prefix: [ET SCAN] }, threshold: { alerts: 1, distinct_ports: 3, window: 300 } }] }',
    );
    const ctx = ctxFor(cfg);
    for (let i = 0; i < 5; i++) expect(decideAlert(alert({ destPort: 22 }), ctx, T0 + i).kind).toBe('skip');
    expect(decideAlert(alert({ destPort: 23 }), ctx, T0 + 10).kind).toBe('skip');
    expect(summary(decideAlert(alert({ destPort: 25 }), ctx, T0 + 20))).toBe('ban ban4 198.51.100.7 3600s #1 ports');
  });
  it('distinct signatures within the window', () => {
    const cfg = config(
      'policy: { rules: [{ name: sigs, match: { signature_prefix: [ET] }, threshold: { distinct_signatures: 2, window: 60 } }] }',
    );
    const ctx = ctxFor(cfg);
    expect(decideAlert(alert({ sid: 1, signature: 'ET A' }), ctx, T0).kind).toBe('skip');
    expect(decideAlert(alert({ sid: 1, signature: 'ET A' }), ctx, T0 + 1).kind).toBe('skip');
    expect(decideAlert(alert({ sid: 2, signature: 'ET B' }), ctx, T0 + 61_000).kind).toBe('skip'); // sid 1 left the window
    expect(summary(decideAlert(alert({ sid: 3, signature: 'ET C' }), ctx, T0 + 62_000))).toBe(
      'ban ban4 198.51.100.7 3600s #1 sigs',
    );
  });
  it('thresholds count per source', () => {
    const cfg = config(
      'policy: { rules: [{ name: r, match: { signature_prefix: [ET SCAN] }, threshold: { alerts: 2 } }] }',
    );
    const ctx = ctxFor(cfg);
    expect(decideAlert(alert({ srcIp: '198.51.100.1' }), ctx, T0).kind).toBe('skip');
    expect(decideAlert(alert({ srcIp: '198.51.100.2' }), ctx, T0).kind).toBe('skip');
    expect(decideAlert(alert({ srcIp: '198.51.100.1' }), ctx, T0 + 1).kind).toBe('ban');
  });
});

describe('direction: blame the outside party', () => {
  const cases: Array<[string, Parameters<typeof alert>[0], string]> = [
    ['outside -> home: source', { srcIp: '198.51.100.7', destIp: '10.1.2.3' }, 'ban ban4 198.51.100.7'],
    [
      'home -> outside (a reply): destination',
      { srcIp: '10.47.8.142', destIp: '198.51.100.9' },
      'ban ban4 198.51.100.9',
    ],
    ['gateway itself -> outside: destination', { srcIp: '10.0.0.1', destIp: '198.51.100.9' }, 'ban ban4 198.51.100.9'],
    [
      'alert.source names the attacker',
      {
        srcIp: '10.1.2.3',
        destIp: '198.51.100.5',
        attacker: { ip: '198.51.100.5', port: 1 },
        target: { ip: '10.1.2.3', port: 22 },
      },
      'ban ban4 198.51.100.5',
    ],
    ['alert.source names a home host', { attacker: { ip: '10.1.2.3', port: 1 } }, 'skip home'],
    ['home -> home', { srcIp: '10.1.1.1', destIp: '10.2.2.2' }, 'skip both_home'],
    ['outside -> outside (transit): source', { srcIp: '198.51.100.7', destIp: '192.0.2.1' }, 'ban ban4 198.51.100.7'],
  ];
  for (const [name, over, want] of cases) {
    it(name, () => expect(summary(decideAlert(alert(over), ctxFor(config()), T0)).startsWith(want)).toBe(true));
  }
  it('unknown_direction: skip', () => {
    const ctx = ctxFor(config('policy: { unknown_direction: skip }'));
    expect(summary(decideAlert(alert({ destIp: '192.0.2.1' }), ctx, T0))).toBe('skip direction_unknown');
  });
});

describe("alert.source / alert.target hints: only the flow's two addresses", () => {
  const flow = { srcIp: '10.1.2.3', destIp: '198.51.100.5' };
  const cases: Array<[string, Parameters<typeof alert>[0], string]> = [
    ['source names dest', { ...flow, attacker: { ip: '198.51.100.5', port: 22 } }, 'ban ban4 198.51.100.5'],
    ['source names src (a home host)', { ...flow, attacker: { ip: '10.1.2.3', port: 1 } }, 'skip home'],
    [
      'source names dest in another spelling',
      { srcIp: '2001:db8:ffff::3', destIp: '2001:db8:5::5', attacker: { ip: '2001:DB8:5:0::5', port: 1 } },
      'ban ban6net64 2001:db8:5::/64',
    ],
    [
      'target alone names src: dest is blamed',
      { ...flow, target: { ip: '10.1.2.3', port: 22 } },
      'ban ban4 198.51.100.5',
    ],
    [
      'target alone names dest: src is blamed, home or not',
      { ...flow, target: { ip: '198.51.100.5', port: 22 } },
      'skip home',
    ],
    [
      'source names a third address: ignored, usual blame (the outside dest), noted',
      { ...flow, attacker: { ip: '192.0.2.66', port: 1 } },
      'ban ban4 198.51.100.5 3600s #1 et-scan [hint_mismatch]',
    ],
    [
      'target names a third address: ignored, noted',
      { ...flow, attacker: { ip: '10.1.2.3', port: 1 }, target: { ip: '192.0.2.66', port: 22 } },
      'ban ban4 198.51.100.5 3600s #1 et-scan [hint_mismatch]',
    ],
    [
      'source and target name the same side: ignored, noted',
      { ...flow, attacker: { ip: '10.1.2.3', port: 1 }, target: { ip: '10.1.2.3', port: 22 } },
      'ban ban4 198.51.100.5 3600s #1 et-scan [hint_mismatch]',
    ],
    [
      'source does not parse: ignored, noted',
      { ...flow, attacker: { ip: 'not-an-ip', port: 1 } },
      'ban ban4 198.51.100.5 3600s #1 et-scan [hint_mismatch]',
    ],
    [
      'a third address on a home -> home flow: the usual blame skips, noted',
      { srcIp: '10.1.1.1', destIp: '10.2.2.2', attacker: { ip: '198.51.100.99', port: 1 } },
      'skip both_home [hint_mismatch]',
    ],
  ];
  for (const [name, over, want] of cases) {
    it(name, () => expect(summary(decideAlert(alert(over), ctxFor(config()), T0)).startsWith(want)).toBe(true));
  }
  it('the third address is never banned, and a matching hint carries no note', () => {
    const ctx = ctxFor(config());
    const d = decideAlert(alert({ ...flow, attacker: { ip: '192.0.2.66', port: 1 } }), ctx, T0);
    expect(d).toMatchObject({ kind: 'ban', offender: '198.51.100.5', note: 'hint_mismatch' });
    const ok = decideAlert(alert({ srcIp: '198.51.100.6', attacker: { ip: '198.51.100.6', port: 1 } }), ctx, T0);
    expect(ok).toMatchObject({ kind: 'ban', offender: '198.51.100.6' });
    expect(ok.note).toBeUndefined();
  });
});

describe("the gateway's own subnets: network and broadcast never banned", () => {
  const owned = ['198.18.0.1/24', '198.18.4.1/30', '198.18.6.0/31', '2001:db8:7::1/64', '2001:db8:8::1/127'];
  const cases: Array<[string, string]> = [
    ['198.18.0.0', 'skip own_subnet_edge'],
    ['198.18.0.255', 'skip own_subnet_edge'],
    ['198.18.0.1', 'skip own_address'],
    ['198.18.0.77', 'ban ban4 198.18.0.77 3600s #1 et-scan'],
    ['198.18.4.0', 'skip own_subnet_edge'],
    ['198.18.4.3', 'skip own_subnet_edge'],
    ['198.18.4.2', 'ban ban4 198.18.4.2 3600s #1 et-scan'],
    // A /31 has no network or broadcast address (RFC 3021): the peer is a host.
    ['198.18.6.1', 'ban ban4 198.18.6.1 3600s #1 et-scan'],
    ['2001:db8:7::', 'skip own_subnet_edge'],
    // An attacker on the gateway's own /64: the /64 holds the gateway, the address alone is banned.
    ['2001:db8:7::66', 'ban ban6 2001:db8:7::66 3600s #1 et-scan'],
    // A /127 has no subnet-router anycast address (RFC 6164).
    ['2001:db8:8::', 'ban ban6 2001:db8:8:: 3600s #1 et-scan'],
  ];
  for (const [ip, want] of cases) {
    it(`${ip}: ${want}`, () => {
      const ctx = ctxFor(config(), owned);
      const a = alert({ srcIp: ip, destIp: '10.1.2.3', attacker: { ip, port: 1 } });
      expect(summary(decideAlert(a, ctx, T0))).toBe(want);
    });
  }
  it('kernel detections and manual bans too, and a prefix holding an edge', () => {
    const ctx = ctxFor(config(), owned);
    expect(summary(decideKernelScan('198.18.0.255', 'fast_scan', ctx, T0))).toBe('skip own_subnet_edge');
    expect(summary(decideManual(parsePrefix('198.18.0.0/32')!, 60, 'x', ctx, T0))).toBe('skip own_subnet_edge');
    expect(summary(decideManual(parsePrefix('198.18.0.128/25')!, 60, 'x', ctx, T0))).toBe('skip own_subnet_edge');
    expect(summary(decideManual(parsePrefix('2001:db8:7::/128')!, 60, 'x', ctx, T0))).toBe('skip own_subnet_edge');
    expect(summary(decideManual(parsePrefix('198.18.0.64/27')!, 60, 'x', ctx, T0))).toBe(
      'ban bannet4 198.18.0.64/27 60s #1 x',
    );
  });
});

describe('never banned', () => {
  const cases: Array<[string, string]> = [
    ['203.0.113.10', 'allowlisted'],
    ['2001:db8:aaaa::1', 'allowlisted'],
    ['10.9.9.9', 'home'],
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['224.0.0.5', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['::ffff:198.51.100.7', 'ipv4-mapped'],
  ];
  for (const [ip, why] of cases) {
    it(`${ip}: ${why}`, () => {
      const ctx = ctxFor(config());
      expect(summary(decideAlert(alert({ srcIp: ip, attacker: { ip, port: 1 } }), ctx, T0))).toBe(`skip ${why}`);
      expect(decideKernelScan(ip, 'fast_scan', ctx, T0).kind).toBe('skip');
    });
  }
  it("the gateway's own address (read live), even outside the home networks", () => {
    const ctx = ctxFor(config(), ['192.0.2.77']);
    const hinted = alert({ srcIp: '192.0.2.77', destIp: '198.51.100.9', attacker: { ip: '192.0.2.77', port: 1 } });
    expect(summary(decideAlert(hinted, ctx, T0))).toBe('skip own_address');
  });
  it('directed broadcast of a home network', () => {
    const ctx = ctxFor(parseConfigText('home_networks: [192.168.10.0/24]'));
    expect(
      summary(decideAlert(alert({ srcIp: '192.168.10.255', attacker: { ip: '192.168.10.255', port: 1 } }), ctx, T0)),
    ).toBe('skip broadcast');
  });
  it('manual bans are refused for protected addresses, allowed otherwise', () => {
    const ctx = ctxFor(config());
    expect(summary(decideManual(parsePrefix('10.5.0.0/24')!, 60, 'x', ctx, T0))).toBe('skip home');
    expect(summary(decideManual(parsePrefix('203.0.113.0/24')!, 60, 'x', ctx, T0))).toBe('skip allowlisted');
    expect(summary(decideManual(parsePrefix('198.51.100.0/24')!, 60, 'x', ctx, T0))).toBe(
      'ban bannet4 198.51.100.0/24 60s #1 x',
    );
  });
});

describe('IPv6 by prefix', () => {
  it('an address is banned by its /64 in the /64 hash set (the text stays addr/64)', () => {
    expect(
      summary(decideAlert(alert({ srcIp: '2001:db8:1:2:aaaa::5', destIp: '2001:db8:ffff::1' }), ctxFor(config()), T0)),
    ).toBe('ban ban6net64 2001:db8:1:2::/64 3600s #1 et-scan');
  });
  it('a manual /64 ban goes to ban6net64, other IPv6 prefix lengths to bannet6', () => {
    const ctx = ctxFor(config());
    expect(summary(decideManual(parsePrefix('2001:db8:5:6::/64')!, 60, 'x', ctx, T0))).toBe(
      'ban ban6net64 2001:db8:5:6::/64 60s #1 x',
    );
    expect(summary(decideManual(parsePrefix('2001:db8:5::/56')!, 60, 'x', ctx, T0))).toBe(
      'ban bannet6 2001:db8:5::/56 60s #1 x',
    );
    expect(summary(decideManual(parsePrefix('2001:db8:5:6::/65')!, 60, 'x', ctx, T0))).toBe(
      'ban bannet6 2001:db8:5:6::/65 60s #1 x',
    );
  });
  it('two addresses of one /64 are one ban', () => {
    const ctx = ctxFor(config());
    record(ctx, decideAlert(alert({ srcIp: '2001:db8:1:2::5' }), ctx, T0), T0);
    expect(summary(decideAlert(alert({ srcIp: '2001:db8:1:2::6' }), ctx, T0 + 1000))).toBe('skip already_banned');
  });
  it('ipv6_prefix 128 bans the address in the hash set; 48 the /48', () => {
    expect(
      summary(decideAlert(alert({ srcIp: '2001:db8:1:2::5' }), ctxFor(config('policy: { ipv6_prefix: 128 }')), T0)),
    ).toBe('ban ban6 2001:db8:1:2::5 3600s #1 et-scan');
    expect(
      summary(decideAlert(alert({ srcIp: '2001:db8:1:2::5' }), ctxFor(config('policy: { ipv6_prefix: 48 }')), T0)),
    ).toBe('ban bannet6 2001:db8:1::/48 3600s #1 et-scan');
  });
  it('a /64 that holds an allowlisted address falls back to the single address', () => {
    expect(summary(decideAlert(alert({ srcIp: '2001:db8:aaaa::99' }), ctxFor(config()), T0))).toBe(
      'ban ban6 2001:db8:aaaa::99 3600s #1 et-scan',
    );
  });
});

describe('escalation from history', () => {
  const cfg = config('policy: { escalation: { factor: 3, max: 5h, forget_after: 1d } }');
  it('1h, 3h, then capped at 5h; forgotten after a day', () => {
    const ctx = ctxFor(cfg);
    const hour = 3_600_000;
    let now = T0;
    const durations: Array<number | null> = [];
    for (let i = 0; i < 4; i++) {
      const d = decideAlert(alert(), ctx, now);
      if (d.kind !== 'ban') throw new Error(summary(d));
      durations.push(d.durationSec);
      record(ctx, d, now);
      now += (d.durationSec ?? 0) * 1000 + 1000;
      ctx.index.setInactive(d.target.text);
    }
    expect(durations).toEqual([3600, 10_800, 18_000, 18_000]);
    const later = now + 25 * hour;
    const d = decideAlert(alert(), ctx, later);
    expect(summary(d)).toBe('ban ban4 198.51.100.7 3600s #1 et-scan');
  });
  it('kernel detections escalate the same way, with their reason', () => {
    const ctx = ctxFor(cfg);
    const first = decideKernelScan('198.51.100.9', 'trap_port', ctx, T0);
    expect(summary(first)).toBe('ban ban4 198.51.100.9 3600s #1 trap_port');
    record(ctx, first, T0);
    ctx.index.setInactive('198.51.100.9');
    expect(summary(decideKernelScan('198.51.100.9', 'slow_scan', ctx, T0 + 4_000_000))).toBe(
      'ban ban4 198.51.100.9 10800s #2 slow_scan',
    );
  });
  it('disabled: always the base duration', () => {
    const ctx = ctxFor(config('policy: { escalation: { enabled: false } }'));
    record(ctx, decideAlert(alert(), ctx, T0), T0);
    ctx.index.setInactive('198.51.100.7');
    expect(summary(decideAlert(alert(), ctx, T0 + 1))).toBe('ban ban4 198.51.100.7 3600s #2 et-scan');
  });
});

describe('active bans, refresh, grace, aggregation', () => {
  it('while banned: skip, then refresh once less than half is left', () => {
    const ctx = ctxFor(config());
    record(ctx, decideAlert(alert(), ctx, T0), T0);
    expect(summary(decideAlert(alert(), ctx, T0 + 60_000))).toBe('skip already_banned');
    expect(summary(decideAlert(alert(), ctx, T0 + 1_900_000))).toBe('refresh ban4 198.51.100.7 3600s #1 et-scan');
  });
  it('no ban during the grace period after an unban', () => {
    const ctx = ctxFor(config());
    ctx.index.setGrace('198.51.100.7', T0 + 600_000);
    expect(summary(decideAlert(alert(), ctx, T0 + 1000))).toBe('skip grace');
    expect(decideAlert(alert(), ctx, T0 + 600_001).kind).toBe('ban');
  });
  it('IPv4 aggregation: the 3rd address of a /24 bans the /24', () => {
    const ctx = ctxFor(config('policy: { ipv4_aggregate: { enabled: true, prefix: 24, min_addresses: 3 } }'));
    for (const ip of ['198.51.100.1', '198.51.100.2']) {
      const d = decideAlert(alert({ srcIp: ip }), ctx, T0);
      expect(summary(d)).toBe(`ban ban4 ${ip} 3600s #1 et-scan`);
      record(ctx, d, T0);
    }
    expect(summary(decideAlert(alert({ srcIp: '198.51.100.3' }), ctx, T0))).toBe(
      'ban bannet4 198.51.100.0/24 3600s #1 et-scan',
    );
  });
});
