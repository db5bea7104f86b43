/**
 * The shape of `table inet nftsentry` as the kernel holds it: its chains (hook, policy, the
 * rules each holds), its named sets, maps and counters, and how many elements each config-filled
 * set holds. Self-healing takes one right after every apply (the expected shape) and compares a
 * fresh one with it; what differs is damage, by kind.
 *
 * Read with `nft -j -t list ruleset`: no elements printed, and nft 1.0.6 reads no elements for it
 * (about 35 ms with 100k bans, where `-t list table` or `list chain` read them all, 0.4-1 s).
 * The config sets are small: their elements are counted with `list set`, which reads only that
 * set. Rules are compared by their JSON (anonymous sets inline), without counter values.
 */
import type { Nft, NftJson } from './nft.ts';
import { CONFIG_SETS, TABLE_FAMILY, TABLE_NAME } from './objects.ts';
import { readSet } from './state.ts';

export interface ChainShape {
  /** `type hook prio policy` of a base chain; null for a regular chain. */
  base: string | null;
  /** Each rule's JSON, in order. */
  rules: string[];
}

export interface TableShape {
  chains: Map<string, ChainShape>;
  /** Named sets, maps and counters (`set ban4`, `counter drop_banned`) and their declarations. */
  objects: Map<string, string>;
  /** Elements of each config-filled set (CONFIG_SETS); empty when not read. */
  configElements: Map<string, number>;
}

/** What can be wrong with the table, worst first (elements are the engine's: the ban sets). */
export type ShapeKind = 'table' | 'chain' | 'set' | 'rule';

export interface ShapeFinding {
  kind: ShapeKind;
  what: string;
  /** What a `set` finding is about (`set ban4`, `counter drop_banned`); `table` when the table is gone. */
  object?: string;
}

type Obj = Record<string, unknown>;

const withoutCounts = (key: string, value: unknown): unknown =>
  key === 'packets' || key === 'bytes' ? undefined : value;

/** The shape of the table in `nft -j -t list ruleset`'s answer; null when the table is not there. */
export function tableShape(json: NftJson, family = TABLE_FAMILY, table = TABLE_NAME): TableShape | null {
  const ours = (o: Obj | undefined): o is Obj => o?.family === family && o.table === table;
  let present = false;
  const shape: TableShape = { chains: new Map(), objects: new Map(), configElements: new Map() };
  for (const item of json.nftables) {
    const t = item.table as Obj | undefined;
    if (t && t.family === family && t.name === table) present = true;
    const chain = item.chain as Obj | undefined;
    if (ours(chain)) {
      const base = chain.hook === undefined ? null : [chain.type, chain.hook, chain.prio, chain.policy].join(' ');
      shape.chains.set(String(chain.name), { base, rules: shape.chains.get(String(chain.name))?.rules ?? [] });
    }
    const rule = item.rule as Obj | undefined;
    if (ours(rule)) {
      const name = String(rule.chain);
      const c = shape.chains.get(name) ?? { base: null, rules: [] };
      c.rules.push(JSON.stringify(rule.expr, withoutCounts));
      shape.chains.set(name, c);
    }
    for (const kind of ['set', 'map', 'counter']) {
      const o = item[kind] as Obj | undefined;
      if (!ours(o) || String(o.name).startsWith('__')) continue;
      const decl = kind === 'counter' ? '' : JSON.stringify([o.type, o.map, o.flags, o.size, o.timeout]);
      shape.objects.set(`${kind} ${String(o.name)}`, decl);
    }
  }
  return present ? shape : null;
}

/** Rules of `want` missing from `have`, and rules of `have` not in `want` (as multisets). */
function ruleDifference(want: readonly string[], have: readonly string[]): { missing: number; extra: number } {
  const count = new Map<string, number>();
  for (const r of want) count.set(r, (count.get(r) ?? 0) + 1);
  let extra = 0;
  for (const r of have) {
    const n = count.get(r) ?? 0;
    if (n > 0) count.set(r, n - 1);
    else extra++;
  }
  let missing = 0;
  for (const n of count.values()) missing += n;
  return { missing, extra };
}

function chainFindings(name: string, want: ChainShape, have: ChainShape | undefined): ShapeFinding[] {
  if (!have) return [{ kind: 'chain', what: `chain ${name} deleted` }];
  const out: ShapeFinding[] = [];
  if (have.base !== want.base) out.push({ kind: 'chain', what: `chain ${name} is "${have.base}", not "${want.base}"` });
  if (want.rules.length > 0 && have.rules.length === 0) {
    out.push({ kind: 'chain', what: `chain ${name} emptied (${want.rules.length} rules)` });
  } else if (want.rules.join('\n') !== have.rules.join('\n')) {
    const { missing, extra } = ruleDifference(want.rules, have.rules);
    const what = missing + extra === 0 ? 'rules out of order' : `${missing} rules missing, ${extra} not ours`;
    out.push({ kind: 'rule', what: `chain ${name}: ${what}` });
  }
  return out;
}

/**
 * What differs between the expected shape and the kernel's. Objects the kernel holds beyond the
 * expected ones are not damage (an apply leaves them, so re-applying would not change them); extra
 * rules in our chains are (an apply flushes our chains). Pure.
 */
export function shapeFindings(expected: TableShape | null, actual: TableShape | null): ShapeFinding[] {
  if (!actual) return [{ kind: 'table', what: `table ${TABLE_FAMILY} ${TABLE_NAME} is gone`, object: 'table' }];
  if (!expected) return [];
  const out: ShapeFinding[] = [];
  let withRules = 0;
  let lost = 0;
  for (const [name, want] of expected.chains) {
    const found = chainFindings(name, want, actual.chains.get(name));
    if (want.rules.length > 0) withRules++;
    if (want.rules.length > 0 && (actual.chains.get(name)?.rules.length ?? 0) === 0) lost++;
    out.push(...found);
  }
  for (const [name, decl] of expected.objects) {
    const have = actual.objects.get(name);
    if (have === undefined) out.push({ kind: 'set', what: `${name} deleted`, object: name });
    else if (have !== decl) out.push({ kind: 'set', what: `${name} declared otherwise`, object: name });
  }
  for (const [name, n] of expected.configElements) {
    const have = actual.configElements.get(name);
    if (have !== undefined && have !== n) out.push({ kind: 'set', what: `set ${name} holds ${have} of ${n} elements` });
  }
  // Every chain lost its rules at once: `nft flush table` (or worse).
  if (withRules > 1 && lost === withRules) out.unshift({ kind: 'table', what: 'every chain lost its rules' });
  return out;
}

/** The table's shape, the config sets' element counts too when `configSets`; null: no table. */
export async function readTableShape(nft: Nft, configSets = true): Promise<TableShape | null> {
  const shape = tableShape(await nft.json(['-t', 'list', 'ruleset']));
  if (shape && configSets) await readConfigElements(nft, shape);
  return shape;
}

/** Counts the config sets' elements into `shape` (a set that is not there is left out). */
export async function readConfigElements(nft: Nft, shape: TableShape): Promise<void> {
  const counts = await Promise.all(
    CONFIG_SETS.map((s) => (shape.objects.has(`set ${s}`) ? readSet(nft, s).then((e) => e.length) : null)),
  );
  CONFIG_SETS.forEach((s, i) => {
    const n = counts[i];
    if (n !== null && n !== undefined) shape.configElements.set(s, n);
  });
}
