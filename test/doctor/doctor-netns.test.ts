/**
 * `nftsentry doctor` against the real thing: nft, the kernel's sysctls and a running daemon in a
 * network namespace made here (`nsdoc-<pid>-gw`). A deliberately wrong setup (SYN cookies off, a
 * tiny conntrack max, a second table with policy drop on input, an empty allowlist over SSH)
 * gives each problem with its fix and exit 2; the same machine set right passes.
 *
 * nf_conntrack_max is read-only inside a namespace: doctor reads it through a file bind-mounted
 * over it in its own mount namespace (`unshare -m`), as an admin's container runtime would.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type Options } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/doctor/doctor-facts.ts';
import { readProcFacts } from '../../src/doctor/host-facts.ts';
import type { Netns } from '../../src/lab/netns.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { type Daemon, pollUntil, startDaemon } from '../engine/daemon-harness.ts';
import { REPO, runCli } from '../helpers.ts';

const NS = `nsdoc-${process.pid}-gw`;
const SSH = '198.18.1.2 50022 198.18.1.1 22';
/** Warnings that depend on the machine running the test, not on the setup it makes. */
const HOST_DEPENDENT = new Set([
  'daemon.systemd',
  'nftables.flush_ruleset',
  'conntrack.max',
  'conntrack.buckets',
  'nft.version',
]);

let dir: string;
let nft: NftRunner;
let daemon: Daemon | null = null;
let client: Socket | null = null;
const children = new Set<ReturnType<typeof execa>>();

const inNs = (cmd: string, args: string[]) =>
  execa('ip', ['netns', 'exec', NS, cmd, ...args], { stdin: 'ignore', timeout: 30_000 });

/** What startDaemon needs of a Netns: starting a process inside, killed by PID at the end. */
const nsHandle = {
  name: NS,
  spawn(cmd: string, args: readonly string[], options: Options = {}) {
    const child = execa('ip', ['netns', 'exec', NS, cmd, ...args], { reject: false, stdin: 'ignore', ...options });
    children.add(child);
    return child;
  },
} as unknown as Netns;

function writeConfig(name: string, allowlist: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `allowlist: [${allowlist}]
home_networks: [198.18.1.0/24]
services: { tcp: [22] }
api: { socket: { path: ${dir}/api.sock }, token_file: ${dir}/api.token }
store: { path: ${dir}/state.db }
sources: { inputs: [ { type: unix_stream, path: ${dir}/eve.sock } ] }
`,
  );
  return path;
}

/**
 * Runs `doctor --json` inside the namespace as root's CLI would, with SSH_CONNECTION set;
 * `conntrackMax` is bind-mounted over nf_conntrack_max in the doctor's own mount namespace.
 */
async function doctorRun(config: string, conntrackMax?: number, json = true) {
  const cli = [
    process.execPath,
    join(REPO, 'src/cli/main.ts'),
    '-c',
    config,
    'doctor',
    ...(json ? ['--json'] : []),
    '--nftables-conf',
    join(dir, 'nftables.conf'),
  ];
  let argv = cli;
  if (conntrackMax !== undefined) {
    const file = join(dir, 'nf_conntrack_max');
    writeFileSync(file, `${conntrackMax}\n`);
    argv = [
      'unshare',
      '-m',
      'sh',
      '-c',
      'mount --bind "$1" "$2" && shift 2 && exec "$@"',
      'sh',
      file,
      '/proc/sys/net/netfilter/nf_conntrack_max',
      ...cli,
    ];
  }
  return execa('ip', ['netns', 'exec', NS, ...argv], {
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
    cwd: REPO,
    env: {
      NFTSENTRY_FORBID_HOST_NETNS: '1',
      NFTSENTRY_HOST_NETNS_INODE: String(statSync('/proc/self/ns/net').ino),
      NFTSENTRY_LOG_LEVEL: 'silent',
      SSH_CONNECTION: SSH,
    },
  });
}

async function doctor(config: string, conntrackMax?: number): Promise<{ exitCode: number; findings: Finding[] }> {
  const r = await doctorRun(config, conntrackMax);
  let findings: Finding[];
  try {
    findings = JSON.parse(String(r.stdout)) as Finding[];
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.exitCode}): ${String(r.stdout)} ${String(r.stderr)}`);
  }
  return { exitCode: r.exitCode ?? -1, findings };
}

const find = (findings: Finding[], id: string) => {
  const f = findings.find((x) => x.id === id);
  if (!f) throw new Error(`no finding ${id} in ${findings.map((x) => x.id).join(', ')}`);
  return f;
};
const explain = (findings: Finding[]) =>
  findings
    .filter((f) => f.severity !== 'ok')
    .map((f) => `${f.severity} ${f.id}: ${f.message}\n    fix: ${f.fix}`)
    .join('\n');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nsdoc-'));
  await execa('ip', ['netns', 'add', NS]);
  await inNs('ip', ['link', 'set', 'lo', 'up']);
  // One interface on the home network (a veth pair inside the namespace: nothing leaves it).
  await inNs('ip', ['link', 'add', 'nsdoc0', 'type', 'veth', 'peer', 'name', 'nsdoc1']);
  await inNs('ip', ['addr', 'add', '198.18.1.1/24', 'dev', 'nsdoc0']);
  await inNs('ip', ['link', 'set', 'nsdoc0', 'up']);
  await inNs('ip', ['link', 'set', 'nsdoc1', 'up']);
  writeFileSync(join(dir, 'nftables.conf'), '#!/usr/sbin/nft -f\nflush ruleset\ntable inet filter {\n}\n');
  nft = new NftRunner({ netns: NS });
  daemon = startDaemon(nsHandle, writeConfig('good.yaml', '198.18.1.0/24'));
  await daemon.waitForLog('nftsentry running', 30_000);
  // An IDS connected to the EVE socket that has sent one line, and stays connected.
  client = connect({ path: join(dir, 'eve.sock') });
  client.on('error', () => undefined);
  client.write('{"event_type":"stats","timestamp":"2026-12-03T00:00:00.000000+0000"}\n');
});

afterAll(async () => {
  client?.destroy();
  if (daemon && !daemon.done) {
    process.kill(daemon.pid, 'SIGTERM');
    await Promise.race([daemon.exited, new Promise((r) => setTimeout(r, 5000))]);
    if (!daemon.done) process.kill(daemon.pid, 'SIGKILL');
  }
  for (const c of children) c.kill('SIGKILL');
  await execa('ip', ['netns', 'delete', NS], { reject: false });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('nftsentry doctor in a namespace', () => {
  it("reads the namespace's own sysctls: SYN cookies off there, whatever the host has", async () => {
    await inNs('sysctl', ['-qw', 'net.ipv4.tcp_syncookies=0']);
    expect((await readProcFacts({ procRoot: '/proc', netns: NS })).tcpSyncookies).toBe(0);
    await inNs('sysctl', ['-qw', 'net.ipv4.tcp_syncookies=1']);
    expect((await readProcFacts({ procRoot: '/proc', netns: NS })).tcpSyncookies).toBe(1);
  });

  it('a wrong setup: each mistake found with its fix, exit 2', async () => {
    await inNs('sysctl', ['-qw', 'net.ipv4.tcp_syncookies=0']);
    await nft.runScript(
      'table inet nsdoc_other {\n  chain input {\n    type filter hook input priority 10; policy drop;\n  }\n}\n',
    );
    const { exitCode, findings } = await doctor(writeConfig('bad.yaml', ''), 64);
    const summary = (id: string) => {
      const f = find(findings, id);
      return { id: f.id, severity: f.severity, fix: f.fix };
    };
    expect(exitCode, explain(findings)).toBe(2);
    expect(summary('sysctl.tcp_syncookies')).toEqual({
      id: 'sysctl.tcp_syncookies',
      severity: 'problem',
      fix: "sysctl -w net.ipv4.tcp_syncookies=1 && echo 'net.ipv4.tcp_syncookies = 1' >> /etc/sysctl.d/90-nftsentry.conf",
    });
    expect(summary('conntrack.max')).toMatchObject({
      severity: 'problem',
      fix: expect.stringMatching(/^sysctl -w net\.netfilter\.nf_conntrack_max=\d+ /),
    });
    expect(find(findings, 'conntrack.max').message).toMatch(/^nf_conntrack_max is 64: .*table full, dropping packet/);
    expect(summary('tables.foreign_drop_policy')).toEqual({
      id: 'tables.foreign_drop_policy',
      severity: 'problem',
      fix: "nft chain inet nsdoc_other input '{ policy accept; }'  # or accept nftsentry's services there too; nft delete table inet nsdoc_other if nothing needs it",
    });
    expect(find(findings, 'tables.foreign_drop_policy').message).toMatch(
      /^table inet nsdoc_other chain input on hook input, priority 10 has policy drop: .* runs after nftsentry's input chain/,
    );
    expect(summary('config.allowlist')).toEqual({
      id: 'config.allowlist',
      severity: 'problem',
      fix: `add "allowlist: [198.18.1.2]" to ${join(dir, 'bad.yaml')}, then nftsentry -c ${join(dir, 'bad.yaml')} apply  # at once, without a reload: nftsentry allow 198.18.1.2`,
    });
    // Nothing else is a problem: the rest of this machine is fine.
    expect(
      findings
        .filter((f) => f.severity === 'problem')
        .map((f) => f.id)
        .sort(),
    ).toEqual(['config.allowlist', 'conntrack.max', 'sysctl.tcp_syncookies', 'tables.foreign_drop_policy']);
  });

  it("from outside, with --netns: nft, the interfaces and /proc/sys/net are the namespace's", async () => {
    const r = await runCli(
      ['-c', join(dir, 'good.yaml'), '--netns', NS, '--json', 'doctor', '--nftables-conf', join(dir, 'none')],
      {
        env: { NFTSENTRY_HOST_NETNS_INODE: String(statSync('/proc/self/ns/net').ino) },
      },
    );
    const findings = JSON.parse(r.stdout) as Finding[];
    // Still set wrong in the namespace by the test before: syncookies 0 and the other table's drop policy.
    expect(find(findings, 'sysctl.tcp_syncookies').severity).toBe('problem');
    expect(find(findings, 'tables.foreign_drop_policy').message).toContain('table inet nsdoc_other chain input');
    expect(find(findings, 'tables.nftsentry').severity).toBe('ok');
    expect(find(findings, 'nft.ruleset_check').severity).toBe('ok');
    expect(find(findings, 'config.home_networks').severity).toBe('ok');
    expect(r.exitCode).toBe(2);
  });

  it("the same machine set right (the other table's policy changed by its fix) passes", async () => {
    await inNs('sysctl', ['-qw', 'net.ipv4.tcp_syncookies=1']);
    // The nft part of the fix doctor gave, run as it reads.
    await nft.run(['chain', 'inet', 'nsdoc_other', 'input', '{ policy accept; }']);
    // The daemon saw the line sent at start.
    await pollUntil(
      'the source reports its line',
      async () => {
        const { findings } = await doctor(join(dir, 'good.yaml'));
        return find(findings, 'daemon.source').severity === 'ok';
      },
      20_000,
      200,
    );
    const { exitCode, findings } = await doctor(join(dir, 'good.yaml'));
    const unexpected = findings.filter(
      (f) => f.severity === 'problem' || (f.severity === 'warning' && !HOST_DEPENDENT.has(f.id)),
    );
    expect(unexpected, explain(findings)).toEqual([]);
    expect(exitCode, explain(findings)).toBe(findings.some((f) => f.severity === 'warning') ? 1 : 0);
    if (exitCode !== 0)
      process.stdout.write(`doctor: warnings from this machine, not the setup:\n${explain(findings)}\n`);
    for (const id of [
      'nft.feature.timeouts',
      'nft.feature.dynamic_sets',
      'nft.feature.concatenations',
      'nft.ruleset_check',
      'sysctl.tcp_syncookies',
      'tables.nftsentry',
      'tables.foreign',
      'config.allowlist',
      'config.ssh_client',
      'config.home_networks',
      'daemon.api',
      'daemon.ruleset',
      'daemon.source',
      'daemon.store',
    ]) {
      expect(find(findings, id).severity, id).toBe('ok');
    }
    expect(find(findings, 'tables.foreign').message).toContain(
      "inet nsdoc_other input (filter, input 10: after nftsentry's)",
    );
    // For people: one line per finding, ✓ for each ok one.
    const text = await doctorRun(join(dir, 'good.yaml'), undefined, false);
    process.stdout.write(`${text.stdout}\n`);
    expect(text.exitCode).toBe(exitCode);
    const marks = String(text.stdout)
      .split('\n')
      .filter((l) => /^[✓!✗] /.test(l));
    expect(marks).toHaveLength(findings.length);
    expect(marks.filter((l) => l.startsWith('✓ ')).length).toBe(findings.filter((f) => f.severity === 'ok').length);
    expect(find(findings, 'daemon.source').message).toMatch(
      /^source unix_stream \(unix_stream\): 1 connected, 1 lines, last line \d+ s ago$/,
    );
  });
});
