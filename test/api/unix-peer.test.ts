/** The pure parts of the unix peer lookup (src/net/unix-peer.ts), and its bounded queue. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peerInodeFromSs, realUidFromStatus, SsCoprocess, UnixPeers } from '../../src/net/unix-peer.ts';

const SS = [
  'u_str ESTAB 0      0      /run/nftsentry/api.sock 1854788 * 1854787',
  'u_str ESTAB 0      0                   * 1854787 * 1854788',
  'u_str LISTEN 0 511 /run/nftsentry/eve.sock 777 * 0',
].join('\n');

describe('peerInodeFromSs', () => {
  it("finds the inode of our end's peer", () => {
    expect(peerInodeFromSs(SS, 1854788)).toBe(1854787);
    expect(peerInodeFromSs(SS, 1854787)).toBe(1854788);
  });
  it('answers null for a listener (peer 0), an unknown inode, and garbage', () => {
    expect(peerInodeFromSs(SS, 777)).toBeNull();
    expect(peerInodeFromSs(SS, 0)).toBeNull();
    expect(peerInodeFromSs(SS, 5)).toBeNull();
    expect(peerInodeFromSs('u_str ESTAB x\n\n\u0000', 1)).toBeNull();
  });
});

describe('realUidFromStatus', () => {
  it('reads the real uid, not the effective one', () => {
    expect(realUidFromStatus('Name:\tcurl\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n')).toBe(1000);
    expect(realUidFromStatus('Name:\tx\n')).toBeNull();
  });
});

describe('UnixPeers', () => {
  it('looks up one connection once, runs one lookup at a time, and answers null beyond 8 waiting', async () => {
    let running = 0;
    let most = 0;
    let calls = 0;
    const release: Array<() => void> = [];
    const peers = new UnixPeers(async () => {
      calls++;
      running++;
      most = Math.max(most, running);
      await new Promise<void>((r) => release.push(r));
      running--;
      return 7;
    });
    const sockets = Array.from({ length: 10 }, () => ({}) as Socket);
    const first = peers.uid(sockets[0]!);
    expect(peers.uid(sockets[0]!)).toBe(first);
    const rest = sockets.slice(1).map((s) => peers.uid(s));
    // 8 waiting at most: the 9th and 10th connections are told at once that the peer cannot be told.
    expect(await rest[7]).toBeNull();
    expect(await rest[8]).toBeNull();
    while (calls < 8 || release.length > 0) {
      await new Promise((r) => setImmediate(r));
      release.shift()?.();
    }
    expect(await first).toBe(7);
    expect(await Promise.all(rest.slice(0, 7))).toEqual([7, 7, 7, 7, 7, 7, 7]);
    expect(most).toBe(1);
    expect(calls).toBe(8);
  });

  it('a failed lookup answers null', async () => {
    const peers = new UnixPeers(() => Promise.reject(new Error('no ss')));
    expect(await peers.uid({} as Socket)).toBeNull();
  });
});

describe('SsCoprocess', () => {
  it('runs the lister once per call in one long-lived shell, and gives each call its whole output', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nftsentry-ss-'));
    try {
      // A lister whose output differs each run: it counts its runs in a file.
      const script = join(dir, 'lister.sh');
      writeFileSync(
        script,
        `n=$(cat ${dir}/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${dir}/n; seq 1 $((n*1000))\n`,
      );
      const ss = new SsCoprocess(['/bin/sh', script]);
      for (let n = 1; n <= 3; n++) {
        const lines = (await ss.run()).split('\n').filter(Boolean);
        expect(lines.length).toBe(n * 1000);
        expect(lines.at(-1)).toBe(String(n * 1000));
      }
      expect(ss.starts).toBe(1);
      ss.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a lister that hangs fails its call, and the next call starts a new shell (not sooner than restartMs)', async () => {
    const ss = new SsCoprocess(['sleep', '30'], { timeoutMs: 200, restartMs: 0 });
    await expect(ss.run()).rejects.toThrow(/no answer in 200 ms/);
    await expect(ss.run()).rejects.toThrow(/no answer/);
    expect(ss.starts).toBe(2);
    ss.close();
    const slow = new SsCoprocess(['sleep', '30'], { timeoutMs: 200, restartMs: 60_000 });
    await expect(slow.run()).rejects.toThrow(/no answer/);
    await expect(slow.run()).rejects.toThrow(/not running/);
    expect(slow.starts).toBe(1);
  });

  it('a missing lister gives an empty listing (no peer found), not a crash', async () => {
    const ss = new SsCoprocess(['/nonexistent/ss']);
    expect(await ss.run()).toBe('');
    ss.close();
  });
});
