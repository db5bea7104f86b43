/**
 * Reading what the kernel holds: set and map elements (with their timeouts), named counters.
 * The JSON -> data functions are pure; the `read*` functions ask nft (the runner or the fake).
 */
import { cachedReader } from '../cached-reader.ts';
import { NftsentryError, ErrorCodes } from '../errors.ts';
import { canonicalIp } from '../net/ip.ts';
import type { Nft, NftJson } from './nft.ts';
import { TABLE_FAMILY, TABLE_NAME } from './objects.ts';

export interface SetElement {
  /**
   * Canonical address, or `addr/len` for a prefix in an interval set; the parts of a
   * concatenation joined as nft prints them (`198.51.100.0/24 . 0-255` in bannet4).
   */
  key: string;
  /** Seconds, as declared on the element; null when it has none. */
  timeoutSec: number | null;
  /** Seconds left; null when the element does not expire. */
  expiresSec: number | null;
  /** For a map: the element's data (e.g. the scan reason mark). */
  data?: number | string;
  /** In a set declared with `counter`: what the element matched since it was added. */
  packets?: number;
  bytes?: number;
}

export interface CounterValue {
  name: string;
  comment: string;
  packets: number;
  bytes: number;
}

function keyOf(val: unknown): string {
  if (typeof val === 'string') return canonicalIp(val) ?? val;
  if (typeof val === 'number') return String(val);
  if (val && typeof val === 'object' && 'prefix' in val) {
    const p = (val as { prefix: { addr: string; len: number } }).prefix;
    return `${canonicalIp(p.addr) ?? p.addr}/${p.len}`;
  }
  if (val && typeof val === 'object' && 'concat' in val) {
    return (val as { concat: unknown[] }).concat.map(keyOf).join(' . ');
  }
  if (val && typeof val === 'object' && 'range' in val) {
    const [a, b] = (val as { range: [unknown, unknown] }).range;
    return `${keyOf(a)}-${keyOf(b)}`;
  }
  return JSON.stringify(val);
}

function elementOf(raw: unknown): SetElement {
  if (raw && typeof raw === 'object' && 'elem' in raw) {
    const e = (
      raw as {
        elem: { val: unknown; timeout?: number; expires?: number; counter?: { packets?: number; bytes?: number } };
      }
    ).elem;
    const el: SetElement = {
      key: keyOf(e.val),
      timeoutSec: e.timeout ?? null,
      expiresSec: e.expires ?? e.timeout ?? null,
    };
    if (e.counter) {
      el.packets = Number(e.counter.packets ?? 0);
      el.bytes = Number(e.counter.bytes ?? 0);
    }
    return el;
  }
  return { key: keyOf(raw), timeoutSec: null, expiresSec: null };
}

/** Elements of a `nft -j list set|map` answer. */
export function parseSetElements(json: NftJson): SetElement[] {
  const obj = json.nftables.find((o) => 'set' in o || 'map' in o);
  if (!obj) return [];
  const body = (obj.set ?? obj.map) as { elem?: unknown[]; map?: unknown };
  const isMap = 'map' in obj;
  return (body.elem ?? []).map((raw) => {
    if (isMap && Array.isArray(raw)) {
      const el = elementOf(raw[0]);
      const data = raw[1];
      return { ...el, data: typeof data === 'number' || typeof data === 'string' ? data : JSON.stringify(data) };
    }
    return elementOf(raw);
  });
}

export function parseCounters(json: NftJson): CounterValue[] {
  return json.nftables
    .filter((o) => 'counter' in o)
    .map((o) => {
      const c = o.counter as { name: string; comment?: string; packets: number; bytes: number };
      return { name: c.name, comment: c.comment ?? '', packets: c.packets, bytes: c.bytes };
    });
}

export async function readSet(runner: Nft, name: string, kind: 'set' | 'map' = 'set'): Promise<SetElement[]> {
  return parseSetElements(await runner.json(['list', kind, TABLE_FAMILY, TABLE_NAME, name]));
}

export async function readCounters(runner: Nft): Promise<CounterValue[]> {
  return parseCounters(await runner.json(['list', 'counters', 'table', TABLE_FAMILY, TABLE_NAME]));
}

/**
 * The named counters, one reader for everyone who asks (status, metrics). Reading counters makes
 * nft 1.0.6 read every set's elements, so a read happens at most every max(1 s, 10 x the last
 * read's duration) and calls in between get the last answer.
 */
export function sharedCounterReader(runner: Nft): () => Promise<readonly CounterValue[]> {
  let lastReadMs = 0;
  return cachedReader(
    async () => {
      const started = performance.now();
      try {
        return await readCounters(runner);
      } finally {
        lastReadMs = performance.now() - started;
      }
    },
    () => Math.max(1000, 10 * lastReadMs),
  );
}

/** True when `table inet nftsentry` exists (false after `nft flush ruleset`). */
export async function tableExists(runner: Nft): Promise<boolean> {
  try {
    await runner.run(['list', 'table', TABLE_FAMILY, TABLE_NAME]);
    return true;
  } catch (err) {
    if (err instanceof NftsentryError && err.code === ErrorCodes.NFT_NOT_FOUND) return false;
    throw err;
  }
}
