/**
 * The only place in src/ that starts a process for nft: one-shot (`nft ARGS...`, through execa)
 * and the long-lived co-process of an `nft -i` session (session.ts). Both take the same options:
 *
 * - With `netns`, nft runs as `ip netns exec NETNS nft ...`.
 * - With `forbidHostNetns` (set by the test setup and the lab), running nft in the host's own
 *   network namespace is refused before any process starts (netns-guard.ts).
 * - LC_ALL=C, so the messages classified below are nft's English ones.
 * - Failures are classified once, from nft's stderr, into stable error codes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { NftsentryError, ErrorCodes, type ErrorCode } from '../errors.ts';
import type { NftResult } from './nft.ts';
import { assertNotHostNetns, hostNetnsForbiddenByEnv } from './netns-guard.ts';
import type { NftProcesses } from './processes.ts';

export interface NftExecOptions {
  /** Run inside this named network namespace (`ip netns exec`). */
  netns?: string | undefined;
  /** The nft binary; `nft` (found through PATH) by default. */
  nftPath?: string;
  /** How long one nft command (or one transaction of a session) may take; 30 s by default. */
  timeoutMs?: number;
  /** Refuse to run nft in the host's (PID 1's) network namespace; from the environment by default. */
  forbidHostNetns?: boolean;
  /** Where every process started is registered (so that `nft monitor` knows its own); none by default. */
  processes?: NftProcesses | undefined;
}

/** NftExecOptions with every default filled in, validated. */
export interface NftExecConfig {
  readonly netns: string | undefined;
  readonly nftPath: string;
  readonly timeoutMs: number;
  readonly forbidHostNetns: boolean;
  readonly processes: NftProcesses | undefined;
}

const NETNS_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Fills in the defaults; an invalid namespace name throws E_NETNS_FAILED. */
export function nftExecConfig(options: NftExecOptions = {}): NftExecConfig {
  if (options.netns !== undefined && !NETNS_NAME.test(options.netns)) {
    throw new NftsentryError(ErrorCodes.NETNS_FAILED, `invalid network namespace name "${options.netns}"`);
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!(timeoutMs > 0)) throw new NftsentryError(ErrorCodes.INTERNAL, `nft timeout must be positive, not ${timeoutMs}`);
  return Object.freeze({
    netns: options.netns,
    nftPath: options.nftPath ?? 'nft',
    timeoutMs,
    forbidHostNetns: options.forbidHostNetns ?? hostNetnsForbiddenByEnv(),
    processes: options.processes,
  });
}

/**
 * The program and arguments that run `nft ARGS...` where the config says (never a shell);
 * `wrapper` goes in front of nft (inside the namespace).
 */
export function nftCommand(
  config: NftExecConfig,
  args: readonly string[],
  wrapper: readonly string[] = [],
): [string, string[]] {
  const argv = [...wrapper, config.nftPath, ...args];
  return config.netns ? ['ip', ['netns', 'exec', config.netns, ...argv]] : [argv[0]!, argv.slice(1)];
}

let setprivPath: string | null | undefined;

/** util-linux's setpriv, if this system has it (found once through PATH). */
function setpriv(): string | null {
  if (setprivPath === undefined) {
    const dirs = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
    setprivPath = dirs.map((d) => join(d, 'setpriv')).find((f) => isExecutable(f)) ?? null;
  }
  return setprivPath;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function classifyNftError(stderr: string): ErrorCode {
  if (/No such file or directory|does not exist/i.test(stderr)) return ErrorCodes.NFT_NOT_FOUND;
  if (/File exists/i.test(stderr)) return ErrorCodes.NFT_EXISTS;
  if (/Operation not permitted|Permission denied/i.test(stderr)) return ErrorCodes.NFT_FAILED;
  if (/syntax error|Error:/i.test(stderr)) return ErrorCodes.NFT_REJECTED;
  return ErrorCodes.NFT_FAILED;
}

/**
 * The error for nft's stderr when it failed: classified by classifyNftError, with nft's first
 * `Error:` line (else its first non-empty line, else `fallback`) as the message.
 */
export function nftFailure(stderr: string, fallback: string, details: Record<string, unknown> = {}): NftsentryError {
  const lines = stderr.split('\n');
  const first = lines.find((l) => l.includes('Error:')) ?? lines.find((l) => l.trim().length > 0) ?? fallback;
  return new NftsentryError(classifyNftError(stderr), `nft failed: ${first.trim()}`, {
    details: { ...details, stderr: stderr.slice(0, 4000) },
  });
}

function guard(config: NftExecConfig): void {
  if (config.forbidHostNetns) assertNotHostNetns(config.netns);
}

/** Runs `nft ARGS...` once, stdin closed; rejects with a classified NftsentryError. */
export async function execNft(config: NftExecConfig, args: readonly string[]): Promise<NftResult> {
  guard(config);
  const [file, argv] = nftCommand(config, args);
  const started = performance.now();
  const subprocess = execa(file, argv, {
    reject: false,
    timeout: config.timeoutMs,
    stdin: 'ignore',
    stripFinalNewline: false,
    env: { LC_ALL: 'C' },
  });
  // `ip netns exec` execs nft in its own process: the pid is nft's.
  config.processes?.started(subprocess.pid);
  const result = await subprocess;
  config.processes?.ended(subprocess.pid);
  const durationMs = performance.now() - started;
  if (result.timedOut) {
    throw new NftsentryError(
      ErrorCodes.NFT_TIMEOUT,
      `nft ${args[0] ?? ''} did not finish within ${config.timeoutMs} ms`,
      {
        details: { args },
      },
    );
  }
  const spawnFailed = (result as { code?: string }).code === 'ENOENT' || result.exitCode === undefined;
  if (spawnFailed) {
    throw new NftsentryError(ErrorCodes.NFT_MISSING, `cannot run ${file}: is nftables installed? (${result.message})`, {
      cause: result.cause,
    });
  }
  if (result.exitCode !== 0) {
    throw nftFailure(String(result.stderr), `exit code ${result.exitCode}`, { args, exitCode: result.exitCode });
  }
  return { stdout: String(result.stdout), stderr: String(result.stderr), durationMs };
}

/**
 * Starts `nft ARGS...` as a co-process (`nft -i`, `nft monitor`): stderr piped, stdin piped
 * unless `stdin: false`, stdout piped only when `stdout` is set. HOME=/dev/null: `nft -i` is GNU
 * readline, which reads and writes `$HOME/.nft.history`; nothing can be read or written under
 * /dev/null. `nft -i` ends at the end of its stdin when this process dies; one without stdin
 * runs under `setpriv --pdeathsig TERM` where util-linux's setpriv is installed.
 */
export function spawnNft(
  config: NftExecConfig,
  args: readonly string[],
  options: { stdout: boolean; stdin?: boolean },
): ChildProcess {
  guard(config);
  // Without stdin, nothing tells nft that this process died (`nft monitor` would wait on its
  // netlink socket for good): the kernel ends it then (PR_SET_PDEATHSIG, kept across exec).
  const path = options.stdin === false ? setpriv() : null;
  const [file, argv] = nftCommand(config, args, path ? [path, '--pdeathsig', 'TERM'] : []);
  const child = spawn(file, argv, {
    stdio: [options.stdin === false ? 'ignore' : 'pipe', options.stdout ? 'pipe' : 'ignore', 'pipe'],
    env: { LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/dev/null' },
  });
  const { processes } = config;
  if (processes) {
    processes.started(child.pid);
    child.once('exit', () => processes.ended(child.pid));
  }
  return child;
}
