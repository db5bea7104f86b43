/**
 * What another process did to `table inet nftsentry`, from the lines `nft monitor` printed for
 * one of its transactions (nft/monitor.ts). Pure.
 *
 * - Chains, rules, sets, maps, counters or the table deleted, or rules added: the structure may be
 *   damaged (the healer compares the table's shape with the expected one before it re-applies);
 *   a ban set deleted, or the table, lost its elements too: it is to be read back.
 * - Elements deleted from the ban hash sets (ban4, ban6, ban6net64): which bans, net of what the
 *   same transaction added back (a refresh is add + delete + add).
 * - Anything about the prefix-ban sets (bannet4/6) or the config sets: nft 1.0.6 prints their
 *   element events wrongly or not at all (see nft/monitor.ts), so those sets are to be read. A
 *   transaction that printed nothing may be one of those: the same.
 * - Declarations (`add table|chain|set`) change nothing; other tables are none of our business.
 */
import { canonicalIp } from '../net/ip.ts';
import { CONFIG_SETS, NETWORK_KEY_SETS, TABLE_FAMILY, TABLE_NAME } from '../nft/objects.ts';
import type { BanSetName } from './ban-target.ts';
import { BAN_SET_NAMES } from './kernel-bans.ts';

export interface Damage {
  /** The table's chains, rules or objects changed: compare its shape. */
  structure: boolean;
  /** Ban elements deleted, by key (the ledger's text: `addr/64` for ban6net64), with their set. */
  removed: Map<string, BanSetName>;
  /** Sets whose events nft cannot print were touched: read them. */
  unclear: boolean;
  /** Ban sets to read back whole (what the monitor shows of them is not all there is). */
  sets: Set<BanSetName>;
  /** Lines were dropped (a very large transaction): check everything. */
  incomplete: boolean;
  /** What was seen, counted (`delete rule prerouting: 9`), for the log. */
  seen: Map<string, number>;
}

export function noDamage(): Damage {
  return { structure: false, removed: new Map(), unclear: false, sets: new Set(), incomplete: false, seen: new Map() };
}

export function isDamage(d: Damage): boolean {
  return d.structure || d.removed.size > 0 || d.unclear || d.sets.size > 0 || d.incomplete;
}

/** `b` folded into `a` (later changes win for an element). */
export function mergeDamage(a: Damage, b: Damage): Damage {
  for (const [k, s] of b.removed) a.removed.set(k, s);
  for (const s of b.sets) a.sets.add(s);
  for (const [k, n] of b.seen) a.seen.set(k, (a.seen.get(k) ?? 0) + n);
  a.structure ||= b.structure;
  a.unclear ||= b.unclear;
  a.incomplete ||= b.incomplete;
  return a;
}

/** The seen counts as short text for a log line. */
export function describeDamage(d: Damage, max = 8): string[] {
  const out = [...d.seen].slice(0, max).map(([what, n]) => (n > 1 ? `${what} x${n}` : what));
  if (d.seen.size > max) out.push(`and ${d.seen.size - max} more`);
  return out;
}

const HASH_BAN_SETS: readonly string[] = ['ban4', 'ban6', 'ban6net64'];
const UNPRINTABLE_SETS: readonly string[] = ['bannet4', 'bannet6', ...CONFIG_SETS];
const LINE = /^(add|insert|replace|create|delete) (\S+) (\S+) (\S+)(?: (\S+))?/;

/** The keys of `{ 198.51.100.7 timeout 1h expires 59m, ... }` as the ledger writes them; null if one does not parse. */
function elementKeys(set: string, line: string): string[] | null {
  const open = line.indexOf('{');
  const close = line.lastIndexOf('}');
  if (open < 0 || close < open) return null;
  const keys: string[] = [];
  for (const item of line.slice(open + 1, close).split(',')) {
    const word = item.trim().split(' ')[0] ?? '';
    const key = set === 'ban4' ? (/^\d{1,3}(\.\d{1,3}){3}$/.test(word) ? word : null) : canonicalIp(word);
    if (!key) return null;
    keys.push(set === 'ban6net64' ? `${key}/${NETWORK_KEY_SETS.ban6net64}` : key);
  }
  return keys;
}

function readLine(d: Damage, line: string): void {
  const m = LINE.exec(line);
  if (!m) {
    // Not a line nft prints for a change: part of one it printed wrongly.
    if (line.trim().length > 0) d.unclear = true;
    return;
  }
  const [, verb, what, family, table, name] = m as unknown as [string, string, string, string, string, string?];
  if (family !== TABLE_FAMILY || table !== TABLE_NAME) return;
  const count = (k: string) => d.seen.set(k, (d.seen.get(k) ?? 0) + 1);
  if (what === 'element') {
    const set = name ?? '';
    if (UNPRINTABLE_SETS.includes(set)) {
      d.unclear = true;
      count(`${verb} element ${set}`);
      return;
    }
    if (!HASH_BAN_SETS.includes(set)) return; // meters and kernel-filled sets: not the daemon's state
    const keys = elementKeys(set, line);
    if (!keys) {
      d.unclear = true;
      return;
    }
    for (const k of keys) {
      if (verb === 'delete') d.removed.set(k, set as BanSetName);
      else if (d.removed.get(k) === set) d.removed.delete(k);
    }
    if (verb === 'delete') count(`delete element ${set}`);
    return;
  }
  if (verb !== 'delete' && what !== 'rule') return; // declarations change nothing
  if ((what === 'set' || what === 'map') && (name ?? '').startsWith('__')) return; // a rule's anonymous set
  d.structure = true;
  // A ban set deleted (alone or with the table) lost its elements: read back after the repair.
  if (verb === 'delete' && what === 'table') for (const s of BAN_SET_NAMES) d.sets.add(s);
  if (verb === 'delete' && what === 'set' && BAN_SET_NAMES.includes(name as BanSetName)) d.sets.add(name as BanSetName);
  count(what === 'rule' ? `${verb} rule ${name ?? ''}` : `${verb} ${what}${what === 'table' ? '' : ` ${name ?? ''}`}`);
}

/**
 * The first lines of a large transaction still being printed: the ban sets it deleted elements
 * from are to be read back whole at once (the rest of its lines may take seconds to come).
 */
export function readEarlyDamage(lines: readonly string[]): Damage {
  const d = noDamage();
  for (const set of readDamage(lines).removed.values()) d.sets.add(set);
  return d;
}

/** The damage in one foreign transaction's lines (`truncated`: some were dropped). */
export function readDamage(lines: readonly string[], truncated = false): Damage {
  const d = noDamage();
  // Nothing printed at all: maybe an element event of a set nft 1.0.6 cannot print.
  if (lines.length === 0) d.unclear = true;
  for (const line of lines) readLine(d, line);
  if (truncated) d.incomplete = true;
  return d;
}
