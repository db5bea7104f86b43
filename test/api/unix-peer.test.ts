/** The pure parts of the unix peer lookup (src/net/unix-peer.ts), and its bounded queue. */
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { peerPidFromSs, realUidFromStatus, UnixPeers } from '../../src/net/unix-peer.ts';

const SS = [
  'u_str ESTAB 0      0      /run/nftsentry/api.sock 1854788 * 1854787 users:(("node",pid=100,fd=21))',
  'u_str ESTAB 0      0                   * 1854787 * 1854788 users:(("curl",pid=4242,fd=4),("sh",pid=4241,fd=4))',
  'u_str LISTEN 0 511 /run/nftsentry/eve.sock 777 * 0 users:(("node",pid=100,fd=19))',
].join('\n');

describe('peerPidFromSs', () => {
  it("finds the process holding the socket whose peer is our end's inode", () => {
    expect(peerPidFromSs(SS, 1854788)).toBe(4242);
    expect(peerPidFromSs(SS, 1854787)).toBe(100);
  });
  it('answers null for an inode no socket is connected to, and for garbage', () => {
    expect(peerPidFromSs(SS, 777)).toBeNull();
    expect(peerPidFromSs(SS, 0)).toBeNull();
    expect(peerPidFromSs('users:(("x",pid=1,fd=1))\n\n\u0000', 1)).toBeNull();
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
