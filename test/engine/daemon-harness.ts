/**
 * Runs `nftsentry run` as a real child process inside a test namespace, and the small tools the
 * daemon tests need: wait for a log message, send lines over the unix socket, poll with deadlines.
 */
import { statSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import type { ResultPromise } from 'execa';
import type { Netns } from '../../src/lab/netns.ts';
import { waitFor } from '../helpers.ts';

export interface Daemon {
  child: ResultPromise;
  pid: number;
  logs: Array<Record<string, unknown>>;
  waitForLog(msg: string, deadlineMs?: number, after?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ exitCode: number | undefined; signal: string | undefined }>;
  /** True once the process has exited. */
  readonly done: boolean;
}

/**
 * Polls `check` until it returns a value other than undefined/false, or throws at the deadline.
 * A check that throws is polled again (the daemon may not be up yet); the last error is reported.
 */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  deadlineMs = 10_000,
  everyMs = 20,
): Promise<T> {
  let last: unknown;
  const probe = async (): Promise<T | undefined> => {
    try {
      const v = await check();
      return v === undefined || v === false ? undefined : v;
    } catch (err) {
      last = err;
      return undefined;
    }
  };
  try {
    return await waitFor(probe, deadlineMs, what, everyMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}${last ? `: ${(last as Error).message}` : ''}`);
  }
}

/** `launcher`: a command that runs the daemon's command line (`setpriv --bounding-set ... --`). */
export function startDaemon(
  ns: Netns,
  configPath: string,
  extraArgs: string[] = [],
  extraEnv: Record<string, string> = {},
  launcher: readonly string[] = [],
): Daemon {
  const hostIno = String(statSync('/proc/self/ns/net').ino);
  const command = [...launcher, process.execPath, 'src/cli/main.ts', '-c', configPath, 'run', ...extraArgs];
  const child = ns.spawn(command[0]!, command.slice(1), {
    env: {
      NFTSENTRY_FORBID_HOST_NETNS: '1',
      NFTSENTRY_HOST_NETNS_INODE: hostIno,
      NFTSENTRY_LOG_LEVEL: process.env.HARNESS_LOG_LEVEL ?? 'info',
      ...extraEnv,
    },
    buffer: false,
    stdout: 'ignore',
    stderr: 'pipe',
  });
  const logs: Array<Record<string, unknown>> = [];
  let partial = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      try {
        logs.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        logs.push({ msg: l });
      }
    }
  });
  let done = false;
  const exited = child.then((r) => {
    done = true;
    return { exitCode: r.exitCode, signal: r.signal };
  });
  return {
    get done() {
      return done;
    },
    child,
    pid: child.pid!,
    logs,
    exited,
    waitForLog: (msg, deadlineMs = 15_000, after = 0) =>
      pollUntil(`log "${msg}"`, () => logs.slice(after).find((l) => l.msg === msg), deadlineMs),
  };
}

/** Sends lines over a unix_stream socket (the way Suricata does) and closes. */
export function sendLines(
  path: string,
  lines: readonly string[],
  options: { gapMs?: number; onSent?: (i: number) => void } = {},
): Promise<number> {
  return new Promise((resolve) => {
    const sock = connect({ path });
    let sent = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      sock.destroy();
      resolve(sent);
    };
    sock.on('error', finish);
    sock.on('close', finish);
    sock.on('connect', async () => {
      if (!options.gapMs) {
        sock.end(lines.map((l) => `${l}\n`).join(''), () => {
          sent = lines.length;
          finish();
        });
        return;
      }
      for (let i = 0; i < lines.length && !done; i++) {
        sock.write(`${lines[i]}\n`);
        sent = i + 1;
        options.onSent?.(i);
        await new Promise((r) => setTimeout(r, options.gapMs));
      }
      sock.end(() => finish());
    });
  });
}

export const SAMPLES = new URL('../../../shared/samples/', import.meta.url).pathname;

/** The alert lines of a sample file, as they are. */
export function alertLines(relPath: string): string[] {
  return readFileSync(`${SAMPLES}${relPath}`, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"event_type":"alert"'));
}

/** A real ET SCAN line (mauz88, "ET SCAN Potential SSH Scan", sid 2001219) from another source, optionally with another sid. */
export function etScanFrom(ip: string, sid?: number): string {
  etScanTemplate ??= alertLines('mauz88__Suricata_Detection/eve.json').find((l) =>
    l.includes('ET SCAN Potential SSH Scan'),
  )!;
  const line = etScanTemplate.replace('"src_ip":"85.255.233.2"', `"src_ip":"${ip}"`);
  return sid ? line.replace('"signature_id":2001219', `"signature_id":${sid}`) : line;
}
let etScanTemplate: string | undefined;

/** One request to the daemon's API over its unix socket, with the bearer token: the status and the body's text. */
export function apiRequest(
  socketPath: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const req = request({ socketPath, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
