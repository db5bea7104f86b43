/**
 * The daemon's `apply --confirm`: owns the one pending apply and its deadline. `apply` switches
 * the daemon to its config file (the same transaction as a SIGHUP reload) and keeps the config
 * that ran before; unless `confirm` comes first, the deadline switches back to it, which applies
 * the previous ruleset in one transaction (ban sets kept, as every apply keeps them) and puts the
 * previous policy and allowlist back with it. The timer lives in the daemon, not in the CLI that
 * asked, so a session cut off by the new rules is still rolled back. Time and timers are injected.
 */
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/config.ts';
import { ErrorCodes, NftsentryError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ConfirmAnswer, ConfirmTicket } from './operations.ts';

export interface RulesetConfirmDeps {
  /** The daemon's config file. */
  configPath: string;
  /** Reads the config file and switches the daemon to it; resolves with the config that ran before. */
  applyFile: () => Promise<Readonly<Config>>;
  /** Switches the daemon back to this config (its ruleset, policy, allowlist). */
  revertTo: (config: Readonly<Config>) => Promise<void>;
  log: Logger;
  /** Wall clock, ms (the deadline is shown to people and compared across processes). */
  nowMs?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/** A pending apply as status shows it. */
export interface PendingConfirmView {
  id: string;
  deadline: string;
  deadlineMs: number;
  remainingSec: number;
}

interface Pending {
  id: string;
  deadlineMs: number;
  previous: Readonly<Config>;
  timer: unknown;
}

type Outcome = { id: string; outcome: 'confirmed' | 'rolled-back' | 'rollback-failed'; atMs: number; error?: string };

/** The answer to a confirm with nothing pending, from how the last apply ended (daemon or helper). */
export function nothingToConfirm(last: Outcome | null): ConfirmAnswer {
  if (!last || last.outcome === 'confirmed') {
    return { confirmed: false, message: 'nothing to confirm: no apply waits for confirmation' };
  }
  const at = new Date(last.atMs).toISOString();
  return {
    confirmed: false,
    message:
      last.outcome === 'rolled-back'
        ? `nothing to confirm: apply ${last.id} was rolled back at ${at}`
        : `nothing to confirm: the rollback of apply ${last.id} failed at ${at}: ${last.error ?? ''}`,
  };
}

/** The canonical form of a path for comparison: its real path when it exists. */
function samePath(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return real(a) === real(b);
}

export class RulesetConfirm {
  private readonly d: Required<RulesetConfirmDeps>;
  private pending: Pending | null = null;
  private applying = false;
  private last: Outcome | null = null;

  constructor(deps: RulesetConfirmDeps) {
    this.d = {
      nowMs: Date.now,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
      ...deps,
    };
  }

  /** Applies the config file with a deadline. E_CONFLICT: another apply is pending, or another config file. */
  async apply(request: { confirmSec: number; configPath: string }): Promise<ConfirmTicket> {
    if (!samePath(request.configPath, this.d.configPath)) {
      throw new NftsentryError(
        ErrorCodes.CONFLICT,
        `the daemon runs with ${this.d.configPath}; apply --confirm applies that file (use -c ${this.d.configPath})`,
      );
    }
    if (this.pending || this.applying) {
      const until = this.pending ? ` until ${new Date(this.pending.deadlineMs).toISOString()}` : '';
      throw new NftsentryError(
        ErrorCodes.CONFLICT,
        `an apply waits for confirmation${until}: confirm it or let it roll back first`,
      );
    }
    this.applying = true;
    try {
      const previous = await this.d.applyFile();
      const id = randomBytes(6).toString('hex');
      const deadlineMs = this.d.nowMs() + request.confirmSec * 1000;
      const timer = this.d.setTimer(() => void this.expire(id), request.confirmSec * 1000);
      this.pending = { id, deadlineMs, previous, timer };
      this.d.log.warn(
        { id, deadline: new Date(deadlineMs).toISOString() },
        'apply --confirm: applied; rolled back unless confirmed',
      );
      return { id, deadlineMs, heldBy: 'daemon' };
    } finally {
      this.applying = false;
    }
  }

  /** Keeps the pending apply's ruleset; a message saying what happened. */
  confirm(): ConfirmAnswer {
    const p = this.pending;
    if (!p) return nothingToConfirm(this.last);
    this.d.clearTimer(p.timer);
    this.pending = null;
    this.last = { id: p.id, outcome: 'confirmed', atMs: this.d.nowMs() };
    this.d.log.info({ id: p.id }, 'apply --confirm: confirmed; the new ruleset stays');
    return { confirmed: true, message: `confirmed apply ${p.id}: the new ruleset stays` };
  }

  /** The pending apply, for status; null when none. */
  view(): PendingConfirmView | null {
    const p = this.pending;
    if (!p) return null;
    const remainingSec = Math.max(0, Math.ceil((p.deadlineMs - this.d.nowMs()) / 1000));
    return { id: p.id, deadline: new Date(p.deadlineMs).toISOString(), deadlineMs: p.deadlineMs, remainingSec };
  }

  /** The daemon stops: the timer goes; the ruleset in the kernel stays as it is. */
  stop(): void {
    if (!this.pending) return;
    this.d.clearTimer(this.pending.timer);
    this.d.log.warn({ id: this.pending.id }, 'apply --confirm: the daemon stops with an apply not confirmed; it stays');
    this.pending = null;
  }

  private async expire(id: string): Promise<void> {
    const p = this.pending;
    if (!p || p.id !== id) return;
    this.pending = null;
    try {
      await this.d.revertTo(p.previous);
      this.last = { id, outcome: 'rolled-back', atMs: this.d.nowMs() };
      this.d.log.warn({ id }, 'apply --confirm: not confirmed in time; the previous ruleset is back, bans kept');
    } catch (err) {
      this.last = { id, outcome: 'rollback-failed', atMs: this.d.nowMs(), error: (err as Error).message };
      this.d.log.error({ id, err: (err as Error).message }, 'apply --confirm: rollback failed');
    }
  }
}
