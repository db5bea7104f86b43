/**
 * The lab's processes: the real service in the gateway and the steady client, started inside their
 * namespaces and waited for on their own signal lines (never a bare sleep).
 */
import { fileURLToPath } from 'node:url';
import type { ResultPromise } from 'execa';
import { NftsentryError, ErrorCodes } from '../errors.ts';
import type { Netns } from './netns.ts';
import { NODE_BIN } from './node-bin.ts';

const SERVICE = fileURLToPath(new URL('./service.ts', import.meta.url));
const CLIENT = fileURLToPath(new URL('./lab-client.ts', import.meta.url));

export interface ClientResult {
  ok: number;
  fail: number;
  errors: Record<string, number>;
  firstOkMs: number;
}

/** Resolves when the child prints a line matching `pattern`; rejects on exit or deadline. */
export function waitForLine(child: ResultPromise, pattern: RegExp, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => done(new NftsentryError(ErrorCodes.INTERNAL, `${what}: no "${pattern.source}" within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      buf += chunk.toString();
      const line = buf.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) done(null, line);
    };
    const onExit = () =>
      done(new NftsentryError(ErrorCodes.INTERNAL, `${what} exited before printing "${pattern.source}"`));
    function done(err: Error | null, line?: string) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(line!);
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** One HTTP GET from inside `ns`: true when it answered 200 within `timeoutMs`. */
export async function httpReaches(ns: Netns, url: string, timeoutMs = 1000): Promise<boolean> {
  const script = `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(${timeoutMs}) }).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
  const r = await ns.exec(NODE_BIN, ['-e', script], { timeoutMs: timeoutMs + 10_000 });
  return r.exitCode === 0;
}

export interface Service {
  child: ResultPromise;
  stop(): Promise<void>;
}

export async function startService(gw: Netns, port = 80): Promise<Service> {
  const child = gw.spawn(NODE_BIN, [SERVICE, String(port)]);
  await waitForLine(child, /^listening /, 10_000, 'lab service');
  return {
    child,
    async stop() {
      child.kill('SIGTERM');
      await child;
    },
  };
}

export interface Client {
  child: ResultPromise;
  /** Stops the client (SIGTERM) and returns its counts. */
  stop(): Promise<ClientResult>;
}

/** Starts the steady client; resolves once its first request succeeded. */
export async function startClient(
  ns: Netns,
  urls: string[],
  intervalMs = 50,
  maxDurationMs = 300_000,
): Promise<Client> {
  const child = ns.spawn(NODE_BIN, [CLIENT, urls.join(','), String(intervalMs), String(maxDurationMs)], {
    buffer: true,
  });
  await waitForLine(child, /^first-ok$/, 10_000, 'lab client');
  return {
    child,
    async stop() {
      child.kill('SIGTERM');
      const r = await child;
      const last = String(r.stdout).trim().split('\n').pop() ?? '';
      try {
        return JSON.parse(last) as ClientResult;
      } catch {
        throw new NftsentryError(
          ErrorCodes.INTERNAL,
          `lab client printed no result (exit ${r.exitCode}): ${String(r.stderr).slice(0, 500)}`,
        );
      }
    },
  };
}
