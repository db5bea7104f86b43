/**
 * An `apply --confirm` without a daemon: the pending apply as a file in the state directory
 * (beside the store), read by the detached rollback helper and by `nftsentry confirm`. Whoever
 * renames the file away first owns it: `confirm` (the new ruleset stays) or the helper at the
 * deadline (the snapshot goes back). A rename is atomic, so the two never both win. The helper
 * writes what it did to the result file, which a late `confirm` reports.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config/config.ts';
import { ErrorCodes, NftsentryError } from '../errors.ts';

export interface PendingConfirm {
  id: string;
  /** Wall clock, ms: the snapshot goes back at this moment unless confirmed. */
  deadlineMs: number;
  /** Wall clock, ms, when the apply started. */
  createdMs: number;
  /** The named network namespace nft runs in; null: the helper's own. */
  netns: string | null;
  /** `nft -s list table inet nftsentry` before the apply; null: there was no table. */
  snapshot: string | null;
  /** The detached helper holding the deadline; null until it is started. */
  helperPid: number | null;
}

export interface ConfirmResult {
  id: string;
  outcome: 'rolled-back' | 'rollback-failed';
  atMs: number;
  error?: string;
}

/** The state directory: the store's (a `:memory:` store: /run/nftsentry). */
export function stateDir(config: Readonly<Config>): string {
  return config.store.path === ':memory:' ? '/run/nftsentry' : dirname(config.store.path);
}

export const pendingPath = (dir: string) => join(dir, 'confirm-pending.json');
export const resultPath = (dir: string) => join(dir, 'confirm-result.json');

export const newConfirmId = () => randomBytes(6).toString('hex');

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const optText = (v: unknown) => v === null || typeof v === 'string';

/** A pending file's JSON, checked; null when it is not one (a partial or foreign file). Pure. */
export function parsePending(text: string): PendingConfirm | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(v)) return null;
  const ok =
    typeof v.id === 'string' &&
    /^[0-9a-f]{1,32}$/.test(v.id) &&
    Number.isSafeInteger(v.deadlineMs) &&
    Number.isSafeInteger(v.createdMs) &&
    optText(v.netns) &&
    optText(v.snapshot) &&
    (v.helperPid === null || (Number.isSafeInteger(v.helperPid) && (v.helperPid as number) > 0));
  return ok ? (v as unknown as PendingConfirm) : null;
}

/** Written whole then renamed into place: a reader never sees half a file. */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

export function writePending(dir: string, p: PendingConfirm): void {
  writeAtomic(pendingPath(dir), JSON.stringify(p));
}

export function readPending(dir: string): PendingConfirm | null {
  try {
    return parsePending(readFileSync(pendingPath(dir), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new NftsentryError(ErrorCodes.INTERNAL, `cannot read ${pendingPath(dir)}: ${(err as Error).message}`);
  }
}

/**
 * Takes the pending file for `owner` (confirm, rollback, cancel): the pending apply as it was, or
 * null when another owner took it first (or there is none).
 */
export function claimPending(dir: string, owner: string): PendingConfirm | null {
  const claimed = `${pendingPath(dir)}.${owner}-${process.pid}`;
  try {
    renameSync(pendingPath(dir), claimed);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return parsePending(readFileSync(claimed, 'utf8'));
  } finally {
    unlinkSync(claimed);
  }
}

export function writeResult(dir: string, r: ConfirmResult): void {
  writeAtomic(resultPath(dir), JSON.stringify(r));
}

export function readResult(dir: string): ConfirmResult | null {
  try {
    const v: unknown = JSON.parse(readFileSync(resultPath(dir), 'utf8'));
    return isObject(v) && typeof v.id === 'string' && Number.isSafeInteger(v.atMs)
      ? (v as unknown as ConfirmResult)
      : null;
  } catch {
    return null;
  }
}

/** True while a process with this pid exists (signal 0). */
export function processAlive(pid: number | null): boolean {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
