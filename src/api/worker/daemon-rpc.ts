/**
 * The calls the API worker makes of the daemon's main thread: every Operation, with its
 * addresses as canonical text (an IpPrefix does not cross the port as itself; the main side
 * parses the text again), and nft's drop counters (a read forks nft, which the worker never does).
 * One definition, derived from Operations: a handler missing or mistyped on the main side, or a
 * call with the wrong arguments on the worker side, does not compile.
 */
import { NftsentryError, ErrorCodes } from '../../errors.ts';
import { parsePrefix, type IpPrefix } from '../../net/ip.ts';
import type { Actor, Operations } from '../../engine/operations.ts';
import type { CounterValue } from '../../nft/state.ts';
import type { DaemonView } from '../daemon-view.ts';
import type { RpcHandlers } from './rpc.ts';

/** A value as it crosses the port: each IpPrefix in it as its canonical text. */
export type OnWire<T> = T extends IpPrefix ? string : T extends object ? { [K in keyof T]: OnWire<T[K]> } : T;

/** Every Operation but `counters` (the worker has those from the telemetry snapshots). */
type RpcOperations = Omit<Operations, 'counters'>;

type OperationsRpc = {
  [K in keyof RpcOperations]-?: (
    ...args: OnWire<Parameters<NonNullable<RpcOperations[K]>>>
  ) => Awaited<ReturnType<NonNullable<RpcOperations[K]>>>;
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

/** An actor from the worker: two short strings, or none (never trusted as more than text). */
function actorArg(v: unknown): Actor | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const { token, from, ref } = v as Record<string, unknown>;
  const text = (x: unknown) => (typeof x === 'string' ? x.slice(0, 128) : 'unknown');
  return { token: text(token), from: text(from), ...(Number.isSafeInteger(ref) ? { ref: ref as number } : {}) };
}

/** The main side's handlers: the daemon's Operations, and its drop counters. */
export function daemonHandlers(daemon: DaemonView): RpcHandlers<DaemonRpc> {
  return {
    listBans: (filter) => daemon.operations.listBans(filter),
    getBan: (address) => daemon.operations.getBan(prefixArg(address)),
    ban: (r) =>
      daemon.operations.ban({
        address: prefixArg(r.address),
        durationSec: r.durationSec,
        reason: r.reason,
        actor: actorArg(r.actor),
      }),
    unban: (address, options) =>
      daemon.operations.unban(prefixArg(address), { fleet: options?.fleet === true, actor: actorArg(options?.actor) }),
    listAllow: () => daemon.operations.listAllow(),
    addAllow: (prefix, note, actor) => daemon.operations.addAllow(prefixArg(prefix), String(note), actorArg(actor)),
    removeAllow: (prefix, actor) => daemon.operations.removeAllow(prefixArg(prefix), actorArg(actor)),
    actorFrom: (ref, from) => {
      if (Number.isSafeInteger(ref)) daemon.operations.actorFrom?.(ref, String(from).slice(0, 128));
    },
    hitsOf: (targets) =>
      daemon.operations.hitsOf?.(
        (Array.isArray(targets) ? targets : []).slice(0, 1000).map((t) => String(t).slice(0, 64)),
      ) ?? {},
    audit: (limit) => daemon.operations.audit?.(Math.max(1, Math.min(1000, Math.trunc(Number(limit)) || 20))) ?? [],
    hits: (target) => daemon.operations.hits?.(String(target).slice(0, 64)) ?? null,
    explain: (address) => {
      const ops = daemon.operations;
      if (!ops.explain) throw new NftsentryError(ErrorCodes.NOT_FOUND, 'this daemon keeps no journal to explain from');
      return ops.explain(prefixArg(address));
    },
    status: () => daemon.operations.status(),
    applyConfirm: (r) =>
      daemon.operations.applyConfirm({ confirmSec: Number(r.confirmSec), configPath: String(r.configPath) }),
    confirmApply: () => daemon.operations.confirmApply(),
    dropCounters: () => daemon.dropCounters(),
  };
}
