/**
 * What `nftsentry doctor` knows about the machine, gathered once (doctor-gather.ts) and handed to
 * the pure checks, and what each check returns: findings with a stable `id`, a severity, a
 * message that explains it and the command that fixes it. Plain data, no IO.
 */
import type { Config } from '../config/config.ts';
import type { InterfaceAddress } from '../net/subnet.ts';

export type Severity = 'ok' | 'warning' | 'problem';

/** One finding. `fix` is a command (or a short instruction with one); empty when nothing needs fixing. */
export interface Finding {
  id: string;
  severity: Severity;
  message: string;
  fix: string;
}

/** The outcome of one nft call: it worked, or nft's error message. */
export type NftOutcome = { ok: true } | { ok: false; error: string };

/** A part of the facts that could not be read, with why. */
export interface Unreadable {
  error: string;
}

export interface NftFacts {
  /** `1.0.6` from `nft --version`; an error when nft could not run at all. */
  version: string | Unreadable;
  /** `nft -c -f` of a small probe per kernel feature the base ruleset uses. */
  features: { timeouts: NftOutcome; dynamic_sets: NftOutcome; concatenations: NftOutcome } | null;
  /** `nft -c -f` of the whole base ruleset as `apply` would load it; null when the config is invalid. */
  rulesetCheck: NftOutcome | null;
  /** `nft -j -t list ruleset`: the objects (tables, chains, rules); an error when it failed. */
  ruleset: ReadonlyArray<Record<string, unknown>> | Unreadable;
}

/** Values under /proc (null: the file is missing or unreadable). */
export interface ProcFacts {
  tcpSyncookies: number | null;
  conntrackMax: number | null;
  conntrackBuckets: number | null;
  conntrackCount: number | null;
  conntrackAcct: number | null;
  memTotalBytes: number | null;
  kernelRelease: string | null;
}

export interface SystemdFacts {
  /** False when systemd is not the init system (no /run/systemd/system): its checks are skipped. */
  booted: boolean;
  /** `systemctl is-enabled nftables.service` (`enabled`, `disabled`, `not-found`...); null: unknown. */
  nftablesEnabled: string | null;
  /** `systemctl is-active nftsentry.service` and `is-enabled`. */
  unitActive: string | null;
  unitEnabled: string | null;
}

/** The daemon's GET /v1/status answer, as far as doctor reads it (foreign input: every field checked). */
export interface DaemonStatus {
  version: string;
  uptimeSec: number;
  rulesetApplied: boolean | null;
  sources: Array<{ name: string; type: string; connected: number; lines: number; lastLineMs: number | null }>;
  store: {
    degraded: boolean;
    pendingRows: number;
    lastError: string | null;
    recoveredFrom: string | null;
  } | null;
}

export type DaemonFacts =
  | { kind: 'api_disabled' }
  /** `code`: the stable code of the failure (E_FORBIDDEN: the token file is not readable by this user...). */
  | { kind: 'unreachable'; target: string; error: string; code?: string }
  | { kind: 'reachable'; target: string; status: DaemonStatus };

export interface DoctorFacts {
  configPath: string;
  /** The config, or why it did not load. */
  config: Readonly<Config> | Unreadable;
  /** The rendered base ruleset (for what it uses, e.g. conntrack accounting); null when the config is invalid. */
  rulesetText: string | null;
  nft: NftFacts;
  proc: ProcFacts;
  /** The file nftables.service loads, and its text (null: no such file). */
  nftablesConf: { path: string; text: string | null };
  systemd: SystemdFacts;
  /** SSH_CONNECTION of the caller (`client cport server sport`), when set. */
  sshConnection: string | undefined;
  /** The addresses of this namespace's interfaces, or why they could not be read. */
  interfaces: readonly InterfaceAddress[] | Unreadable;
  daemon: DaemonFacts | null;
  nowMs: number;
}

export function isUnreadable(v: unknown): v is Unreadable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as Unreadable).error === 'string';
}

export const ok = (id: string, message: string): Finding => ({ id, severity: 'ok', message, fix: '' });
export const warning = (id: string, message: string, fix: string): Finding => ({
  id,
  severity: 'warning',
  message,
  fix,
});
export const problem = (id: string, message: string, fix: string): Finding => ({
  id,
  severity: 'problem',
  message,
  fix,
});
