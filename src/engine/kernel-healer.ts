/**
 * Self-healing: puts `table inet nftsentry` back the way the daemon keeps it, and only what is
 * damaged. Told what to look at by the kernel watch (kernel-watch.ts: damage `nft monitor` saw,
 * a probe that found the table gone, a full check), it compares the kernel with what is expected:
 *
 * - the table's shape (chains, rules, sets, maps, counters, the config sets' element counts) with
 *   the one read right after the last apply (nft/table-shape.ts): anything missing or changed
 *   means re-applying the base ruleset, one transaction that keeps the ban sets' elements;
 * - the ban sets with the ledger's active bans (KernelSync.reconcileBanSets): a diff, never a
 *   flush; a ban goes back with the time it had left.
 * Elements the monitor saw deleted from the ban hash sets go back without reading the sets.
 *
 * Repairs run one at a time; what is reported meanwhile is merged into the next one. Each heal
 * is counted by its worst kind (table, set, chain, rule, elements: a set can only be deleted once
 * the rules using it are gone, so a deleted set comes with emptied chains) and logged with what
 * was repaired and how long it took.
 */
import type { Clock } from '../clock.ts';
import { ErrorCodes, isNftsentryError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ElementChange } from '../nft/elements.ts';
import type { Nft } from '../nft/nft.ts';
import { readTableShape, type ShapeFinding, shapeFindings } from '../nft/table-shape.ts';
import type { BanFlusher } from './ban-flusher.ts';
import type { BanLedger } from './ban-ledger.ts';
import type { BanSetName } from './ban-target.ts';
import type { BaseRuleset } from './base-ruleset.ts';
import { BAN_SET_NAMES, PROBE } from './kernel-bans.ts';
import { type Damage, describeDamage, mergeDamage, noDamage } from './kernel-damage.ts';
import type { KernelSync, ReconcileSummary } from './kernel-sync.ts';
import { remainingSec } from './reconcile.ts';

export type HealKind = 'table' | 'set' | 'chain' | 'rule' | 'elements';

/** Worst first: a heal counts as its worst kind. */
const KINDS: readonly HealKind[] = ['table', 'set', 'chain', 'rule', 'elements'];

/** A ban with less time left is not put back: its element would expire before it mattered. */
const MIN_LEFT_SEC = 2;

export interface HealStats {
  heals: number;
  healsByKind: Record<HealKind, number>;
  lastHealMs: number | null;
  /** Full checks run (periodic, and after the monitor may have missed changes). */
  fullChecks: number;
}

export interface KernelHealerParts {
  nft: Nft;
  ledger: BanLedger;
  flusher: BanFlusher;
  sync: KernelSync;
  ruleset: BaseRuleset;
  /** Re-applies the base ruleset with the config and the effective allowlist. */
  applyRuleset: () => Promise<void>;
  log: Logger;
  clock: Clock;
}

interface Job {
  damage: Damage;
  full: boolean;
  /** Who asked (the monitor, a probe, a periodic check), for the log. */
  why: Set<string>;
  /** performance.now() when the first of it was reported. */
  since: number;
  done: Array<() => void>;
}

export class KernelHealer {
  readonly stats: HealStats = {
    heals: 0,
    healsByKind: { table: 0, set: 0, chain: 0, rule: 0, elements: 0 },
    lastHealMs: null,
    fullChecks: 0,
  };
  private readonly p: KernelHealerParts;
  private pending: Job | null = null;
  private running: Promise<void> | null = null;

  constructor(parts: KernelHealerParts) {
    this.p = parts;
  }

  /** Damage seen in a foreign transaction: repaired as soon as the repair before it is done. */
  report(damage: Damage, why: string): void {
    void this.queue(damage, false, why);
  }

  /** The table or a set may be gone (a transaction or a probe found none): compare the shape. */
  suspect(why: string): void {
    this.report({ ...noDamage(), structure: true }, why);
  }

  /** Checks everything: the shape, the config sets, every ban set. Resolves once done. */
  check(why: string): Promise<void> {
    return this.queue(noDamage(), true, why);
  }

  /** One cheap transaction in the ban hash sets; a missing table or set makes a repair. */
  async probe(): Promise<void> {
    try {
      await this.p.flusher.direct({ remove: PROBE });
    } catch (err) {
      if (!isNftsentryError(err, ErrorCodes.NFT_NOT_FOUND)) throw err;
      this.suspect('the probe found no table or ban set');
    }
  }

  /** Resolves once no repair is running or waiting. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private queue(damage: Damage, full: boolean, why: string): Promise<void> {
    return new Promise((resolve) => {
      if (!this.pending)
        this.pending = { damage: noDamage(), full: false, why: new Set(), since: performance.now(), done: [] };
      const job = this.pending;
      mergeDamage(job.damage, damage);
      job.full ||= full;
      job.why.add(why);
      job.done.push(resolve);
      this.kick();
    });
  }

  /** `job` waits again, merged with what is pending. */
  private requeue(job: Job): void {
    const later: Job = { ...job, why: new Set(job.why), done: job.done.splice(0) };
    const p = this.pending;
    if (p) {
      mergeDamage(later.damage, p.damage);
      later.full ||= p.full;
      for (const w of p.why) later.why.add(w);
      later.done.push(...p.done);
    }
    this.pending = later;
  }

  private kick(): void {
    if (this.running || !this.pending) return;
    const job = this.pending;
    this.pending = null;
    this.running = this.run(job)
      .catch((err) => this.p.log.warn({ err: (err as Error).message, why: [...job.why] }, 'self-healing failed'))
      .finally(() => {
        for (const d of job.done) d();
        this.running = null;
        this.kick();
      });
  }

  /** The shape's findings; null when an apply overlapped the read (the expected shape is changing). */
  private async shapeDamage(): Promise<ShapeFinding[] | null> {
    const { ruleset } = this.p;
    const epoch = ruleset.epoch;
    const actual = await readTableShape(this.p.nft);
    if (ruleset.applying || ruleset.epoch !== epoch) return null;
    return shapeFindings(ruleset.expectedShape, actual);
  }

  private async run(job: Job): Promise<void> {
    await this.p.sync.reconciled;
    const started = performance.now();
    const d = job.damage;
    const readShape = job.full || d.structure || d.unclear || d.incomplete;
    const findings = readShape ? await this.shapeDamage() : [];
    if (!findings) {
      // Checked again after that apply, against the shape it leaves (its callers wait for that).
      this.requeue(job);
      return;
    }
    if (job.full) this.stats.fullChecks++;
    // Without an expected shape (its read after the last apply failed), apply again to have one.
    if (findings.length > 0 || (readShape && !this.p.ruleset.expectedShape)) await this.p.applyRuleset();
    // The ban sets to read back: all in a full check or once the table was gone, a ban set that
    // was deleted, the prefix-ban sets whose events nft cannot print.
    const read = new Set<BanSetName>();
    const tableGone = findings.some((f) => f.object === 'table');
    if (job.full || d.incomplete || tableGone) for (const s of BAN_SET_NAMES) read.add(s);
    for (const f of findings) {
      const set = f.object?.startsWith('set ') ? (f.object.slice(4) as BanSetName) : null;
      if (set && BAN_SET_NAMES.includes(set)) read.add(set);
    }
    if (d.unclear) for (const s of ['bannet4', 'bannet6'] as const) read.add(s);
    for (const s of d.sets) read.add(s);
    // A new table's scanners sets start empty: what is found there again is new.
    if (tableGone) this.p.sync.forgetScanners();
    const summary = read.size > 0 ? await this.p.sync.reconcileBanSets([...read], MIN_LEFT_SEC) : null;
    const readded = await this.putBack(d.removed, read);
    const bans = (summary?.added ?? 0) + (summary?.refreshed ?? 0) + readded;
    const kind = KINDS.find((k) => findings.some((f) => f.kind === k)) ?? (bans > 0 ? 'elements' : null);
    if (!kind) return;
    this.record(kind, job, findings, summary, readded, started);
  }

  /** Elements seen deleted from sets that were not read back: the ones still banned go back. */
  private async putBack(removed: ReadonlyMap<string, BanSetName>, read: ReadonlySet<BanSetName>): Promise<number> {
    if (removed.size === 0) return 0;
    const unsettled = this.p.flusher.unsettled();
    const nowMs = this.p.clock();
    const add: ElementChange[] = [];
    for (const [key, set] of removed) {
      const o = this.p.ledger.active(key);
      if (read.has(set) || !o || o.set !== set || unsettled.has(key)) continue;
      if (o.expiresMs !== null && o.expiresMs - nowMs < MIN_LEFT_SEC * 1000) continue;
      add.push({ set, key, timeoutSec: remainingSec(o.expiresMs, nowMs) });
    }
    if (add.length > 0) await this.p.flusher.direct({ add });
    return add.length;
  }

  private record(
    kind: HealKind,
    job: Job,
    findings: readonly ShapeFinding[],
    summary: ReconcileSummary | null,
    readded: number,
    started: number,
  ): void {
    const now = performance.now();
    this.stats.heals++;
    this.stats.healsByKind[kind]++;
    this.stats.lastHealMs = this.p.clock();
    this.p.log.warn(
      {
        kind,
        repaired: findings.slice(0, 8).map((f) => f.what),
        rulesetApplied: findings.length > 0,
        bans: { added: (summary?.added ?? 0) + readded, refreshed: summary?.refreshed ?? 0 },
        seen: describeDamage(job.damage),
        why: [...job.why].slice(0, 4),
        durationMs: Math.round(now - started),
        sinceReportedMs: Math.round(now - job.since),
      },
      'self-healed',
    );
  }
}
