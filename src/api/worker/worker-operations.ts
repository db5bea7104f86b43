/**
 * Operations as the API worker thread sees them: reads from its own read-only store connection
 * (no wait for the daemon's main thread), everything else asked of the main thread over RPC
 * (daemon-rpc.ts). Without a store file (dry-run, `:memory:`) reads go over RPC too.
 */
import type {
  Actor,
  AllowEntry,
  BanHits,
  Explanation,
  ExplainEntry,
  BanListFilter,
  BanView,
  ConfirmAnswer,
  ConfirmTicket,
} from '../../engine/operations.ts';
import type { IpPrefix } from '../../net/ip.ts';
import type { Clock } from '../../clock.ts';
import type { ApiOperations } from '../context.ts';
import type { RpcClient } from './rpc.ts';
import type { DaemonRpc } from './daemon-rpc.ts';
import type { StoreReader } from './store-reader.ts';
import type { BanStatsSummary } from '../../store/ban-stats.ts';

export class WorkerOperations implements ApiOperations {
  private readonly rpc: RpcClient<DaemonRpc>;
  private readonly reader: StoreReader | null;
  private readonly clock: Clock;

  /** Present only with a store reader (the summary reads SQL the engine does not keep). */
  readonly banStats?: (sinceMs: number, nowMs: number, bucketMs: number) => BanStatsSummary;

  constructor(rpc: RpcClient<DaemonRpc>, reader: StoreReader | null, clock: Clock) {
    this.rpc = rpc;
    this.reader = reader;
    this.clock = clock;
    if (reader) this.banStats = (sinceMs, nowMs, bucketMs) => reader.stats.summary(sinceMs, nowMs, bucketMs);
  }

  listBans(filter: BanListFilter): { total: number; items: BanView[] } | Promise<{ total: number; items: BanView[] }> {
    return this.reader ? this.reader.queries.listBans(filter, this.clock()) : this.rpc.call('listBans', filter);
  }

  getBan(address: IpPrefix): BanView | null | Promise<BanView | null> {
    return this.reader ? this.reader.queries.getBan(address, this.clock()) : this.rpc.call('getBan', address.text);
  }

  ban(request: { address: IpPrefix; durationSec: number | null; reason: string; actor?: Actor }): Promise<BanView> {
    return this.rpc.call('ban', {
      address: request.address.text,
      durationSec: request.durationSec,
      reason: request.reason,
      actor: request.actor,
    });
  }

  unban(address: IpPrefix, options: { fleet?: boolean; actor?: Actor } = {}): Promise<boolean> {
    return this.rpc.call('unban', address.text, { fleet: options.fleet === true, actor: options.actor });
  }

  listAllow(): Promise<AllowEntry[]> {
    return this.rpc.call('listAllow');
  }

  addAllow(prefix: IpPrefix, note: string, actor?: Actor): Promise<{ entry: AllowEntry; liftedBans: number }> {
    return this.rpc.call('addAllow', prefix.text, note, actor);
  }

  removeAllow(prefix: IpPrefix, actor?: Actor): Promise<boolean> {
    return this.rpc.call('removeAllow', prefix.text, actor);
  }

  actorFrom(ref: number, from: string): void {
    this.rpc.call('actorFrom', ref, from).catch(() => undefined);
  }

  hitsOf(targets: readonly string[]): Promise<Record<string, BanHits>> {
    return this.rpc.call('hitsOf', targets);
  }

  audit(limit: number): Promise<ExplainEntry[]> {
    return this.rpc.call('audit', limit);
  }

  hits(target: string): Promise<BanHits | null> {
    return this.rpc.call('hits', target);
  }

  explain(address: IpPrefix): Promise<Explanation> {
    return this.rpc.call('explain', address.text);
  }

  async status(): Promise<Record<string, unknown>> {
    const s = (await this.rpc.call('status')) as Record<string, unknown>;
    return { ...s, apiMemory: process.memoryUsage() };
  }

  applyConfirm(request: { confirmSec: number; configPath: string }): Promise<ConfirmTicket> {
    return this.rpc.call('applyConfirm', request);
  }

  confirmApply(): Promise<ConfirmAnswer> {
    return this.rpc.call('confirmApply');
  }
}
