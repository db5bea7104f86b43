/**
 * src/nft/exec.ts, where every nft process starts: the host-namespace guard (before any process),
 * and the options one-shot commands and `nft -i` sessions share (namespace, nft path, timeout,
 * environment). A stand-in nft (a shell script that records its arguments and environment) runs
 * inside a namespace made for this file; the guard tests start nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netns } from '../../src/lab/netns.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { openNftSession } from '../../src/nft/session.ts';
import { REPO, runCli, waitFor, NODE_BIN, CLI } from '../helpers.ts';

let ns: Netns;
let dir: string;
const FULL = join(REPO, 'test/fixtures/full.yaml');

/** A stand-in nft: writes its arguments and environment to `<dir>/<name>.out`, then sleeps. */
function standIn(name: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n{ echo "args: $*"; env; } > "${path}.out"\nexec sleep 5\n`);
  chmodSync(path, 0o755);
  return path;
}
const recorded = (path: string) => readFileSync(`${path}.out`, 'utf8').split('\n');

beforeAll(async () => {
  ns = await Netns.create('exec');
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-exec-'));
});
afterAll(async () => {
  await ns?.delete();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the host-namespace guard', () => {
  it('refuses to run nft in this process own namespace: one-shot, script, session and read session', async () => {
    await expect(new NftRunner().run(['list', 'tables'])).rejects.toMatchObject({ code: 'E_HOST_NETNS' });
    await expect(new NftRunner().runScript('table inet nftsentry {}')).rejects.toMatchObject({ code: 'E_HOST_NETNS' });
    await expect(new NftRunner().openSession().run(['list tables'])).rejects.toMatchObject({ code: 'E_HOST_NETNS' });
    const reader = new NftRunner();
    reader.useReadSession(true);
    await expect(reader.json(['list', 'tables'])).rejects.toMatchObject({ code: 'E_HOST_NETNS' });
    reader.useReadSession(false);
  });

  it('refuses a namespace that does not exist, and a bad name', async () => {
    await expect(new NftRunner({ netns: 'nfs-does-not-exist' }).run(['list', 'tables'])).rejects.toMatchObject({
      code: 'E_NETNS_FAILED',
    });
    await expect(
      new NftRunner({ netns: 'nfs-does-not-exist' }).openSession().run(['list tables']),
    ).rejects.toMatchObject({ code: 'E_NETNS_FAILED' });
    expect(() => new NftRunner({ netns: '../../etc' })).toThrow(/invalid network namespace name/);
  });

  it('a process started inside a test namespace, with the guard on, may run nft there', async () => {
    const r = await ns.exec(NODE_BIN, [CLI, '-c', FULL, 'check']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it('the CLI refuses too when the test environment forbids the host namespace', async () => {
    const r = await runCli(['-c', FULL, 'apply']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('refusing to run nft in the host network namespace');
  });
});

describe('one-shot commands and sessions take the same options', () => {
  it("a one-shot command runs the runner's nft in its namespace, with LC_ALL=C, and times out after its timeout", async () => {
    const nftPath = standIn('oneshot');
    await expect(
      new NftRunner({ netns: ns.name, nftPath, timeoutMs: 300 }).run(['list', 'tables']),
    ).rejects.toMatchObject({ code: 'E_NFT_TIMEOUT' });
    const out = recorded(nftPath);
    expect(out).toContain('args: list tables');
    expect(out).toContain('LC_ALL=C');
  });

  it("a session opened from a runner runs the runner's nft (not `nft`), with HOME=/dev/null, and times out after the runner's timeout", async () => {
    const nftPath = standIn('session');
    const session = new NftRunner({ netns: ns.name, nftPath, timeoutMs: 300 }).openSession();
    await expect(session.run(['add element inet nftsentry ban4 { 198.18.0.1 }'])).rejects.toMatchObject({
      code: 'E_NFT_TIMEOUT',
    });
    expect(session.running).toBe(false);
    const out = recorded(nftPath);
    expect(out).toContain('args: -i');
    expect(out).toEqual(expect.arrayContaining(['LC_ALL=C', 'HOME=/dev/null']));
  });

  it("openNftSession takes the runner's options, and overrides of the nft path and timeout", async () => {
    const runnerPath = standIn('runner');
    const overridePath = standIn('override');
    const runner = new NftRunner({ netns: ns.name, nftPath: runnerPath, timeoutMs: 60_000 });
    const json = openNftSession(runner, { json: true, nftPath: overridePath, timeoutMs: 300 });
    await expect(json.list(['list', 'tables'])).rejects.toMatchObject({ code: 'E_NFT_TIMEOUT' });
    expect(recorded(overridePath)).toContain('args: -j -i');
    const plain = openNftSession(runner, { timeoutMs: 300 });
    await expect(plain.run(['list tables'])).rejects.toMatchObject({ code: 'E_NFT_TIMEOUT' });
    await waitFor(
      async () => (recorded(runnerPath)[0] === 'args: -i' ? true : undefined),
      2000,
      "the runner's nft to start",
    );
  });
});
