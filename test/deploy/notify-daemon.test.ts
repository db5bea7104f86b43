/**
 * `nftsentry run` under a stand-in for systemd's notify socket (a real AF_UNIX datagram socket,
 * NOTIFY_SOCKET pointing at it), in a test namespace: READY=1 comes once the table is loaded and
 * the eve and API sockets are bound (checked at the moment the datagram arrives), a SIGHUP is
 * framed by RELOADING=1 and READY=1, and SIGTERM sends STOPPING=1 before a clean exit.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DgramSocket } from 'node-unix-socket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netns } from '../../src/lab/netns.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { readTableShape } from '../../src/nft/table-shape.ts';
import { pollUntil, startDaemon, type Daemon } from '../engine/daemon-harness.ts';

let ns: Netns;
let dir: string;
let notify: DgramSocket;
let daemon: Daemon | undefined;
/** Each datagram, with what existed the moment it arrived. */
const received: Array<{ text: string; eveSocket: boolean; apiSocket: boolean }> = [];

beforeAll(async () => {
  ns = await Netns.create('notify');
  dir = mkdtempSync(join(tmpdir(), 'nssd-notify-daemon-'));
  notify = new DgramSocket();
  notify.on('data', (buf: Buffer) =>
    received.push({
      text: buf.toString(),
      eveSocket: existsSync(join(dir, 'eve.sock')),
      apiSocket: existsSync(join(dir, 'api.sock')),
    }),
  );
  notify.bind(join(dir, 'notify'));
});
afterAll(async () => {
  if (daemon && !daemon.done) daemon.child.kill('SIGKILL');
  notify?.close();
  await ns?.delete();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const texts = () => received.map((r) => r.text.split('\n')[0]);

describe('run with NOTIFY_SOCKET', () => {
  it('READY=1 after the apply and the binds; RELOADING=1 then READY=1 on SIGHUP; STOPPING=1 on SIGTERM', async () => {
    const cfg = join(dir, 'nftsentry.yaml');
    writeFileSync(
      cfg,
      `store: { path: ${dir}/state.db }
sources: { inputs: [ { type: unix_stream, path: ${dir}/eve.sock } ] }
api: { socket: { path: ${dir}/api.sock }, token_file: ${dir}/api.token }
`,
    );
    daemon = startDaemon(ns, cfg, [], { NOTIFY_SOCKET: join(dir, 'notify') });
    const ready = await pollUntil('READY=1', () => received.find((r) => r.text.startsWith('READY=1')), 30_000);
    expect(ready).toEqual({ text: 'READY=1\nSTATUS=running', eveSocket: true, apiSocket: true });
    expect(texts()).toEqual(['READY=1']);
    // The table is there (READY=1 comes after daemon.start(), which applies it).
    expect((await readTableShape(new NftRunner({ netns: ns.name }), false))?.chains.has('input')).toBe(true);

    daemon.child.kill('SIGHUP');
    await pollUntil('READY=1 after the reload', () => (texts().length >= 3 ? true : undefined), 20_000);
    expect(texts()).toEqual(['READY=1', 'RELOADING=1', 'READY=1']);
    expect(received[1]!.text).toMatch(/^RELOADING=1\nMONOTONIC_USEC=\d+$/);
    await daemon.waitForLog('SIGHUP: config applied');

    daemon.child.kill('SIGTERM');
    const exit = await daemon.exited;
    expect(exit.exitCode).toBe(0);
    expect(texts()).toEqual(['READY=1', 'RELOADING=1', 'READY=1', 'STOPPING=1']);
  });
});
