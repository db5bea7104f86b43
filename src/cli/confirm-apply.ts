/**
 * `apply --confirm` and `confirm` as the CLI runs them. With a daemon, the daemon holds the
 * deadline (POST /v1/ruleset/apply, /v1/ruleset/confirm). Without one, the CLI takes the snapshot,
 * writes the pending file, starts the detached rollback helper, and only then applies: a CLI
 * killed at any moment after the helper started is rolled back; the CLI itself holds nothing.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiConfig } from '../api/api-schema.ts';
import type { Config } from '../config/config.ts';
import { formatDurationSec } from '../config/duration.ts';
import { nothingToConfirm } from '../engine/ruleset-confirm.ts';
import { ErrorCodes, NftsentryError } from '../errors.ts';
import type { IpPrefix } from '../net/ip.ts';
import { applyRuleset, type ApplyResult } from '../nft/apply.ts';
import { NftRunner } from '../nft/runner.ts';
import { readTableSnapshot } from '../nft/table-rollback.ts';
import type { CommandContext } from './command.ts';
import {
  claimPending,
  newConfirmId,
  processAlive,
  readPending,
  readResult,
  stateDir,
  writePending,
} from './pending-confirm.ts';

/** What a pending apply tells the admin; the same shape from the daemon and from the helper. */
export interface ConfirmTicket {
  id: string;
  deadlineMs: number;
  /** `daemon` or `helper` (the detached process). */
  heldBy: 'daemon' | 'helper';
}

/** One shell word: as it is when safe, else single-quoted. Pure. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The exact command that confirms, with the same -c (absolute) and --netns. Pure. */
export function confirmCommandLine(configPath: string, netns: string | undefined): string {
  const ns = netns ? ` --netns ${shellWord(netns)}` : '';
  return `nftsentry -c ${shellWord(resolve(configPath))}${ns} confirm`;
}

/** The lines `apply --confirm` prints. Pure. */
export function confirmInstructions(t: ConfirmTicket, command: string, nowMs: number): string {
  const left = formatDurationSec(Math.max(1, Math.round((t.deadlineMs - nowMs) / 1000)));
  const by = t.heldBy === 'daemon' ? 'the daemon' : 'a detached helper';
  return [
    `applied table inet nftsentry; NOT confirmed yet (apply ${t.id})`,
    `unless confirmed by ${new Date(t.deadlineMs).toISOString()} (in ${left}), ${by} puts the previous ruleset back (bans are kept).`,
    `to keep it, run: ${command}`,
  ].join('\n');
}

/** True when something accepts connections at the API's address: the daemon runs. */
export function daemonListening(api: ApiConfig, timeoutMs = 2000): Promise<boolean> {
  if (!api.enabled) return Promise.resolve(false);
  return new Promise((done) => {
    const s = api.socket ? connect({ path: api.socket.path }) : connect({ host: api.host, port: api.port });
    const finish = (up: boolean) => {
      s.destroy();
      done(up);
    };
    s.setTimeout(timeoutMs, () => finish(false));
    s.on('connect', () => finish(true));
    s.on('error', () => finish(false));
  });
}

/**
 * The helper's entry, beside this module: the TypeScript source when running from source, the
 * bundled `rollback-helper.mjs` beside the bundle in the Debian package (scripts/package/bundle.ts).
 */
const HELPER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './rollback-helper.ts' : './rollback-helper.mjs',
  import.meta.url,
);

/** Starts the helper in its own session with stdio closed; it outlives this process. */
function startHelper(dir: string, id: string): number {
  const script = fileURLToPath(HELPER_URL);
  const child = spawn(process.execPath, [...process.execArgv, script, dir, id], {
    detached: true,
    stdio: 'ignore',
    cwd: '/',
    env: process.env,
  });
  child.unref();
  if (!child.pid) throw new NftsentryError(ErrorCodes.INTERNAL, 'cannot start the rollback helper');
  return child.pid;
}

/** The pending apply without a daemon, unless none (a stale one, its helper gone, is dropped). */
function livePending(dir: string) {
  const p = readPending(dir);
  if (p && !processAlive(p.helperPid)) {
    claimPending(dir, 'stale');
    return null;
  }
  return p;
}

/**
 * Without a daemon: snapshot, pending file, helper, then the apply (config plus `extraAllow`).
 * A failed apply cancels the pending file (the helper then ends) and throws.
 */
export async function applyWithHelper(
  config: Readonly<Config>,
  ctx: CommandContext,
  confirmSec: number,
  extraAllow: readonly IpPrefix[],
): Promise<{ ticket: ConfirmTicket; result: ApplyResult }> {
  const dir = stateDir(config);
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const other = livePending(dir);
  if (other) {
    throw new NftsentryError(
      ErrorCodes.CONFLICT,
      `apply ${other.id} waits for confirmation until ${new Date(other.deadlineMs).toISOString()}: confirm it or let it roll back first`,
    );
  }
  const runner = new NftRunner({ netns: ctx.netns });
  const snapshot = await readTableSnapshot(runner);
  const id = newConfirmId();
  const nowMs = Date.now();
  const pending = { id, createdMs: nowMs, deadlineMs: nowMs + confirmSec * 1000, netns: ctx.netns ?? null, snapshot };
  writePending(dir, { ...pending, helperPid: null });
  const helperPid = startHelper(dir, id);
  writePending(dir, { ...pending, helperPid });
  try {
    const result = await applyRuleset(
      { ...config, allowlist: [...config.allowlist, ...extraAllow] },
      { runner, log: ctx.log },
    );
    return { ticket: { id, deadlineMs: pending.deadlineMs, heldBy: 'helper' }, result };
  } catch (err) {
    claimPending(dir, 'cancel');
    throw err;
  }
}

/** Without a daemon: takes the pending file; a message for the admin, and whether it confirmed. */
export function confirmWithHelper(config: Readonly<Config>): { confirmed: boolean; message: string } {
  const dir = stateDir(config);
  const p = claimPending(dir, 'confirm');
  if (p) return { confirmed: true, message: `confirmed apply ${p.id}: the new ruleset stays` };
  return nothingToConfirm(readResult(dir));
}
