/**
 * A small in-memory Operations for the API's pure-unit tests through `inject`. It follows the
 * contract in src/engine/operations.ts (refuses allowlisted addresses with E_BAN_REFUSED, config
 * entries with E_FORBIDDEN) and records every call, so tests can assert what reached the engine.
 * `memoryDaemon` wraps one in the DaemonView the API's daemon side takes.
 */
import type {
  AllowEntry,
  BanListFilter,
  BanView,
  ConfirmAnswer,
  ConfirmTicket,
  Operations,
} from '../../src/engine/operations.ts';
import type { DaemonView } from '../../src/api/daemon-view.ts';
import { NftsentryError, ErrorCodes } from '../../src/errors.ts';
import { parsePrefix, prefixCovers, type IpPrefix } from '../../src/net/ip.ts';

export type Call = { op: string; arg?: unknown };

export class MemoryOperations implements Operations {
  readonly bans = new Map<string, BanView>();
  readonly allow: AllowEntry[] = [];
  readonly calls: Call[] = [];
  nowMs: number;

  constructor(nowMs = Date.parse('2026-11-21T12:00:00Z')) {
    this.nowMs = nowMs;
  }

  private key(p: IpPrefix): string {
    return p.length === (p.family === 4 ? 32 : 128) ? p.network.text : p.text;
  }

  seed(view: Partial<BanView> & { address: string }): void {
    this.bans.set(view.address, {
      family: view.address.includes(':') ? 6 : 4,
      source: 'suricata',
      reason: 'ET SCAN',
      sid: 2001219,
      signature: 'ET SCAN Potential SSH Scan',
      firstSeenMs: this.nowMs - 60_000,
      lastSeenMs: this.nowMs - 1000,
      expiresMs: this.nowMs + 3_600_000,
      remainingSec: 3600,
      offences: 1,
      ...view,
    });
  }

  listBans(filter: BanListFilter): { total: number; items: BanView[] } {
    this.calls.push({ op: 'listBans', arg: filter });
    const all = [...this.bans.values()].filter(
      (b) =>
        (!filter.source ||
          b.source === filter.source ||
          (filter.source === 'fleet' && b.source.startsWith('fleet:'))) &&
        (!filter.reason || b.reason === filter.reason),
    );
    return { total: all.length, items: all.slice(filter.offset, filter.offset + filter.limit) };
  }

  getBan(address: IpPrefix): BanView | null {
    this.calls.push({ op: 'getBan', arg: address.text });
    return this.bans.get(this.key(address)) ?? null;
  }

  async ban(r: { address: IpPrefix; durationSec: number | null; reason: string }): Promise<BanView> {
    this.calls.push({ op: 'ban', arg: { address: r.address.text, durationSec: r.durationSec, reason: r.reason } });
    const covering = this.allow.find((a) => prefixCovers(parsePrefix(a.prefix)!, r.address));
    if (covering)
      throw new NftsentryError(ErrorCodes.BAN_REFUSED, `${r.address.text} is allowlisted (${covering.prefix})`);
    const key = this.key(r.address);
    const old = this.bans.get(key);
    const view: BanView = {
      address: key,
      family: r.address.family,
      source: 'manual',
      reason: r.reason,
      sid: null,
      signature: null,
      firstSeenMs: old?.firstSeenMs ?? this.nowMs,
      lastSeenMs: this.nowMs,
      expiresMs: r.durationSec === null ? null : this.nowMs + r.durationSec * 1000,
      remainingSec: r.durationSec,
      offences: (old?.offences ?? 0) + 1,
    };
    this.bans.set(key, view);
    return view;
  }

  async unban(address: IpPrefix, options: { fleet?: boolean } = {}): Promise<boolean> {
    this.calls.push({ op: 'unban', arg: options.fleet ? `${address.text} fleet` : address.text });
    return this.bans.delete(this.key(address));
  }

  listAllow(): AllowEntry[] {
    return [...this.allow];
  }

  async addAllow(prefix: IpPrefix, note: string): Promise<{ entry: AllowEntry; liftedBans: number }> {
    this.calls.push({ op: 'addAllow', arg: { prefix: prefix.text, note } });
    const entry: AllowEntry = { prefix: prefix.text, origin: 'api', note, addedMs: this.nowMs };
    this.allow.push(entry);
    let liftedBans = 0;
    for (const [k] of this.bans) {
      if (prefixCovers(prefix, parsePrefix(k)!)) {
        this.bans.delete(k);
        liftedBans++;
      }
    }
    return { entry, liftedBans };
  }

  async removeAllow(prefix: IpPrefix): Promise<boolean> {
    this.calls.push({ op: 'removeAllow', arg: prefix.text });
    const i = this.allow.findIndex((a) => a.prefix === prefix.text);
    if (i < 0) return false;
    if (this.allow[i]!.origin === 'config')
      throw new NftsentryError(ErrorCodes.FORBIDDEN, `${prefix.text} comes from the config file`);
    this.allow.splice(i, 1);
    return true;
  }

  async status(): Promise<Record<string, unknown>> {
    return { mode: 'memory', bans: this.bans.size };
  }

  async applyConfirm(request: { confirmSec: number; configPath: string }): Promise<ConfirmTicket> {
    this.calls.push({ op: 'applyConfirm', arg: `${request.confirmSec} ${request.configPath}` });
    return { id: 'a1', deadlineMs: Date.now() + request.confirmSec * 1000, heldBy: 'daemon' };
  }

  async confirmApply(): Promise<ConfirmAnswer> {
    this.calls.push({ op: 'confirmApply', arg: '' });
    return { confirmed: true, message: 'confirmed apply a1' };
  }
}

/** A dry-run daemon around `ops`: no nft, no counters, the ruleset applied at time 0. */
export function memoryDaemon(ops: MemoryOperations, overrides: Partial<DaemonView> = {}): DaemonView {
  return {
    operations: ops,
    dryRun: true,
    clock: Date.now,
    clockAnchorMs: null,
    dropCounters: async () => [],
    onNftApply: () => () => undefined,
    decisionStats: () => ({ bansBySource: {}, skips: {} }),
    countActiveBySource: () => {
      const by: Record<string, number> = {};
      for (const b of ops.bans.values()) by[b.source] = (by[b.source] ?? 0) + 1;
      return by;
    },
    rulesetAppliedMs: () => 0,
    notReady: () => null,
    storeHealth: () => ({ degraded: false, pendingRows: 0, errors: {}, lastError: null }),
    ...overrides,
  };
}
