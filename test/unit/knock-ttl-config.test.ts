/**
 * `knock` and `ttl_normalize`: off when absent, their defaults, the rules they render (exact text),
 * and every problem with them named by its key path (exit 2 from the CLI).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/config.ts';
import { isNftsentryError } from '../../src/errors.ts';
import { knockChainRules, knockInputRules } from '../../src/nft/knock-rules.ts';
import { loadTemplates, renderRuleset } from '../../src/nft/ruleset.ts';
import { ttlStatements } from '../../src/nft/ttl-rules.ts';
import { runCli } from '../helpers.ts';

function problems(yaml: string): string[] {
  try {
    parseConfigText(yaml);
  } catch (err) {
    if (isNftsentryError(err) && err.code === 'E_CONFIG_INVALID') return (err.details?.problems as string[]) ?? [];
    throw err;
  }
  return [];
}

describe('knock and ttl_normalize', () => {
  it('are off when absent: no knock rules, the TTL chains declared and deleted', () => {
    const c = parseConfigText('');
    expect(c.knock).toBeUndefined();
    expect(c.ttl_normalize).toBeUndefined();
    const script = renderRuleset(c, loadTemplates());
    expect(script).not.toContain('jump knock');
    expect(script).not.toContain('ttl set');
    expect(ttlStatements(c).filter((l) => l.startsWith('delete'))).toEqual([
      'delete chain inet nftsentry ttl_input',
      'delete chain inet nftsentry ttl_forward',
    ]);
  });

  it('defaults: tcp knocks, stage_timeout 2s, open_for 30s; ttl 64, not forwarded', () => {
    const c = parseConfigText('knock: { sequence: [7001, 7002], ports: [2222] }\nttl_normalize: {}');
    expect(c.knock).toEqual({
      protocol: 'tcp',
      sequence: [7001, 7002],
      ports: [[2222, 2222]],
      stage_timeout: 2,
      open_for: 30,
    });
    expect(c.ttl_normalize).toEqual({ ttl: 64, forward: false });
  });

  it('renders the knock stages: reset on an unexpected knock, one rule per stage, admit, drop', () => {
    const c = parseConfigText(
      'knock: { protocol: udp, sequence: [7001, 7002, 7003], ports: [2222, "3000-3001"], stage_timeout: 3s, open_for: 1m }',
    );
    expect(knockInputRules(c.knock)).toBe(
      [
        '\t\tmeta l4proto udp th dport { 7001, 7002, 7003 } ct state new jump knock',
        '\t\tip saddr @knock_open4 meta l4proto . th dport { tcp . 2222, udp . 2222, tcp . 3000-3001, udp . 3000-3001 } accept',
        '\t\tip6 saddr @knock_open6 meta l4proto . th dport { tcp . 2222, udp . 2222, tcp . 3000-3001, udp . 3000-3001 } accept',
      ].join('\n'),
    );
    expect(
      knockChainRules(c.knock)
        .split('\n')
        .map((l) => l.trim()),
    ).toEqual([
      'meta nfproto ipv4 ip saddr . th dport != @knock4 delete @knock4 { ip saddr . 7002 } delete @knock4 { ip saddr . 7003 }',
      'meta nfproto ipv4 th dport 7001 update @knock4 { ip saddr . 7002 timeout 3s }',
      'meta nfproto ipv4 th dport 7002 ip saddr . th dport @knock4 delete @knock4 { ip saddr . th dport } update @knock4 { ip saddr . 7003 timeout 3s }',
      'meta nfproto ipv4 th dport 7003 ip saddr . th dport @knock4 delete @knock4 { ip saddr . th dport } update @knock_open4 { ip saddr timeout 60s }',
      'meta nfproto ipv6 ip6 saddr . th dport != @knock6 delete @knock6 { ip6 saddr . 7002 } delete @knock6 { ip6 saddr . 7003 }',
      'meta nfproto ipv6 th dport 7001 update @knock6 { ip6 saddr . 7002 timeout 3s }',
      'meta nfproto ipv6 th dport 7002 ip6 saddr . th dport @knock6 delete @knock6 { ip6 saddr . th dport } update @knock6 { ip6 saddr . 7003 timeout 3s }',
      'meta nfproto ipv6 th dport 7003 ip6 saddr . th dport @knock6 delete @knock6 { ip6 saddr . th dport } update @knock_open6 { ip6 saddr timeout 60s }',
      'counter name "drop_knock" drop',
    ]);
    // A sequence of one: no stage to reset, the knock admits.
    const one = parseConfigText('knock: { sequence: [7001], ports: [2222] }');
    expect(knockChainRules(one.knock).split('\n')[0]!.trim()).toBe(
      'meta nfproto ipv4 th dport 7001 update @knock_open4 { ip saddr timeout 30s }',
    );
  });

  it('renders the TTL rewrite for unicast to this host, never touching 255; forward when asked', () => {
    const c = parseConfigText('ttl_normalize: { ttl: 100, forward: true }');
    expect(ttlStatements(c).filter((l) => l.startsWith('add rule'))).toEqual([
      'add rule inet nftsentry ttl_input iif "lo" accept',
      'add rule inet nftsentry ttl_input meta pkttype host ip ttl != { 100, 255 } ip ttl set 100',
      'add rule inet nftsentry ttl_input meta pkttype host ip6 hoplimit != { 100, 255 } ip6 hoplimit set 100',
      'add rule inet nftsentry ttl_forward meta pkttype host ip ttl != { 100, 255 } ip ttl set 100',
      'add rule inet nftsentry ttl_forward meta pkttype host ip6 hoplimit != { 100, 255 } ip6 hoplimit set 100',
    ]);
  });

  it('names every problem by its key path', () => {
    const found =
      problems(`services: { tcp: [22, 80], udp: [53], restricted: [ { proto: tcp, ports: [7100], from: [198.51.100.0/24] } ] }
scan_detection: { trap_ports: { tcp: [23, 2323], udp: [1900] } }
knock: { sequence: [23, 7001, 7001, 7100, 2222], ports: [22, 2222, "1899-1901"], stage_timeout: 2h, open_for: soon }
ttl_normalize: { ttl: 0, forward: maybe }
`);
    expect(found).toEqual(
      expect.arrayContaining([
        'knock.sequence[2]: port 7001 is knocked twice; each port once',
        'knock.stage_timeout: at most 1h: a knock is a matter of seconds',
        expect.stringMatching(/^knock\.open_for: "soon" is not a duration/),
        expect.stringMatching(/^ttl_normalize\.ttl: /),
        expect.stringMatching(/^ttl_normalize\.forward: /),
      ]),
    );
    // The cross-checks wait for the knock section to parse: fix its own problems, then they show.
    const cross =
      problems(`services: { tcp: [22, 80], udp: [53], restricted: [ { proto: tcp, ports: [7100], from: [198.51.100.0/24] } ] }
scan_detection: { trap_ports: { tcp: [23, 2323], udp: [1900] } }
knock: { sequence: [23, 7001, 7100, 2222], ports: [22, 2222, "1899-1901"] }
`);
    expect(cross).toEqual([
      'knock.sequence[0]: knock port 23 is a tcp trap port (scan_detection.trap_ports.tcp): a knock would ban the knocker',
      'knock.sequence[2]: knock port 7100 is an open tcp service: a knock port must be closed',
      'knock.sequence[3]: knock port 2222 is also a guarded port (knock.ports)',
      'knock.ports[0]: guarded port 22 is an open tcp service (22): a guarded port must not be open to everyone',
      'knock.ports[2]: guarded port 1899-1901 is a udp trap port (1900): trying it before knocking would ban',
    ]);
    expect(problems('knock: { ports: [22] }')).toEqual(['knock.sequence: required']);
    expect(problems('knock: { sequence: [1], ports: [2], secret: x }')).toEqual(['knock.secret: unknown key']);
    // With scan detection off there are no trap ports to clash with.
    expect(problems('scan_detection: { enabled: false }\nknock: { sequence: [23], ports: [2222] }')).toEqual([]);
  });

  it('the CLI exits 2 and lists the problems', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nssd-knock-'));
    try {
      const path = join(dir, 'bad.yaml');
      writeFileSync(path, 'services: { tcp: [22] }\nknock: { sequence: [23], ports: [22] }\n');
      const r = await runCli(['-c', path, 'render']);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain('knock.sequence[0]: knock port 23 is a tcp trap port');
      expect(r.stderr).toContain('knock.ports[0]: guarded port 22 is an open tcp service');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
