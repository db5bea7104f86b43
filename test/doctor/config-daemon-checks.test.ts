import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/config.ts';
import { configChecks, homeNetworkChecks, parseSshConnection, sshChecks } from '../../src/doctor/config-checks.ts';
import { daemonChecks } from '../../src/doctor/daemon-checks.ts';
import { parseDaemonStatus } from '../../src/doctor/daemon-status.ts';
import type { DaemonStatus } from '../../src/doctor/doctor-facts.ts';
import { parseIp } from '../../src/net/ip.ts';
import { interfaceAddress } from '../../src/net/subnet.ts';
import { byId, facts, NOW, notOk } from './doctor-fixtures.ts';

const PATH = '/etc/nftsentry/nftsentry.yaml';
const ssh = '198.51.100.7 52000 198.18.1.1 22';
const cfg = (text: string) => parseConfigText(text);
const ids = (f: ReturnType<typeof sshChecks>) => f.map((x) => `${x.id} ${x.severity}`);

describe('the config over SSH', () => {
  it('parses SSH_CONNECTION, unmapping IPv4-mapped clients; anything else is no SSH', () => {
    expect(parseSshConnection('::ffff:198.51.100.7 52000 ::ffff:198.18.1.1 2222')).toMatchObject({
      client: { text: '198.51.100.7' },
      port: 2222,
    });
    for (const bad of [undefined, '', 'x y z w', '198.51.100.7 1 2 99999']) expect(parseSshConnection(bad)).toBe(null);
  });
  it('an empty allowlist over SSH is a problem whose fix names the client', () => {
    const f = sshChecks(cfg('services: { tcp: [22] }'), ssh, PATH);
    expect(ids(f)).toEqual(['config.allowlist problem']);
    expect(f[0]!.fix).toBe(
      `add "allowlist: [198.51.100.7]" to ${PATH}, then nftsentry -c ${PATH} apply  # at once, without a reload: nftsentry allow 198.51.100.7`,
    );
  });
  it('a client outside the allowlist is a warning; its SSH port closed to it a problem', () => {
    expect(ids(sshChecks(cfg('allowlist: [203.0.113.0/24]\nservices: { tcp: [22] }'), ssh, PATH))).toEqual([
      'config.allowlist ok',
      'config.ssh_client warning',
    ]);
    expect(ids(sshChecks(cfg('allowlist: [203.0.113.0/24]\nservices: { tcp: [80] }'), ssh, PATH))).toEqual([
      'config.allowlist ok',
      'config.ssh_client warning',
      'config.ssh_port problem',
    ]);
    const restricted =
      'allowlist: [203.0.113.0/24]\nservices: { restricted: [{ proto: tcp, ports: [22], from: [198.51.100.0/24] }] }';
    expect(ids(sshChecks(cfg(restricted), ssh, PATH))).toEqual(['config.allowlist ok', 'config.ssh_client warning']);
  });
  it('an allowlisted client is ok (its port need not be open); no SSH is ok whatever the allowlist', () => {
    expect(ids(sshChecks(cfg('allowlist: [198.51.100.0/24]'), ssh, PATH))).toEqual([
      'config.allowlist ok',
      'config.ssh_client ok',
    ]);
    expect(ids(sshChecks(cfg(''), undefined, PATH))).toEqual(['config.allowlist ok']);
  });
  it('home networks must share addresses with an interface', () => {
    const own = [interfaceAddress(parseIp('198.18.1.1')!, 24), interfaceAddress(parseIp('2001:db8:1::1')!, 64)];
    expect(
      ids(homeNetworkChecks(cfg('home_networks: [198.18.0.0/16, "2001:db8:1::/64", 198.18.1.128/25]'), own, PATH)),
    ).toEqual(['config.home_networks ok']);
    const f = homeNetworkChecks(cfg('home_networks: [10.0.0.0/8, 198.18.1.0/24]'), own, PATH);
    expect(ids(f)).toEqual(['config.home_networks warning']);
    expect(f[0]!.message).toContain(
      'home network 10.0.0.0/8 matches no interface here (198.18.1.0/24, 2001:db8:1::/64)',
    );
  });
  it('an invalid config is one problem and no config checks', () => {
    expect(notOk(configChecks(facts({ config: { error: 'allowlist.0: "x" is not an address' } })))).toEqual([
      'config.valid problem',
    ]);
  });
});

describe('the daemon', () => {
  const status = (s: Partial<DaemonStatus>) =>
    facts({
      daemon: {
        kind: 'reachable',
        target: 'unix:/run/nftsentry/api.sock',
        status: { ...(facts().daemon as { status: DaemonStatus }).status, ...s },
      },
    });
  it('not answering is a problem; the API switched off a warning', () => {
    expect(
      notOk(daemonChecks(facts({ daemon: { kind: 'unreachable', target: 'unix:/x', error: 'ECONNREFUSED' } }))),
    ).toEqual(['daemon.api problem']);
    expect(notOk(daemonChecks(facts({ daemon: { kind: 'api_disabled' } })))).toEqual(['daemon.api warning']);
    const fix = (code?: string) =>
      daemonChecks(facts({ daemon: { kind: 'unreachable', target: 'x', error: 'y', ...(code ? { code } : {}) } }))[0]!
        .fix;
    expect(fix()).toBe(`systemctl start nftsentry  # or: nftsentry -c ${PATH} run`);
    expect(fix('E_NOT_FOUND')).toBe(fix());
    expect(fix('E_FORBIDDEN')).toMatch(/^run doctor as root/);
    expect(fix('E_UNAUTHORIZED')).toMatch(/not the running daemon's/);
  });
  it('sources: none connected or quiet for an hour are warnings; the last line is told', () => {
    const f = daemonChecks(
      status({
        sources: [
          { name: 'eve', type: 'unix_stream', connected: 0, lines: 0, lastLineMs: null },
          { name: 'file', type: 'file', connected: 1, lines: 9, lastLineMs: NOW - 2 * 3_600_000 },
          { name: 'snort', type: 'unix_stream', connected: 2, lines: 9, lastLineMs: NOW - 30_000 },
        ],
      }),
    );
    expect(byId(f, 'daemon.source').map((x) => x.severity)).toEqual(['warning', 'warning', 'ok']);
    expect(byId(f, 'daemon.source')[0]!.message).toBe(
      'source eve: no IDS is connected (0 lines so far, no line yet): alerts are not arriving',
    );
    expect(byId(f, 'daemon.source')[1]!.message).toBe('source file (file) is connected but quiet: last line 2 h ago');
    expect(byId(f, 'daemon.source')[2]!.message).toBe(
      'source snort (unix_stream): 2 connected, 9 lines, last line 30 s ago',
    );
  });
  it('a degraded store and a ruleset not applied are problems', () => {
    const f = daemonChecks(
      status({
        rulesetApplied: false,
        store: { degraded: true, pendingRows: 12, lastError: 'E_STORE_FAILED "disk I/O error"', recoveredFrom: null },
      }),
    );
    expect(notOk(f)).toEqual(['daemon.ruleset problem', 'daemon.store problem']);
    expect(byId(f, 'daemon.store')[0]!.message).toContain(
      '12 rows wait in memory; last error E_STORE_FAILED "disk I/O error"',
    );
  });
  it('the systemd unit: skipped without systemd, a problem when stopped and nothing answers', () => {
    const sd = (unitActive: string | null, unitEnabled: string | null) => ({
      booted: true,
      nftablesEnabled: null,
      unitActive,
      unitEnabled,
    });
    const sev = (f: ReturnType<typeof facts>) => byId(daemonChecks(f), 'daemon.systemd')[0]!.severity;
    expect(sev(facts())).toBe('ok');
    expect(sev(facts({ systemd: sd('active', 'enabled') }))).toBe('ok');
    expect(sev(facts({ systemd: sd('active', 'disabled') }))).toBe('warning');
    expect(sev(facts({ systemd: sd('inactive', 'not-found') }))).toBe('warning');
    expect(
      sev(facts({ systemd: sd('failed', 'enabled'), daemon: { kind: 'unreachable', target: 'x', error: 'y' } })),
    ).toBe('problem');
    expect(sev(facts({ systemd: sd('inactive', 'enabled') }))).toBe('warning');
  });
  it('reads the status answer as foreign input: wrong types read as unknown, nothing throws', () => {
    expect(parseDaemonStatus(null)).toEqual({
      version: '?',
      uptimeSec: 0,
      rulesetApplied: null,
      sources: [],
      store: null,
    });
    const s = parseDaemonStatus({
      version: 7,
      ruleset: { applied: 'yes' },
      sources: [null, { name: 'eve', type: 'unix_stream', connected: '1', lines: 3, lastLine: 'not a date' }],
      engine: {
        store: { degraded: true, pendingRows: 2, lastError: { code: 'E_STORE_FAILED', message: 'full', atMs: 1 } },
      },
    });
    expect(s).toEqual({
      version: '?',
      uptimeSec: 0,
      rulesetApplied: null,
      sources: [{ name: 'eve', type: 'unix_stream', connected: 0, lines: 3, lastLineMs: null }],
      store: { degraded: true, pendingRows: 2, lastError: 'E_STORE_FAILED "full"', recoveredFrom: null },
    });
  });
});
