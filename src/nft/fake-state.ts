/**
 * What the in-memory nft (fake.ts) holds: tables with their sets, maps, counters and chains, as
 * the kernel keeps them, and lookups that fail the way nft does. A transaction works on a copy
 * (copyRuleset): objects are copied, a set's elements only once the transaction changes them, so
 * a failed transaction leaves the state untouched at the cost of the objects it touched. Pure.
 */
import type { Field } from './fake-values.ts';
import { NftInputError } from './fake-values.ts';
import type { SetUse } from './fake-rules.ts';

export interface FakeElement {
  key: Field[];
  /** Milliseconds, as declared; null: no timeout. */
  timeoutMs: number | null;
  /** Clock time at which it is gone; null: never. */
  expiresAt: number | null;
  data?: number;
}

export interface FakeSet {
  name: string;
  kind: 'set' | 'map';
  handle: number;
  keyTypes: string[];
  dataType: string | undefined;
  /** Kernel flags, in nft's order: constant, dynamic, interval, timeout. */
  flags: string[];
  size: number | undefined;
  timeoutMs: number | undefined;
  autoMerge: boolean;
  /** Declared with `counter`: elements list `counter packets 0 bytes 0` (the fake sees no packets). */
  counter: boolean;
  /** By keyId, in insertion order. Expired elements may still be here: see isLive. */
  elements: Map<string, FakeElement>;
}

export interface FakeRule {
  handle: number;
  text: string;
  expr: unknown[];
  sets: SetUse[];
  chains: string[];
  counters: string[];
}

export interface FakeChain {
  name: string;
  handle: number;
  base: { type: string; hook: string; prio: number; policy: string } | undefined;
  rules: FakeRule[];
}

export interface FakeCounter {
  name: string;
  handle: number;
  comment: string | undefined;
  packets: number;
  bytes: number;
}

export interface FakeTable {
  family: string;
  name: string;
  handle: number;
  nextHandle: number;
  sets: Map<string, FakeSet>;
  chains: Map<string, FakeChain>;
  counters: Map<string, FakeCounter>;
}

export interface FakeRuleset {
  tables: Map<string, FakeTable>;
  nextTableHandle: number;
}

export function emptyRuleset(): FakeRuleset {
  return { tables: new Map(), nextTableHandle: 1 };
}

export function tableId(family: string, name: string): string {
  return `${family} ${name}`;
}

export function isLive(e: FakeElement, now: number): boolean {
  return e.expiresAt === null || e.expiresAt > now;
}

/** A copy whose objects may be changed; element maps stay shared until ownElements. */
export function copyRuleset(r: FakeRuleset): FakeRuleset {
  const tables = new Map<string, FakeTable>();
  for (const [id, t] of r.tables) {
    tables.set(id, {
      ...t,
      sets: new Map([...t.sets].map(([n, s]) => [n, { ...s }])),
      chains: new Map([...t.chains].map(([n, c]) => [n, { ...c, rules: [...c.rules] }])),
      counters: new Map([...t.counters].map(([n, c]) => [n, { ...c }])),
    });
  }
  return { tables, nextTableHandle: r.nextTableHandle };
}

/** nft's "did you mean" distance: edits, adjacent transpositions counted once. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest name within nft's threshold (a third of the longer name), the first on a tie. */
function closest(name: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const longer = Math.max(name.length, c.length);
    if (longer <= 1) continue;
    const threshold =
      longer - Math.min(name.length, c.length) <= 1 ? Math.max(Math.ceil(longer / 3), 1) : Math.ceil((longer + 2) / 3);
    const dist = distance(name, c);
    if (dist <= threshold && dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  return best;
}

const NOT_FOUND = 'No such file or directory';

/** The table, or nft's own "No such file or directory" (with its suggestion). */
export function findTable(r: FakeRuleset, family: string, name: string, suggest: boolean): FakeTable {
  const t = r.tables.get(tableId(family, name));
  if (t) return t;
  const near = suggest
    ? closest(
        name,
        [...r.tables.values()].filter((x) => x.family === family).map((x) => x.name),
      )
    : null;
  throw new NftInputError(near ? `${NOT_FOUND}; did you mean table ‘${near}’ in family ${family}?` : NOT_FOUND);
}

/** The set or map (`kind` undefined: either), or nft's own "No such file or directory". */
export function findSet(t: FakeTable, name: string, kind: 'set' | 'map' | undefined, suggest: boolean): FakeSet {
  const s = t.sets.get(name);
  if (s && (kind === undefined || s.kind === kind)) return s;
  const near = suggest ? nearSet(t, name, kind) : null;
  throw new NftInputError(
    near ? `${NOT_FOUND}; did you mean ${kind ?? 'set'} ‘${near}’ in table ${t.family} ‘${t.name}’?` : NOT_FOUND,
  );
}

export function nearSet(t: FakeTable, name: string, kind: 'set' | 'map' | undefined): string | null {
  return closest(
    name,
    [...t.sets.values()].filter((s) => kind === undefined || s.kind === kind).map((s) => s.name),
  );
}

export function nextHandle(t: FakeTable): number {
  return t.nextHandle++;
}
