/**
 * The README's main command, `nftsentry lab`, run for real as a child process: once to the end
 * (it must pass and leave nothing behind), once interrupted in the middle (it must still remove
 * every namespace it made).
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { NODE_BIN, CLI, waitFor } from '../helpers.ts';

async function namespacesOf(pid: number): Promise<string[]> {
  const r = await execa('ip', ['netns', 'list'], { reject: false });
  return String(r.stdout)
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`nfs-${pid}-`));
}

describe('nftsentry lab', () => {
  it('runs to the end, passes, and removes its namespaces', async () => {
    const child = execa(NODE_BIN, [CLI, '--json', 'lab'], {
      reject: false,
      stdin: 'ignore',
      env: { NFTSENTRY_LOG_LEVEL: 'silent' },
      timeout: 120_000,
    });
    const r = await child;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const report = JSON.parse(String(r.stdout).trim().split('\n').pop()!);
    expect(report.problems).toEqual([]);
    expect(report.client.fail).toBe(0);
    expect(report.sets.scanners4.map((e: { address: string }) => e.address)).toEqual(['198.18.0.2']);
    expect(report.sets.scanners6.map((e: { address: string }) => e.address)).toEqual(['2001:db8::2']);
    expect(report.counters.drop_flags_null).toBeGreaterThanOrEqual(2000);
    expect(await namespacesOf(child.pid!)).toEqual([]);
  }, 150_000);

  it('removes everything it made when interrupted (SIGINT) in the middle', async () => {
    const child = execa(NODE_BIN, [CLI, 'lab'], {
      reject: false,
      stdin: 'ignore',
      env: { NFTSENTRY_LOG_LEVEL: 'silent' },
      timeout: 60_000,
    });
    await waitFor(
      async () => ((await namespacesOf(child.pid!)).length >= 3 ? true : undefined),
      20_000,
      'the lab namespaces',
      50,
    );
    child.kill('SIGINT');
    const r = await child;
    expect(
      r.exitCode,
      `signal ${r.signal} stdout ${String(r.stdout).slice(-300)} stderr ${String(r.stderr).slice(-300)}`,
    ).toBe(130);
    expect(await namespacesOf(child.pid!)).toEqual([]);
  }, 90_000);
});
