/**
 * Set element changes -> the statements of one nft transaction. Pure: data in, text out.
 *
 * - A new ban is `add element` with its timeout.
 * - A refresh must set a new timeout whatever the kernel holds. Where the kernel updates an
 *   element's timeout and expiry on a re-add (`inPlace`, probed by nft/refresh-probe.ts) it is that
 *   one `add` with `timeout T expires T` (with the same timeout and no `expires`, the kernel would
 *   leave the time left alone), which keeps the element's counter (the hits since the ban). Elsewhere (re-adding alone does
 *   not update a timeout on older kernels): `add` (so the element surely exists) + `delete` + `add`
 *   with the new timeout, all in the same transaction; the counter starts again from zero.
 * - An unban is `add` + `delete` in one transaction, so an element that is already gone (expired,
 *   flushed) is not an error.
 * Keys must already be canonical (net/ip.ts); they are checked again here, since this text goes
 * to nft: anything that is not an address or prefix throws.
 * In a network-address hash set (NETWORK_KEY_SETS: ban6net64) an element `addr/64` is written as
 * `addr` (a hash set takes no prefix); any other prefix length there throws. In a set keyed
 * `address . protocol` (ANY_PROTOCOL_SETS: bannet4, bannet6) it is written `addr/len . 0-255`.
 */
import { ANY_PROTOCOL, ANY_PROTOCOL_SETS, NETWORK_KEY_SETS, TABLE } from './objects.ts';

export interface ElementChange {
  set: string;
  /** Canonical address, or `addr/len` for a prefix (any ban set that holds prefixes). */
  key: string;
  /** For a new or refreshed element; null: no timeout (permanent). */
  timeoutSec?: number | null;
  /** For a map element (scan_reason4/6): the data, e.g. a mark. */
  data?: number;
}

export interface ElementBatch {
  add?: readonly ElementChange[];
  refresh?: readonly ElementChange[];
  remove?: readonly ElementChange[];
}

/** Elements per statement: keeps lines readable by nft's parser without one huge token list. */
const CHUNK = 4096;
const SET_NAME = /^[a-z][a-z0-9_]{0,31}$/;
const KEY = /^[0-9a-f.:]{2,45}(\/\d{1,3})?$/;

/**
 * The key as nft takes it in that set: `addr/len` becomes `addr` in a network-address set, any
 * key `key . 0-255` in a set keyed `address . protocol`.
 */
export function kernelKey(set: string, key: string): string {
  if (Object.hasOwn(ANY_PROTOCOL_SETS, set)) return `${key} . ${ANY_PROTOCOL}`;
  const len = (NETWORK_KEY_SETS as Record<string, number>)[set];
  if (len === undefined) return key;
  const slash = key.indexOf('/');
  if (slash < 0) return key;
  if (key.slice(slash + 1) !== String(len))
    throw new Error(`${set} holds /${len} networks only, not ${JSON.stringify(key)}`);
  return key.slice(0, slash);
}

/** `restart`: also `expires` = the timeout, so that a re-add restarts the element's clock. */
function element(e: ElementChange, withTimeout: boolean, restart = false): string {
  if (!KEY.test(e.key)) throw new Error(`not an address or prefix: ${JSON.stringify(e.key)}`);
  let out = kernelKey(e.set, e.key);
  if (withTimeout && e.timeoutSec != null) {
    if (!Number.isSafeInteger(e.timeoutSec) || e.timeoutSec < 1) throw new Error(`bad timeout ${e.timeoutSec}`);
    out += ` timeout ${e.timeoutSec}s`;
    if (restart) out += ` expires ${e.timeoutSec}s`;
  }
  if (e.data !== undefined) out += ` : ${Math.trunc(e.data)}`;
  return out;
}

function grouped(list: readonly ElementChange[]): Map<string, ElementChange[]> {
  const bySet = new Map<string, ElementChange[]>();
  for (const e of list) {
    if (!SET_NAME.test(e.set)) throw new Error(`bad set name ${JSON.stringify(e.set)}`);
    let g = bySet.get(e.set);
    if (!g) {
      g = [];
      bySet.set(e.set, g);
    }
    g.push(e);
  }
  return bySet;
}

function statements(
  verb: 'add' | 'delete',
  list: readonly ElementChange[],
  withTimeout: boolean,
  out: string[],
  restart = false,
): void {
  for (const [set, els] of grouped(list)) {
    for (let i = 0; i < els.length; i += CHUNK) {
      const body = els.slice(i, i + CHUNK).map((e) => element(e, withTimeout && verb === 'add', restart));
      out.push(`${verb} element ${TABLE} ${set} { ${body.join(', ')} }`);
    }
  }
}

/** The statements of one transaction, in order. Empty when there is nothing to do. */
export function elementStatements(batch: ElementBatch, inPlace = false): string[] {
  const out: string[] = [];
  const refresh = batch.refresh ?? [];
  const remove = batch.remove ?? [];
  // Removal data for maps must be absent on delete; the ensuring add carries it.
  const bare = (l: readonly ElementChange[]) => l.map((e) => ({ set: e.set, key: e.key }));
  if (remove.length > 0) {
    statements('add', remove, false, out);
    statements('delete', bare(remove), false, out);
  }
  if (refresh.length > 0) {
    if (inPlace) statements('add', refresh, true, out, true);
    else {
      statements('add', refresh, true, out);
      statements('delete', bare(refresh), false, out);
      statements('add', refresh, true, out);
    }
  }
  statements('add', batch.add ?? [], true, out);
  return out;
}

/** How many element changes the batch holds (what sizes a transaction). */
export function batchSize(batch: ElementBatch): number {
  return (batch.add?.length ?? 0) + (batch.refresh?.length ?? 0) + (batch.remove?.length ?? 0);
}

/** The batch as an nft script (for `nft -f`): one transaction. */
export function elementScript(batch: ElementBatch, inPlace = false): string {
  const s = elementStatements(batch, inPlace);
  return s.length === 0 ? '' : `${s.join('\n')}\n`;
}
