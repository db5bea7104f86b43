/**
 * sd_notify(3) for `Type=notify`: datagrams to the AF_UNIX socket systemd names in NOTIFY_SOCKET
 * (a path, or `@name` for the abstract namespace), sent through node-unix-socket's DgramSocket
 * (Node has no AF_UNIX datagrams). Without NOTIFY_SOCKET (not started by systemd) every call does
 * nothing. The variable is removed from the environment once read, so that the processes the
 * daemon starts (nft, ip) do not inherit it.
 *
 * Messages: READY=1 once the ruleset is applied and the sockets are bound; RELOADING=1 (with
 * MONOTONIC_USEC, which systemd 253's `Type=notify-reload` requires) and READY=1 around a
 * reload; STOPPING=1 when a stop begins; WATCHDOG=1 every half WATCHDOG_USEC while the event
 * loop turns (systemd restarts the service when it stops coming).
 */
import { DgramSocket } from 'node-unix-socket';
import type { Logger } from '../log.ts';

export interface SdNotifier {
  /** True when systemd listens (NOTIFY_SOCKET was set and valid). */
  readonly active: boolean;
  ready(status?: string): void;
  reloading(): void;
  stopping(): void;
  /** Stops the watchdog and closes the socket. */
  close(): void;
}

/** The sockaddr path NOTIFY_SOCKET names (`@x` -> `\0x`), or null when it is not one. Pure. */
export function notifySocketPath(value: string | undefined): string | null {
  if (!value) return null;
  if (Buffer.byteLength(value) > 107 || value.includes('\0')) return null;
  if (value.startsWith('@') && value.length > 1) return `\0${value.slice(1)}`;
  if (value.startsWith('/')) return value;
  return null;
}

/**
 * The watchdog interval systemd asked for, halved (sd_watchdog_enabled(3): send at least twice per
 * interval), in ms; null when none applies to this process. Pure.
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isSafeInteger(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}

/** CLOCK_MONOTONIC in µs (libuv's hrtime reads it), as RELOADING=1 wants it. */
function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

const INACTIVE: SdNotifier = {
  active: false,
  ready: () => undefined,
  reloading: () => undefined,
  stopping: () => undefined,
  close: () => undefined,
};

/** Reads (and removes) NOTIFY_SOCKET and WATCHDOG_* from `env`; starts the watchdog when asked. */
export function createSdNotifier(log: Logger, env: NodeJS.ProcessEnv = process.env): SdNotifier {
  const raw = env.NOTIFY_SOCKET;
  const path = notifySocketPath(raw);
  const watchdogMs = watchdogIntervalMs(env, process.pid);
  delete env.NOTIFY_SOCKET;
  delete env.WATCHDOG_USEC;
  delete env.WATCHDOG_PID;
  if (raw === undefined) return INACTIVE;
  if (path === null) {
    log.warn({ notifySocket: raw.slice(0, 120) }, 'NOTIFY_SOCKET is not an absolute path or @name; not notifying');
    return INACTIVE;
  }
  const socket = new DgramSocket();
  let closed = false;
  const send = (text: string) => {
    if (closed) return;
    const buf = Buffer.from(text);
    try {
      socket.sendTo(buf, 0, buf.length, path, (err) => {
        if (err) log.warn({ err: err.message, message: text.split('\n')[0] }, 'sd_notify: send failed');
      });
    } catch (err) {
      log.warn({ err: (err as Error).message, message: text.split('\n')[0] }, 'sd_notify: send failed');
    }
  };
  socket.on('error', (err: Error) => log.warn({ err: err.message }, 'sd_notify: socket error'));
  const watchdog = watchdogMs === null ? null : setInterval(() => send('WATCHDOG=1'), watchdogMs);
  watchdog?.unref();
  return {
    active: true,
    ready: (status) => send(status ? `READY=1\nSTATUS=${status.replace(/\n/g, ' ')}` : 'READY=1'),
    reloading: () => send(`RELOADING=1\nMONOTONIC_USEC=${monotonicUsec()}`),
    stopping: () => send('STOPPING=1'),
    close() {
      if (closed) return;
      closed = true;
      if (watchdog) clearInterval(watchdog);
      socket.close();
    },
  };
}
