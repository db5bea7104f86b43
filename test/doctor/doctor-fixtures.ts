/**
 * DoctorFacts for the pure checks' tests: a healthy machine by default, each test changing the
 * one fact it is about.
 */
import { parseConfigText } from '../../src/config/config.ts';
import type { DoctorFacts, Finding } from '../../src/doctor/doctor-facts.ts';
import { parseIp } from '../../src/net/ip.ts';
import { interfaceAddress } from '../../src/net/subnet.ts';

export const NOW = Date.parse('2026-12-03T00:00:00Z');
const GB = 1024 ** 3;

/** The table nftsentry loads, as `nft -j -t list ruleset` prints it (its own chains are never foreign). */
export const OWN_TABLE: Array<Record<string, unknown>> = [
  { table: { family: 'inet', name: 'nftsentry', handle: 1 } },
  {
    chain: {
      family: 'inet',
      table: 'nftsentry',
      name: 'prerouting',
      handle: 1,
      type: 'filter',
      hook: 'prerouting',
      prio: -300,
      policy: 'accept',
    },
  },
  {
    chain: {
      family: 'inet',
      table: 'nftsentry',
      name: 'input',
      handle: 2,
      type: 'filter',
      hook: 'input',
      prio: 0,
      policy: 'drop',
    },
  },
  {
    chain: {
      family: 'inet',
      table: 'nftsentry',
      name: 'forward',
      handle: 3,
      type: 'filter',
      hook: 'forward',
      prio: 0,
      policy: 'drop',
    },
  },
];

export function facts(change: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    configPath: '/etc/nftsentry/nftsentry.yaml',
    config: parseConfigText('allowlist: [198.18.1.0/24]\nhome_networks: [198.18.1.0/24]\nservices: { tcp: [22] }'),
    rulesetText: 'table inet nftsentry { chain input { ct state established,related accept } }',
    nft: {
      version: '1.0.6',
      features: { timeouts: { ok: true }, dynamic_sets: { ok: true }, concatenations: { ok: true } },
      rulesetCheck: { ok: true },
      ruleset: OWN_TABLE,
    },
    proc: {
      tcpSyncookies: 1,
      conntrackMax: 262_144,
      conntrackBuckets: 262_144,
      conntrackCount: 120,
      conntrackAcct: 0,
      memTotalBytes: 8 * GB,
      kernelRelease: '6.1.0-28-amd64',
    },
    nftablesConf: { path: '/etc/nftables.conf', text: null },
    systemd: { booted: false, nftablesEnabled: null, unitActive: null, unitEnabled: null },
    sshConnection: undefined,
    interfaces: [interfaceAddress(parseIp('198.18.1.1')!, 24), interfaceAddress(parseIp('127.0.0.1')!, 8)],
    daemon: {
      kind: 'reachable',
      target: 'unix:/run/nftsentry/api.sock',
      status: {
        version: '0.1.0',
        uptimeSec: 60,
        rulesetApplied: true,
        sources: [{ name: 'unix_stream', type: 'unix_stream', connected: 1, lines: 10, lastLineMs: NOW - 5000 }],
        store: { degraded: false, pendingRows: 0, lastError: null, recoveredFrom: null },
      },
    },
    nowMs: NOW,
    ...change,
  };
}

/** The findings with this id. */
export const byId = (findings: readonly Finding[], id: string) => findings.filter((f) => f.id === id);

/** `id severity` of every finding that is not ok. */
export const notOk = (findings: readonly Finding[]) =>
  findings.filter((f) => f.severity !== 'ok').map((f) => `${f.id} ${f.severity}`);
