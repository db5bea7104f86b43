import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText, loadConfig } from '../../src/config/config.ts';
import { isNftsentryError } from '../../src/errors.ts';
import { REPO } from '../helpers.ts';

function problems(text: string): string[] {
  try {
    parseConfigText(text);
  } catch (err) {
    if (isNftsentryError(err, 'E_CONFIG_INVALID')) return (err.details?.problems as string[]) ?? [];
    throw err;
  }
  return [];
}

describe('config', () => {
  it('an empty file is a valid config with safe defaults', () => {
    const c = parseConfigText('');
    expect(c.services.tcp).toEqual([]);
    expect(c.scan_detection.fast).toEqual({ enabled: true, ports: 10, window: 60 });
    expect(c.scan_detection.slow).toEqual({ enabled: true, ports: 5, window: 3600 });
    expect(c.forward.policy).toBe('accept');
    expect(Object.isFrozen(c.services)).toBe(true);
  });

  it('reports every problem at once, each naming its key', () => {
    const p = problems(readFileSync(join(REPO, 'test/fixtures/broken.yaml'), 'utf8'));
    expect(p).toEqual(
      expect.arrayContaining([
        'services.tcp[1]: Too big: expected number to be <=65535',
        'services.udpp: unknown key',
        'allowlist[0]: "10.0.0.1/8" has host bits set; did you mean "10.0.0.0/8"?',
        'allowlist[1]: "not-an-address" is not an IPv4 or IPv6 address or CIDR',
        'scan_detection.fast.ports: Too small: expected number to be >=1',
        expect.stringMatching(/^scan_detection\.fast\.window: "soon" is not a duration/),
      ]),
    );
    expect(p).toHaveLength(6);
  });

  it('refuses a trap port that is also a service', () => {
    expect(problems('services: { tcp: [22, "440-450"] }\nscan_detection: { trap_ports: { tcp: [23, 445] } }')).toEqual([
      'scan_detection.trap_ports.tcp[1]: trap port 445 is also an open tcp service; a trap port must be a port nobody should use',
    ]);
  });

  it('refuses duplicate keys and bad YAML', () => {
    expect(problems('services: {}\nservices: {}\n')).toEqual([
      'services: duplicate key (first at line 1, column 1) at line 2, column 1',
    ]);
    expect(problems('services: [\n')).toHaveLength(1);
  });

  it('refuses a top-level value of the wrong shape', () => {
    expect(problems('- a\n- b\n')[0]).toMatch(/^\(top level\): /);
  });

  it('rates, durations, interface names are checked', () => {
    expect(problems('rate_limits: { tcp_syn: { rate: 10/fortnight, burst: 5 } }')).toEqual([
      expect.stringMatching(/^rate_limits\.tcp_syn\.rate: "10\/fortnight" is not a rate/),
    ]);
    expect(problems('forward: { trusted_interfaces: ["eth0; drop"] }')[0]).toMatch(
      /^forward\.trusted_interfaces\[0\]: /,
    );
    expect(problems('scan_detection: { ban_timeout: -5 }')[0]).toMatch(/^scan_detection\.ban_timeout: /);
  });

  it('anchors and aliases are read (as shared values), merge keys are not', () => {
    const c = parseConfigText(`allowlist: &office [203.0.113.0/24, "2001:db8:42::/48"]
services:
  tcp: &web [80, 443]
  restricted:
    - { proto: tcp, ports: [22], from: *office }
    - { proto: udp, ports: *web, from: *office }
`);
    expect(c.services.restricted.map((r) => [r.proto, r.ports, r.from.map((p) => p.text)])).toEqual([
      ['tcp', [[22, 22]], ['203.0.113.0/24', '2001:db8:42::/48']],
      [
        'udp',
        [
          [80, 80],
          [443, 443],
        ],
        ['203.0.113.0/24', '2001:db8:42::/48'],
      ],
    ]);
    expect(problems('icmp: &i { echo: false }\nforward:\n  <<: *i\n')).toEqual([
      'forward."<<": unknown key (YAML merge keys are not supported: write the keys out)',
    ]);
  });

  it('the shipped sample configs are valid', () => {
    for (const f of [
      'samples/nftsentry.yaml',
      'samples/lab.yaml',
      'samples/fleet.yaml',
      'docs/config-reference.yaml',
      'test/fixtures/full.yaml',
    ]) {
      expect(() => loadConfig(join(REPO, f)), f).not.toThrow();
    }
  });
});
