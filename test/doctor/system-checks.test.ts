import { describe, expect, it } from 'vitest';
import { doctorExitCode, renderFindings, runChecks } from '../../src/doctor/doctor-report.ts';
import {
  compareVersions,
  conntrackChecks,
  nftChecks,
  suggestedConntrackMax,
  syncookiesCheck,
} from '../../src/doctor/system-checks.ts';
import { byId, facts, notOk } from './doctor-fixtures.ts';

const GB = 1024 ** 3;
const proc = (p: Partial<ReturnType<typeof facts>['proc']>) => facts({ proc: { ...facts().proc, ...p } });

describe('doctor on a healthy machine', () => {
  it('finds nothing wrong and exits 0; every finding has exactly id, severity, message, fix', () => {
    const findings = runChecks(facts());
    expect(notOk(findings)).toEqual([]);
    expect(doctorExitCode(findings)).toBe(0);
    for (const f of findings) {
      expect(Object.keys(f).sort()).toEqual(['fix', 'id', 'message', 'severity']);
      expect(f.fix).toBe('');
    }
  });
});

describe('nft and kernel support', () => {
  it('nft missing is a problem, and nothing else about nft is claimed', () => {
    const f = nftChecks(facts({ nft: { ...facts().nft, version: { error: 'cannot run nft' }, features: null } }));
    expect(f.map((x) => `${x.id} ${x.severity}`)).toEqual(['nft.version problem']);
    expect(f[0]!.fix).toMatch(/apt-get install nftables/);
  });
  it('an nft older than the tested release is a warning', () => {
    expect(compareVersions('0.9.8', '1.0.6')).toBe(-1);
    expect(compareVersions('1.0.10', '1.0.6')).toBe(1);
    expect(compareVersions('1.0.6', '1.0.6')).toBe(0);
    expect(byId(nftChecks(facts({ nft: { ...facts().nft, version: '0.9.8' } })), 'nft.version')[0]!.severity).toBe(
      'warning',
    );
  });
  it("a feature the kernel refuses, or a ruleset nft -c refuses, is a problem with nft's message", () => {
    const f = nftChecks(
      facts({
        nft: {
          ...facts().nft,
          features: {
            timeouts: { ok: true },
            dynamic_sets: { ok: true },
            concatenations: { ok: false, error: 'nft failed: Error: Could not process rule: Operation not supported' },
          },
          rulesetCheck: { ok: false, error: 'nft failed: Error: syntax error' },
        },
      }),
    );
    expect(notOk(f)).toEqual(['nft.feature.concatenations problem', 'nft.ruleset_check problem']);
    expect(byId(f, 'nft.feature.concatenations')[0]!.message).toContain('Operation not supported');
    expect(byId(f, 'nft.ruleset_check')[0]!.fix).toBe(
      "nftsentry -c /etc/nftsentry/nftsentry.yaml check  # prints nft's full error",
    );
  });
});

describe('sysctls', () => {
  it('syncookies off is a problem whose fix sets it now and at boot', () => {
    const f = syncookiesCheck(proc({ tcpSyncookies: 0 }));
    expect(f.severity).toBe('problem');
    expect(f.fix).toBe(
      "sysctl -w net.ipv4.tcp_syncookies=1 && echo 'net.ipv4.tcp_syncookies = 1' >> /etc/sysctl.d/90-nftsentry.conf",
    );
    expect(syncookiesCheck(proc({ tcpSyncookies: 2 })).severity).toBe('ok');
    expect(syncookiesCheck(proc({ tcpSyncookies: null })).severity).toBe('warning');
  });

  it('conntrack max: tiny is a problem, small for the memory a warning, too big for the memory a warning', () => {
    const sev = (p: Parameters<typeof proc>[0]) => byId(conntrackChecks(proc(p)), 'conntrack.max')[0]!.severity;
    expect(sev({ conntrackMax: 256, conntrackBuckets: 64 })).toBe('problem');
    expect(sev({ conntrackMax: 32_768, conntrackBuckets: 32_768 })).toBe('warning');
    expect(sev({ conntrackMax: 262_144, memTotalBytes: 8 * GB })).toBe('ok');
    expect(sev({ conntrackMax: 4_194_304, conntrackBuckets: 1_048_576, memTotalBytes: 2 * GB })).toBe('warning');
    // A small machine affords less: 32768 on 256 MB is what it can take, not a warning.
    expect(suggestedConntrackMax(256 * 1024 ** 2)).toBe(32_768);
    expect(sev({ conntrackMax: 32_768, conntrackBuckets: 32_768, memTotalBytes: 256 * 1024 ** 2 })).toBe('ok');
    const tiny = byId(conntrackChecks(proc({ conntrackMax: 256, conntrackBuckets: 64 })), 'conntrack.max')[0]!;
    expect(tiny.message).toContain('table full, dropping packet');
    expect(tiny.fix).toBe(
      "sysctl -w net.netfilter.nf_conntrack_max=65536 && echo 'net.netfilter.nf_conntrack_max = 65536' >> /etc/sysctl.d/90-nftsentry.conf",
    );
  });

  it('conntrack use: 90 % full is a problem, 75 % a warning', () => {
    const sev = (count: number) =>
      byId(
        conntrackChecks(proc({ conntrackMax: 65_536, conntrackBuckets: 65_536, conntrackCount: count })),
        'conntrack.usage',
      )[0]!.severity;
    expect([sev(1000), sev(50_000), sev(60_000)]).toEqual(['ok', 'warning', 'problem']);
  });

  it('too few hash buckets for the max is a warning with the module parameter that fixes it', () => {
    const f = byId(conntrackChecks(proc({ conntrackMax: 262_144, conntrackBuckets: 16_384 })), 'conntrack.buckets')[0]!;
    expect(f.severity).toBe('warning');
    expect(f.fix).toContain('echo 65536 > /sys/module/nf_conntrack/parameters/hashsize');
    expect(byId(conntrackChecks(facts()), 'conntrack.buckets')[0]!.severity).toBe('ok');
  });

  it('accounting matters only when the ruleset reads ct bytes or packets', () => {
    expect(byId(conntrackChecks(facts()), 'conntrack.acct')[0]!.severity).toBe('ok');
    const uses = facts({ rulesetText: 'ct original bytes > 1000000 drop' });
    expect(byId(conntrackChecks(uses), 'conntrack.acct')[0]!.severity).toBe('warning');
    uses.proc = { ...uses.proc, conntrackAcct: 1 };
    expect(byId(conntrackChecks(uses), 'conntrack.acct')[0]!.severity).toBe('ok');
  });

  it('conntrack not loaded: one warning, no guesses about the rest', () => {
    const f = conntrackChecks(proc({ conntrackMax: null, conntrackBuckets: null, conntrackCount: null }));
    expect(f.map((x) => `${x.id} ${x.severity}`)).toEqual(['conntrack.max warning']);
  });
});

describe('exit code and text', () => {
  it('0 all ok, 1 warnings only, 2 any problem', () => {
    const ok = { id: 'a', severity: 'ok', message: 'm', fix: '' } as const;
    const w = { ...ok, severity: 'warning', fix: 'x' } as const;
    const p = { ...ok, severity: 'problem', fix: 'y' } as const;
    expect([doctorExitCode([ok]), doctorExitCode([ok, w]), doctorExitCode([w, p, ok])]).toEqual([0, 1, 2]);
    expect(renderFindings([ok, w, p])).toBe(
      ['✓ m [a]', '! m [a]', '    fix: x', '✗ m [a]', '    fix: y', '', '1 problem(s), 1 warning(s), 1 ok'].join('\n'),
    );
  });
});
