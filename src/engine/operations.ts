/**
 * The operations the HTTP API and the CLI are doors into. The ban engine implements them; the API
 * never talks to nft or the store itself.
 */
import type { IpPrefix } from '../net/ip.ts';

/** `fleet:<node>`: another gateway's ban, taken from the fleet (docs/fleet.md). */
export type BanSource = 'suricata' | 'snort' | 'kernel:scan' | 'manual' | `fleet:${string}`;

export interface BanView {
  /** Canonical address (`203.0.113.7`) or prefix (`2001:db8:1::/64`). */
  address: string;
  family: 4 | 6;
  source: BanSource;
  reason: string;
  sid: number | null;
  signature: string | null;
  firstSeenMs: number;
  lastSeenMs: number;
  /** null: permanent. */
  expiresMs: number | null;
  remainingSec: number | null;
  /** How many times this address has been banned, this ban included. */
  offences: number;
}

/** What the kernel counted on a ban's element (and carried over refreshes). */
export interface BanHits {
  packets: number;
  bytes: number;
  lastHitMs: number | null;
}

export interface ExplainEntry {
  atMs: number;
  at: string;
  kind: string;
  code: string;
  detail: Record<string, unknown> | null;
  actor: string | null;
  /** The address or ban target the row is about. */
  address: string;
}

export interface Why {
  code: string;
  detail: Record<string, unknown>;
}

export interface Explanation {
  address: string;
  banned: boolean;
  /** Dropped since the ban (refreshes included); null when not banned or not counted. */
  packets: number | null;
  bytes: number | null;
  lastHitMs: number | null;
  why: Why;
  ban: BanView | null;
  protection: {
    /** Why the address may never be banned, or null. */
    code: string | null;
    entry: string | null;
    /** Whether the kernel's scan meters count its probes of closed ports. */
    kernelMeters: boolean;
    /** What one ET SCAN alert from it would be decided now. */
    singleEtScanAlert: Why;
  };
  history: ExplainEntry[];
}

/** The engine's counters an operator alerts on, read synchronously (telemetry snapshots). */
export interface EngineCounters {
  /** nft ban transactions that failed, and elements waiting to be sent. */
  nftFailures: number;
  nftPending: number;
  /** Repairs of the table by what was repaired (table, set, chain, rule, elements). */
  healsByKind: Record<string, number>;
  /** The decision journal's rows written and dropped, failed batches, rows queued; null: no journal. */
  journal: { written: number; dropped: number; errors: number; coalesced: number; pending: number } | null;
}

/** Orders of a ban list: newest offence first (the default), by expiry, by offences, by address. */
export type BanSort = 'last_seen' | 'expires' | 'offences' | 'address';

export interface BanListFilter {
  /** A source, or `fleet`: every other gateway's (`fleet:<node>`). */
  source?: BanSource | 'fleet';
  reason?: string;
  /** Targets starting with this text (`198.51.100.`, `2001:db8:`): canonical address characters only. */
  search?: string;
  sort?: BanSort;
  order?: 'asc' | 'desc';
  limit: number;
  offset: number;
}

export interface AllowEntry {
  prefix: string;
  /** `config` entries come from the config file and cannot be removed through the API. */
  origin: 'config' | 'api';
  note: string;
  addedMs: number;
}

/** A pending `apply --confirm`: rolled back at `deadlineMs` (wall clock) unless confirmed. */
export interface ConfirmTicket {
  id: string;
  deadlineMs: number;
  /** Who holds the deadline: the daemon, or the detached helper when no daemon runs. */
  heldBy: 'daemon' | 'helper';
}

export interface ConfirmAnswer {
  confirmed: boolean;
  message: string;
}

/** Who asked for a manual change: the API token's name and the peer (address, `uid:N`, `unix`). */
export interface Actor {
  token: string;
  from: string;
  /**
   * Set while `from` is still being found (the uid of a unix socket's peer, looked up beside the
   * operation so the operation never waits for it): the journal holds the action's rows until
   * `actorFrom(ref, from)`, or writes them with this `from` after a few seconds.
   */
  ref?: number;
}

export interface Operations {
  listBans(filter: BanListFilter): { total: number; items: BanView[] };
  getBan(address: IpPrefix): BanView | null;
  /** Throws NftsentryError E_BAN_REFUSED for allowlisted/own/special addresses. */
  ban(request: { address: IpPrefix; durationSec: number | null; reason: string; actor?: Actor }): Promise<BanView>;
  /**
   * False when there was no such ban. Grants the configured grace period against re-bans.
   * `fleet`: every gateway of the fleet lifts it too (E_CONFLICT without a `fleet` section).
   * `actor`: who asked (journalled).
   */
  unban(address: IpPrefix, options?: { fleet?: boolean; actor?: Actor }): Promise<boolean>;
  listAllow(): AllowEntry[];
  /** Adds an entry and lifts the bans it covers; returns how many bans were lifted. */
  addAllow(prefix: IpPrefix, note: string, actor?: Actor): Promise<{ entry: AllowEntry; liftedBans: number }>;
  /** False when there was no such API entry; E_FORBIDDEN for a config entry. */
  removeAllow(prefix: IpPrefix, actor?: Actor): Promise<boolean>;
  status(): Promise<Record<string, unknown>>;
  /** Applies the daemon's config file, rolled back after `confirmSec` unless confirmed (E_CONFLICT: one is pending). */
  applyConfirm(request: { confirmSec: number; configPath: string }): Promise<ConfirmTicket>;
  /** Keeps the pending apply's ruleset. */
  confirmApply(): Promise<ConfirmAnswer>;
  /** The `from` of an actor given with a `ref`: its actions' journal rows are written with it. */
  actorFrom?(ref: number, from: string): void;
  /** Why an address is banned or not (engine/explain.ts); absent where there is no journal. */
  explain?(address: IpPrefix): Promise<Explanation>;
  /** Operators' actions from the journal, newest first (at most `limit`); absent where there is no journal. */
  audit?(limit: number): Promise<ExplainEntry[]>;
  /** What the kernel counted on a ban's element (`target`: the ban's address); null: not counted. */
  hits?(target: string): Promise<BanHits | null>;
  /** The same for several bans at once (a page of the list): targets not counted are absent. */
  hitsOf?(targets: readonly string[]): Promise<Record<string, BanHits>>;
  /** The engine's counters for /metrics; absent in tests' in-memory operations. */
  counters?(): EngineCounters;
}
