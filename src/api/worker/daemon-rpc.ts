/**
 * The calls the API worker makes of the daemon's main thread: every Operation, with its
 * addresses as canonical text (an IpPrefix does not cross the port as itself; the main side
 * parses the text again), and nft's drop counters (a read forks nft, which the worker never does).
 * One definition, derived from Operations: a handler missing or mistyped on the main side, or a
 * call with the wrong arguments on the worker side, does not compile.
 */
import { NftsentryError, ErrorCodes } from '../../errors.ts';
import { parsePrefix, type IpPrefix } from '../../net/ip.ts';
import type { Operations } from '../../engine/operations.ts';
import type { CounterValue } from '../../nft/state.ts';
import type { DaemonView } from '../daemon-view.ts';
import type { RpcHandlers } from './rpc.ts';

/** A value as it crosses the port: each IpPrefix in it as its canonical text. */
export type OnWire<T> = T extends IpPrefix ? string : T extends object ? { [K in keyof T]: OnWire<T[K]> } : T;

type OperationsRpc = {
  [K in keyof Operations]: (...args: OnWire<Parameters<Operations[K]>>) => Awaited<ReturnType<Operations[K]>>;
};

export interface DaemonRpc extends OperationsRpc {
  dropCounters: () => readonly CounterValue[];
}

export type DaemonOp = keyof DaemonRpc;

/** The text of a prefix from the worker, parsed again: the main side trusts no other thread's value. */
function prefixArg(v: unknown): IpPrefix {
  const p = typeof v === 'string' ? parsePrefix(v) : null;
  if (!p) throw new NftsentryError(ErrorCodes.ADDRESS_INVALID, `not an address or prefix: ${String(v).slice(0, 60)}`);
  return p;
}

/** The main side's handlers: the daemon's Operations, and its drop counters. */
export function daemonHandlers(daemon: DaemonView): RpcHandlers<DaemonRpc> {
  return {
    listBans: (filter) => daemon.operations.listBans(filter),
    getBan: (address) => daemon.operations.getBan(prefixArg(address)),
    ban: (r) => daemon.operations.ban({ address: prefixArg(r.address), durationSec: r.durationSec, reason: r.reason }),
    unban: (address, options) => daemon.operations.unban(prefixArg(address), { fleet: options?.fleet === true }),
    listAllow: () => daemon.operations.listAllow(),
    addAllow: (prefix, note) => daemon.operations.addAllow(prefixArg(prefix), String(note)),
    removeAllow: (prefix) => daemon.operations.removeAllow(prefixArg(prefix)),
    status: () => daemon.operations.status(),
    applyConfirm: (r) =>
      daemon.operations.applyConfirm({ confirmSec: Number(r.confirmSec), configPath: String(r.configPath) }),
    confirmApply: () => daemon.operations.confirmApply(),
    dropCounters: () => daemon.dropCounters(),
  };
}
