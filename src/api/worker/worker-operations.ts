/**
 * Operations as the API worker thread sees them: reads from its own read-only store connection
 * (no wait for the daemon's main thread), everything else asked of the main thread over RPC
 * (daemon-rpc.ts). Without a store file (dry-run, `:memory:`) reads go over RPC too.
 */
import type { AllowEntry, BanListFilter, BanView, ConfirmAnswer, ConfirmTicket } from '../../engine/operations.ts';
import type { IpPrefix } from '../../net/ip.ts';
import type { Clock } from '../../clock.ts';
import type { ApiOperations } from '../context.ts';
import type { RpcClient } from './rpc.ts';
import type { DaemonRpc } from './daemon-rpc.ts';
import type { StoreReader } from './store-reader.ts';

export class WorkerOperations implements ApiOperations {
  private readonly rpc: RpcClient<DaemonRpc>;
  private readonly reader: StoreReader | null;
  private readonly clock: Clock;

  constructor(rpc: RpcClient<DaemonRpc>, reader: StoreReader | null, clock: Clock) {
    this.rpc = rpc;
    this.reader = reader;
    this.clock = clock;
  }

  listBans(filter: BanListFilter): { total: number; items: BanView[] } | Promise<{ total: number; items: BanView[] }> {
    return this.reader ? this.reader.queries.listBans(filter, this.clock()) : this.rpc.call('listBans', filter);
  }

  getBan(address: IpPrefix): BanView | null | Promise<BanView | null> {
    return this.reader ? this.reader.queries.getBan(address, this.clock()) : this.rpc.call('getBan', address.text);
  }

  ban(request: { address: IpPrefix; durationSec: number | null; reason: string }): Promise<BanView> {
    return this.rpc.call('ban', {
      address: request.address.text,
      durationSec: request.durationSec,
      reason: request.reason,
    });
  }

  unban(address: IpPrefix): Promise<boolean> {
    return this.rpc.call('unban', address.text);
  }

  listAllow(): Promise<AllowEntry[]> {
    return this.rpc.call('listAllow');
  }

  addAllow(prefix: IpPrefix, note: string): Promise<{ entry: AllowEntry; liftedBans: number }> {
    return this.rpc.call('addAllow', prefix.text, note);
  }

  removeAllow(prefix: IpPrefix): Promise<boolean> {
    return this.rpc.call('removeAllow', prefix.text);
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
