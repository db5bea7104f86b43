/**
 * Reading the ban sets back from the kernel (start-up reconcile, self-healing), and a cheap probe
 * that they still exist: `add` + `delete` of a never-banned key in the ban hash sets, one
 * transaction through the co-process (under 1 ms), which fails with E_NFT_NOT_FOUND once the
 * table is gone (`nft flush ruleset`, nftables restarted). The probe is also the transaction that
 * shows a freshly started `nft monitor` listening (engine/kernel-watch.ts).
 */
import type { ElementChange } from '../nft/elements.ts';
import type { Nft, NftJson } from '../nft/nft.ts';
import type { SetElement } from '../nft/state.ts';
import { canonicalIp } from '../net/ip.ts';
import { ElementScanner } from '../nft/element-scanner.ts';
import { NETWORK_KEY_SETS, TABLE_FAMILY, TABLE_NAME } from '../nft/objects.ts';
import { type BanSetName, parseBanTarget } from './ban-target.ts';

export const BAN_SET_NAMES: readonly BanSetName[] = ['ban4', 'ban6', 'ban6net64', 'bannet4', 'bannet6'];

/**
 * Probe elements: 0.0.0.0 and :: are never banned (unspecified addresses). Only the two address
 * hash sets: the sets cannot vanish one by one while the rules refer to them (the table goes as a
 * whole), so one probed set tells for all.
 */
export const PROBE: readonly ElementChange[] = [
  { set: 'ban4', key: '0.0.0.0' },
  { set: 'ban6', key: '::' },
];

function isAnyProtocol(val: unknown): boolean {
  const r = val && typeof val === 'object' && 'range' in val ? (val as { range: unknown[] }).range : null;
  return r !== null && r[0] === 0 && r[1] === 255;
}

/**
 * nft prints IPv4 canonically, so only IPv6 text goes through the parser (the cheaper path for large sets).
 * A concatenation `{concat: [address or prefix, {range: [0, 255]}]}` (ANY_PROTOCOL_SETS) is its
 * address part; one for fewer protocols is not a ban nftsentry writes: null, left alone.
 */
function keyText(val: unknown): string | null {
  if (typeof val === 'string') return val.includes(':') ? canonicalIp(val) : val;
  if (val && typeof val === 'object' && 'prefix' in val) {
    const p = (val as { prefix: { addr: string; len: number } }).prefix;
    const a = keyText(p.addr);
    return a === null ? null : `${a}/${p.len}`;
  }
  if (val && typeof val === 'object' && 'concat' in val) {
    const parts = (val as { concat: unknown[] }).concat;
    return parts.length === 2 && isAnyProtocol(parts[1]) ? keyText(parts[0]) : null;
  }
  return null;
}

/**
 * One element of a ban set as `nft -j list set` prints it (a bare key, or `{elem: {val, timeout,
 * expires, counter}}`); null for a key that is not a ban nftsentry writes. With `prefixLen` (a
 * network-address set, ban6net64) the key comes back as `addr/len`: the text the store, the
 * memory and element changes use. In a set keyed `address . protocol` (bannet4/bannet6) the key
 * is the address part (`addr/len`, or the address of a /32 or /128).
 */
export function banSetElement(raw: unknown, prefixLen?: number): SetElement | null {
  let val: unknown = raw;
  let timeoutSec: number | null = null;
  let expiresSec: number | null = null;
  let counter: { packets?: unknown; bytes?: unknown } | undefined;
  if (raw && typeof raw === 'object' && 'elem' in raw) {
    const e = (raw as { elem: { val: unknown; timeout?: unknown; expires?: unknown; counter?: typeof counter } }).elem;
    val = e?.val;
    timeoutSec = typeof e?.timeout === 'number' ? e.timeout : null;
    expiresSec = typeof e?.expires === 'number' ? e.expires : timeoutSec;
    counter = e?.counter && typeof e.counter === 'object' ? e.counter : undefined;
  }
  const key = keyText(val);
  if (key === null) return null;
  return {
    key: prefixLen !== undefined && !key.includes('/') ? `${key}/${prefixLen}` : key,
    timeoutSec,
    expiresSec,
    ...(counter ? { packets: Number(counter.packets ?? 0), bytes: Number(counter.bytes ?? 0) } : {}),
  };
}

/** The elements of a ban set from a parsed `nft -j list set` answer. */
export function banSetElements(json: NftJson, prefixLen?: number): SetElement[] {
  const set = json.nftables.find((o) => 'set' in o)?.set as { elem?: unknown[] } | undefined;
  const out: SetElement[] = [];
  for (const raw of set?.elem ?? []) {
    const e = banSetElement(raw, prefixLen);
    if (e) out.push(e);
  }
  return out;
}

/**
 * Hands each element of one ban set to `fn` as nft prints it, without holding the listing
 * (element-scanner.ts): what a reader keeps is its own choice. Resolves once the set was read.
 */
export async function eachBanSetElement(runner: Nft, set: BanSetName, fn: (e: SetElement) => void): Promise<void> {
  const prefixLen = (NETWORK_KEY_SETS as Record<string, number>)[set];
  const scanner = new ElementScanner((raw) => {
    const e = banSetElement(raw, prefixLen);
    if (e) fn(e);
  });
  await runner.jsonText(['list', 'set', TABLE_FAMILY, TABLE_NAME, set], (piece) => scanner.push(piece));
  scanner.end();
}

/** The elements of the named ban sets (all of them by default), the sets read side by side. */
export async function readBanSets(
  runner: Nft,
  sets: readonly BanSetName[] = BAN_SET_NAMES,
): Promise<Map<BanSetName, SetElement[]>> {
  const lists = await Promise.all(
    sets.map(async (s) => {
      const list: SetElement[] = [];
      await eachBanSetElement(runner, s, (e) => list.push(e));
      return list;
    }),
  );
  return new Map(sets.map((s, i) => [s, lists[i]!]));
}

/** What the kernel counted on a ban element since the ban. */
export interface ElementHits {
  packets: number;
  bytes: number;
}

/**
 * The counters of the given ban targets' elements (their sets declared with `counter`), each set
 * read once as a stream and only the targets asked for kept: `list set` reads that one set, where
 * nft 1.0.6 answers `get element` only after reading every set's elements. Targets whose element
 * is not there, or not counted, have no entry.
 */
export async function readBanHits(runner: Nft, targets: readonly string[]): Promise<Map<string, ElementHits>> {
  const wanted = new Map<BanSetName, Set<string>>();
  for (const text of targets) {
    const t = parseBanTarget(text);
    if (!t) continue;
    const keys = wanted.get(t.set) ?? new Set<string>();
    keys.add(t.text);
    wanted.set(t.set, keys);
  }
  const out = new Map<string, ElementHits>();
  for (const [set, keys] of wanted) {
    await eachBanSetElement(runner, set, (e) => {
      if (e.packets !== undefined && keys.has(e.key)) out.set(e.key, { packets: e.packets, bytes: e.bytes ?? 0 });
    });
  }
  return out;
}
