/**
 * The Operations the HTTP API and the CLI call: lookups from the ledger, operator bans through
 * the same decision core (protection applies, thresholds do not), unbans with a grace period,
 * allowlist changes that lift the bans they cover, status. A facade: the state belongs to the
 * parts it calls.
 */
import type { Clock } from '../clock.ts';
import { ErrorCodes, NftsentryError } from '../errors.ts';
import { type IpPrefix, prefixCovers } from '../net/ip.ts';
import type { CounterValue } from '../nft/state.ts';
import type { RecoveredStore } from '../store/store-opener.ts';
import { type Allowlist, operatorText } from './allowlist.ts';
import type { BanFlusher } from './ban-flusher.ts';
import type { BanLedger } from './ban-ledger.ts';
import { banSetSize } from '../nft/objects.ts';
import { banTargetOf } from './ban-target.ts';
import type { Decider } from './decider.ts';
import type { Enforcer } from './enforcer.ts';
import type { KernelSync } from './kernel-sync.ts';
import type {
  Actor,
  AllowEntry,
  BanHits,
  BanListFilter,
  BanView,
  ConfirmAnswer,
  ConfirmTicket,
  EngineCounters,
  ExplainEntry,
  Explanation,
  Operations,
} from './operations.ts';
import type { JournalStats } from './journal.ts';
import type { RulesetConfirm } from './ruleset-confirm.ts';
import type { StoreHealth } from './store-writer.ts';

/** The store as status shows it: its health, and the unusable file a start moved aside. */
export type StoreStatus = StoreHealth & { recoveredFrom: RecoveredStore | null };

export interface BanOperationsParts {
  ledger: BanLedger;
  decider: Decider;
  enforcer: Enforcer;
  sync: KernelSync;
  flusher: BanFlusher;
  allowlist: Allowlist;
  clock: Clock;
  version: string;
  dryRun: boolean;
  /** Seconds an unbanned target's alerts are ignored (api.unban_grace). */
  unbanGraceSec: () => number;
  /** The effective allowlist changed: protection and the kernel's allow sets follow. */
  allowChanged: () => Promise<void>;
  dropCounters: () => Promise<readonly CounterValue[]>;
  rulesetAppliedMs: () => number | null;
  sourceStats: () => unknown[];
  storeStatus: () => StoreStatus;
  /** Self-healing's counters (heals by kind, the kernel watch). */
  healStats: () => Record<string, unknown>;
}

/** Where operators' actions are recorded, and explain answered (engine/journal-wiring.ts). */
export interface OperatorJournal {
  operator(code: string, address: string, actor: Actor | undefined, detail: object, atMs: number): void;
  /** The rows held for an actor's `ref` are written with this `from`. */
  actorFrom(ref: number, from: string): void;
  explain(address: IpPrefix, nowMs: number): Promise<Explanation>;
  hits(target: string): Promise<BanHits | null>;
  hitsOf(targets: readonly string[]): Promise<Record<string, BanHits>>;
  audit(limit: number): ExplainEntry[];
  /** Rows written, dropped, failed batches, queued; null without a journal. */
  stats(): JournalStats | null;
}

/** What the operations ask of the fleet. */
export interface FleetLink {
  publishUnban(target: string): void;
  stats(): Record<string, unknown>;
}

export class BanOperations implements Operations {
  private readonly p: BanOperationsParts;
  /** `apply --confirm` as `nftsentry run` wires it (it owns the reload); null: not offered. */
  private rulesetConfirm: RulesetConfirm | null = null;
  private journal: OperatorJournal | null = null;
  private fleet: FleetLink | null = null;

  constructor(parts: BanOperationsParts) {
    this.p = parts;
  }

  /** The fleet (fleet/fleet.ts), for `unban --fleet` and status; null: no fleet section. */
  attachFleet(fleet: FleetLink | null): void {
    this.fleet = fleet;
  }

  attachRulesetConfirm(confirm: RulesetConfirm): void {
    this.rulesetConfirm = confirm;
  }

  attachJournal(journal: OperatorJournal): void {
    this.journal = journal;
  }
  actorFrom(ref: number, from: string): void {
    this.journal?.actorFrom(ref, from);
  }

  async hitsOf(targets: readonly string[]): Promise<Record<string, BanHits>> {
    return this.journal ? this.journal.hitsOf(targets.slice(0, 1000)) : {};
  }

  async hits(target: string): Promise<BanHits | null> {
    return this.journal ? this.journal.hits(target) : null;
  }

  async audit(limit: number): Promise<ExplainEntry[]> {
    return this.journal ? this.journal.audit(limit) : [];
  }

  async explain(address: IpPrefix): Promise<Explanation> {
    if (!this.journal) throw new NftsentryError(ErrorCodes.NOT_FOUND, 'explain needs the journal (journal.enabled)');
    return this.journal.explain(address, this.p.clock());
  }

  async applyConfirm(request: { confirmSec: number; configPath: string }): Promise<ConfirmTicket> {
    if (!this.rulesetConfirm || this.p.dryRun)
      throw new NftsentryError(ErrorCodes.FORBIDDEN, 'apply --confirm is not available in this daemon (dry-run?)');
    return this.rulesetConfirm.apply(request);
  }

  async confirmApply(): Promise<ConfirmAnswer> {
    if (!this.rulesetConfirm)
      return { confirmed: false, message: 'nothing to confirm: no apply waits for confirmation' };
    return this.rulesetConfirm.confirm();
  }

  listBans(filter: BanListFilter): { total: number; items: BanView[] } {
    return this.p.ledger.queries.listBans(filter, this.p.clock());
  }

  /** The exact target's active ban, else the longest active prefix ban holding the address. */
  getBan(address: IpPrefix): BanView | null {
    return this.p.ledger.queries.getBan(address, this.p.clock(), this.p.ledger.prefixTargets());
  }

  async ban(request: {
    address: IpPrefix;
    durationSec: number | null;
    reason: string;
    actor?: Actor;
  }): Promise<BanView> {
    const nowMs = this.p.clock();
    const reason = operatorText(request.reason) || 'manual';
    const d = this.p.decider.manual(request.address, request.durationSec, reason, nowMs);
    if (d.kind === 'skip') {
      this.journal?.operator(`ban_refused`, request.address.text, request.actor, { why: d.why }, nowMs);
      throw new NftsentryError(ErrorCodes.BAN_REFUSED, `${request.address.text} may not be banned (${d.why})`, {
        details: { why: d.why },
      });
    }
    // Waits for this ban's own element (sent ahead of any alert backlog), not for the backlog.
    await this.p.enforcer.enforceOperatorBan(d, nowMs);
    const { durationSec } = request;
    this.journal?.operator('ban', d.target.text, request.actor, { durationSec, reason, offences: d.offences }, nowMs);
    // While the store is degraded the row waits in memory: the view comes from there.
    const view = this.getBan(request.address) ?? this.p.ledger.view(d.target.text, nowMs);
    if (!view) throw new NftsentryError(ErrorCodes.INTERNAL, `${d.target.text}: banned, but no row to show`);
    return view;
  }

  async unban(address: IpPrefix, options: { fleet?: boolean; actor?: Actor } = {}): Promise<boolean> {
    const target = banTargetOf(address);
    if (options.fleet && !this.fleet)
      throw new NftsentryError(ErrorCodes.CONFLICT, 'unban --fleet: this daemon has no fleet section');
    if (options.fleet) this.fleet?.publishUnban(target.text);
    if ((await this.p.sync.liftOne(target.text)) === 0) return options.fleet === true;
    const nowMs = this.p.clock();
    const graceUntilMs = nowMs + this.p.unbanGraceSec() * 1000;
    this.p.ledger.setGrace(target.text, graceUntilMs);
    this.journal?.operator('unban', target.text, options.actor, { graceUntilMs, fleet: options.fleet === true }, nowMs);
    return true;
  }

  listAllow(): AllowEntry[] {
    return this.p.allowlist.list();
  }

  async addAllow(prefix: IpPrefix, note: string, actor?: Actor): Promise<{ entry: AllowEntry; liftedBans: number }> {
    const entry = this.p.allowlist.add(prefix, note, this.p.clock());
    this.journal?.operator('allow', entry.prefix, actor, { note }, this.p.clock());
    this.p.ledger.events.emit({ type: 'allow', address: entry.prefix, atMs: this.p.clock() });
    await this.p.allowChanged();
    const liftedBans = await this.p.sync.liftMatching((t) => prefixCovers(prefix, t) || prefixCovers(t, prefix));
    return { entry, liftedBans };
  }

  async removeAllow(prefix: IpPrefix, actor?: Actor): Promise<boolean> {
    const removed = this.p.allowlist.remove(prefix);
    if (removed) this.journal?.operator('unallow', prefix.text, actor, {}, this.p.clock());
    if (removed) this.p.ledger.events.emit({ type: 'unallow', address: prefix.text, atMs: this.p.clock() });
    if (removed) await this.p.allowChanged();
    return removed;
  }

  counters(): EngineCounters {
    const heals = this.p.healStats().healsByKind as Record<string, number> | undefined;
    return {
      nftFailures: this.p.flusher.stats.failures,
      nftPending: this.p.flusher.pending,
      healsByKind: { ...heals },
      journal: this.journal?.stats() ?? null,
    };
  }

  async status(): Promise<Record<string, unknown>> {
    let drops: Record<string, number> | { error: string } = {};
    if (!this.p.dryRun) {
      try {
        drops = Object.fromEntries((await this.p.dropCounters()).map((c) => [c.name, c.packets]));
      } catch (err) {
        drops = { error: (err as Error).message };
      }
    }
    const appliedMs = this.p.rulesetAppliedMs();
    const { ledger, flusher } = this.p;
    return {
      version: this.p.version,
      dryRun: this.p.dryRun,
      ruleset: { applied: appliedMs !== null, appliedMs },
      sources: this.p.sourceStats(),
      drops,
      bans: {
        active: ledger.activeCount,
        bySource: ledger.countActiveBySource(),
        offendersKnown: ledger.knownCount,
        cap: {
          maxActiveBans: ledger.maxActiveBans,
          kernelSetSize: banSetSize(ledger.maxActiveBans),
          ...this.p.enforcer.stats.snapshot().capped,
        },
      },
      store: this.p.storeStatus(),
      pendingConfirm: this.rulesetConfirm?.view() ?? null,
      fleet: this.fleet?.stats() ?? null,
      // The daemon's main thread: RSS and the V8 heap (bench/memory.ts reads it).
      memory: process.memoryUsage(),
      engine: {
        ...this.p.enforcer.stats.snapshot(),
        ...this.p.sync.stats,
        ...this.p.healStats(),
        restored: ledger.restored,
        journal: this.journal?.stats() ?? null,
        nft: { ...flusher.stats, pending: flusher.pending },
      },
    };
  }
}
