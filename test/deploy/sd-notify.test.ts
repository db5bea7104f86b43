/**
 * sd_notify over a real AF_UNIX datagram socket standing in for systemd's: a path socket and an
 * abstract one (`@name`), READY=1 / RELOADING=1 / STOPPING=1 / WATCHDOG=1 as they arrive, the
 * environment cleared for child processes, and a hostile NOTIFY_SOCKET ignored without a throw.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DgramSocket } from 'node-unix-socket';
import { afterEach, describe, expect, it } from 'vitest';
import { createSdNotifier, notifySocketPath, watchdogIntervalMs, type SdNotifier } from '../../src/cli/sd-notify.ts';
import { silentLogger } from '../../src/log.ts';
import { waitFor } from '../helpers.ts';

/** A bound datagram socket collecting every message, as systemd's notify socket does. */
function listener(path: string): { messages: string[]; close(): void } {
  const socket = new DgramSocket();
  const messages: string[] = [];
  socket.on('data', (buf: Buffer) => messages.push(buf.toString()));
  socket.bind(path);
  return { messages, close: () => socket.close() };
}

const open: Array<{ close(): void }> = [];
let dir: string | undefined;
afterEach(() => {
  for (const o of open.splice(0)) o.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function track<T extends { close(): void }>(o: T): T {
  open.push(o);
  return o;
}

describe('sd_notify', () => {
  it('sends READY=1, RELOADING=1 with MONOTONIC_USEC, READY=1, STOPPING=1 to a path socket, and clears the environment', async () => {
    dir = mkdtempSync(join(tmpdir(), 'nssd-notify-'));
    const path = join(dir, 'notify');
    const sys = track(listener(path));
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: path, PATH: '/usr/bin' };
    const n: SdNotifier = track(createSdNotifier(silentLogger(), env));
    expect(n.active).toBe(true);
    expect(env).toEqual({ PATH: '/usr/bin' });
    n.ready('running');
    await waitFor(async () => (sys.messages.length >= 1 ? true : undefined), 2000, 'READY=1');
    n.reloading();
    n.ready();
    n.stopping();
    await waitFor(async () => (sys.messages.length >= 4 ? true : undefined), 2000, 'four messages');
    expect(sys.messages[0]).toBe('READY=1\nSTATUS=running');
    expect(sys.messages[1]).toMatch(/^RELOADING=1\nMONOTONIC_USEC=\d+$/);
    const usec = BigInt(sys.messages[1]!.split('=').at(-1)!);
    expect(usec).toBeGreaterThan(0n);
    expect(usec).toBeLessThanOrEqual(process.hrtime.bigint() / 1000n);
    expect(sys.messages.slice(2)).toEqual(['READY=1', 'STOPPING=1']);
  });

  it('reaches an abstract socket (@name) and sends WATCHDOG=1 at half WATCHDOG_USEC', async () => {
    const name = `nssd-notify-${process.pid}-${Date.now()}`;
    const sys = track(listener(`\0${name}`));
    const n = track(
      createSdNotifier(silentLogger(), {
        NOTIFY_SOCKET: `@${name}`,
        WATCHDOG_USEC: '100000',
        WATCHDOG_PID: String(process.pid),
      }),
    );
    n.ready();
    await waitFor(
      async () => (sys.messages.filter((m) => m === 'WATCHDOG=1').length >= 2 ? true : undefined),
      3000,
      'two WATCHDOG=1',
    );
    expect(sys.messages).toContain('READY=1');
    n.close();
    n.ready();
  });

  it('does nothing without NOTIFY_SOCKET, and ignores a hostile one', () => {
    expect(createSdNotifier(silentLogger(), {}).active).toBe(false);
    for (const bad of ['relative/path', '@', `/${'x'.repeat(200)}`, '/a\0b', '']) {
      const n = createSdNotifier(silentLogger(), { NOTIFY_SOCKET: bad });
      expect(n.active).toBe(false);
      expect(() => n.ready()).not.toThrow();
    }
    expect(notifySocketPath('@sd')).toBe('\0sd');
    expect(notifySocketPath('/run/systemd/notify')).toBe('/run/systemd/notify');
  });

  it('a send to a socket nobody listens on is logged, not thrown', () => {
    const n = createSdNotifier(silentLogger(), { NOTIFY_SOCKET: '/nonexistent/nssd/notify' });
    expect(n.active).toBe(true);
    expect(() => {
      n.ready();
      n.stopping();
    }).not.toThrow();
    n.close();
  });

  it('watchdog interval: half of WATCHDOG_USEC, only for the PID it names', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 7)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 7)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '8' }, 7)).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: 'x' }, 7)).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '-5' }, 7)).toBeNull();
    expect(watchdogIntervalMs({}, 7)).toBeNull();
  });
});
