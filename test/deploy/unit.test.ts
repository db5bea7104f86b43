/**
 * The shipped unit (deploy/nftsentry.service) with the real systemd-analyze (no running systemd
 * needed): `verify` finds nothing to say, `security --offline=yes` rates it at most 2.5, and the
 * settings the boot order and the shipped defaults depend on are there. `verify` checks that the
 * ExecStart binary exists: the test runs it on a copy whose node path points to a temporary
 * executable.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers.ts';

const UNIT = join(REPO, 'deploy', 'nftsentry.service');
const NODE_PATH = '/opt/nftsentry/node_modules/.bin/node';
let dir: string;
let unitCopy: string;

/** `Key=value` lines of the unit, every value of a key that appears more than once. Pure. */
function unitSettings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
  }
  return out;
}

async function analyze(args: string[]) {
  const r = await execa('systemd-analyze', args, { reject: false, stdin: 'ignore', timeout: 60_000 });
  if (r.exitCode === undefined || (r.failed && /ENOENT/.test(r.message ?? ''))) {
    throw new Error('systemd-analyze is missing: scripts/setup.sh installs the systemd package');
  }
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nssd-unit-'));
  const fakeNode = join(dir, 'node');
  writeFileSync(fakeNode, '#!/bin/sh\nexit 0\n');
  chmodSync(fakeNode, 0o755);
  const text = readFileSync(UNIT, 'utf8');
  expect(text).toContain(NODE_PATH);
  unitCopy = join(dir, 'nftsentry.service');
  writeFileSync(unitCopy, text.replaceAll(NODE_PATH, fakeNode));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('deploy/nftsentry.service', () => {
  it('passes systemd-analyze verify without a word', async () => {
    const r = await analyze(['verify', unitCopy]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it('systemd-analyze security --offline=yes rates it at most 2.5', async () => {
    const r = await analyze(['security', '--offline=yes', '--no-pager', unitCopy]);
    const m = /Overall exposure level for nftsentry\.service: (\d+\.\d)/.exec(r.stdout);
    expect(m, r.stdout.slice(-400)).not.toBeNull();
    const score = Number(m![1]);
    process.stdout.write(`systemd-analyze security: ${score}\n`);
    expect(score).toBeLessThanOrEqual(2.5);
    // The same limit through systemd-analyze's own threshold (tenths): exit 0 at 25, 1 below the score.
    expect((await analyze(['security', '--offline=yes', '--threshold=25', unitCopy])).exitCode).toBe(0);
    const below = Math.round(score * 10) - 1;
    expect((await analyze(['security', '--offline=yes', `--threshold=${below}`, unitCopy])).exitCode).toBe(1);
  });

  it('loads the rules before the network, notifies readiness, and has what the defaults need', () => {
    const s = unitSettings(readFileSync(UNIT, 'utf8'));
    const words = (key: string) => (s.get(key) ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean);
    expect(words('Before')).toContain('network-pre.target');
    expect(words('Wants')).toContain('network-pre.target');
    expect(words('After')).not.toContain('network-pre.target');
    expect(words('After')).toContain('nftables.service');
    expect(words('Before')).toContain('suricata.service');
    expect(s.get('Type')).toEqual(['notify']);
    expect(s.get('NotifyAccess')).toEqual(['main']);
    expect(s.get('WatchdogSec')).toEqual(['30s']);
    // nft, api.worker_nice below 0, the eve socket's group.
    expect(words('CapabilityBoundingSet').sort()).toEqual(['CAP_CHOWN', 'CAP_NET_ADMIN', 'CAP_SYS_NICE']);
    // Suricata as user `suricata` must be able to traverse to its socket (the socket's mode decides).
    expect(s.get('RuntimeDirectoryMode')).toEqual(['0755']);
    expect(s.get('MemoryDenyWriteExecute')).toEqual(['no']);
    expect(words('ExecStart')).toContain('run');
  });
});
