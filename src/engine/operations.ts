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

/** Orders of a ban list: newest offence first (the default), by expiry, by offences, by address. */
export type BanSort = 'last_seen' | 'expires' | 'offences' | 'address';

export interface BanListFilter {
  source?: BanSource;
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

export interface Operations {
  listBans(filter: BanListFilter): { total: number; items: BanView[] };
  getBan(address: IpPrefix): BanView | null;
  /** Throws NftsentryError E_BAN_REFUSED for allowlisted/own/special addresses. */
  ban(request: { address: IpPrefix; durationSec: number | null; reason: string }): Promise<BanView>;
  /**
   * False when there was no such ban. Grants the configured grace period against re-bans.
   * `fleet`: every gateway of the fleet lifts it too (E_CONFLICT without a `fleet` section).
   */
  unban(address: IpPrefix, options?: { fleet?: boolean }): Promise<boolean>;
  listAllow(): AllowEntry[];
  /** Adds an entry and lifts the bans it covers; returns how many bans were lifted. */
  addAllow(prefix: IpPrefix, note: string): Promise<{ entry: AllowEntry; liftedBans: number }>;
  /** False when there was no such API entry; E_FORBIDDEN for a config entry. */
  removeAllow(prefix: IpPrefix): Promise<boolean>;
  status(): Promise<Record<string, unknown>>;
  /** Applies the daemon's config file, rolled back after `confirmSec` unless confirmed (E_CONFLICT: one is pending). */
  applyConfirm(request: { confirmSec: number; configPath: string }): Promise<ConfirmTicket>;
  /** Keeps the pending apply's ruleset. */
  confirmApply(): Promise<ConfirmAnswer>;
}
