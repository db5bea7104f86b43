/**
 * What test/kernel/fake-agrees.test.ts compares between real nft and the fake: the outcome of an
 * operation (its value, or its error code and first line), and a snapshot of everything this
 * project reads back, normalised (`expires` pulled out to compare within a tolerance, handles
 * dropped, lists sorted).
 */
import type { Nft, NftJson } from '../../src/nft/nft.ts';
import { readCounters, readSet, tableExists } from '../../src/nft/state.ts';
import { readKernelScanners } from '../../src/nft/scanners.ts';
import { readBanSets } from '../../src/engine/kernel-bans.ts';
import { isNftsentryError } from '../../src/errors.ts';

export type Outcome = { ok: unknown } | { error: string; message: string };

export async function outcome(op: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: await op() };
  } catch (err) {
    // A script's errors carry its file's location (a temporary path), the fake's none; the fake
    // does not copy the parser's wording after "syntax error".
    if (isNftsentryError(err)) {
      const message = err.message
        .replace(/^nft failed: [^ ]+:\d+:\d+-\d+: /, 'nft failed: ')
        .replace(/(Error: syntax error).*/, '$1');
      return { error: err.code, message };
    }
    throw err;
  }
}

/** `expires` values pulled out (compared within the tolerance), handles dropped, lists sorted. */
export function normalise(value: unknown, expires: number[], timeoutsToo = false): unknown {
  if (Array.isArray(value)) {
    // Each item's `expires` go out in the sorted order of the items, so that the two sides pair
    // the same elements whatever order each lists them in (a hash set's order is the kernel's).
    const items = value.map((v) => {
      const own: number[] = [];
      const n = normalise(v, own, timeoutsToo);
      return { n, key: JSON.stringify(n), own };
    });
    items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const i of items) expires.push(...i.own);
    return items.map((i) => i.n);
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === 'handle') continue;
      if (k === 'expires' || k === 'expiresSec') expires.push(v as number);
      else if (timeoutsToo && (k === 'timeout' || k === 'timeoutSec') && typeof v === 'number') expires.push(v);
      else out[k] = normalise(v, expires, timeoutsToo);
    }
    return out;
  }
  return value;
}

/** What each rule of a chain refers to and does: set references, counters, verdicts, jumps. */
function ruleSummary(chain: NftJson): string[] {
  return chain.nftables
    .filter((o) => 'rule' in o)
    .map((o) => {
      const words: string[] = [];
      const walk = (v: unknown): void => {
        if (typeof v === 'string' && v.startsWith('@')) words.push(v);
        else if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') {
          for (const [k, x] of Object.entries(v)) {
            if (['accept', 'drop', 'return'].includes(k)) words.push(k);
            if (k === 'counter' && typeof x === 'string') words.push(`counter:${x}`);
            if (k === 'jump' || k === 'goto') words.push(`${k}:${(x as { target: string }).target}`);
            walk(x);
          }
        }
      };
      walk((o.rule as { expr: unknown }).expr);
      return words.join(' ');
    });
}

const SETS = [
  'ban4',
  'ban6',
  'ban6net64',
  'bannet4',
  'bannet6',
  'scanners4',
  'scanners6',
  'allow4',
  'allow6',
  'home4',
  'home6',
  'services',
  'fwd_services',
  'trap_ports',
];

/** Everything this project reads, through its own readers and as nft's JSON. */
export async function snapshot(nft: Nft): Promise<Record<string, unknown>> {
  if (!(await tableExists(nft))) return { table: null };
  const terse = await nft.json(['-t', 'list', 'table', 'inet', 'nftsentry']);
  const chains = terse.nftables.filter((o) => 'chain' in o).map((o) => (o.chain as { name: string }).name);
  const out: Record<string, unknown> = { objects: terse.nftables.filter((o) => !('rule' in o)) };
  // The reads without `expires` first: the real side's reads after its first `expires` all delay
  // the fake's reads, and the two are compared within a tolerance of seconds.
  for (const c of chains) out[`chain ${c}`] = ruleSummary(await nft.json(['list', 'chain', 'inet', 'nftsentry', c]));
  out.counters = await readCounters(nft);
  out.banSets = Object.fromEntries(await readBanSets(nft));
  out.scanners = await readKernelScanners(nft);
  const names = new Set(terse.nftables.flatMap((o) => ('set' in o ? [(o.set as { name: string }).name] : [])));
  for (const s of SETS.filter((x) => names.has(x))) {
    out[`set ${s}`] = await nft.json(['list', 'set', 'inet', 'nftsentry', s]);
    out[`read ${s}`] = await readSet(nft, s);
  }
  for (const m of ['scan_reason4', 'scan_reason6'])
    out[`map ${m}`] = await nft.json(['list', 'map', 'inet', 'nftsentry', m]).catch(() => null);
  return out;
}
