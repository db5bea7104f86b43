/** Helpers shared by tests: paths, running the CLI as a real child process, polling with deadlines. */
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { NODE_BIN } from '../src/lab/node-bin.ts';

export { NODE_BIN };

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const SAMPLES = join(REPO, '..', 'shared', 'samples');
export const CLI = join(REPO, 'src', 'cli', 'main.ts');

export async function runCli(args: string[], options: { env?: Record<string, string> } = {}) {
  const r = await execa(NODE_BIN, [CLI, ...args], {
    reject: false,
    stdin: 'ignore',
    env: { NFTSENTRY_FORBID_HOST_NETNS: '1', NFTSENTRY_LOG_LEVEL: 'silent', ...options.env },
    timeout: 60_000,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Polls `probe` until it returns a non-undefined value or the deadline passes (then throws). */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  everyMs = 20,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
