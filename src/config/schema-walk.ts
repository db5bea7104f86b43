/**
 * Walks the config's zod schema and lists its keys: path, what values it takes, its default.
 * The config reference (config-reference.ts) is generated from this list, so a key added to the
 * schema appears in the reference without anyone writing it there. Pure.
 *
 * Paths: `api.port`; an array's items add `[]` (`policy.rules[].name`); the variants of a
 * discriminated union add the discriminator's value (`sources.inputs[file].start`).
 */
import type { z } from 'zod';
import { durationSchema, fileModeSchema } from './config-schema.ts';

export type KeyKind =
  | { kind: 'object'; keys: KeyInfo[] }
  | { kind: 'array'; item: KeyKind }
  | { kind: 'variants'; discriminator: string; variants: { value: string; keys: KeyInfo[] }[] }
  | { kind: 'value'; type: string };

export interface KeyInfo {
  name: string;
  path: string;
  /** The value when the key is left out (input form), or undefined when there is none. */
  default: unknown;
  /** Must be given (no default, not optional). */
  required: boolean;
  shape: KeyKind;
}

interface Def {
  type: string;
  innerType?: Schema;
  in?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  options?: Schema[];
  discriminator?: string;
  defaultValue?: unknown;
  entries?: Record<string, string>;
  values?: unknown[];
  checks?: { _zod: { def: { check: string; value?: number; minimum?: number; maximum?: number } } }[];
}
type Schema = z.ZodType & { _zod: { def: Def } };

const def = (s: Schema): Def => s._zod.def;

/** Durations are shown as `1h`, file modes as `"0660"` (their defaults are stored parsed). */
function inputForm(s: Schema, value: unknown): unknown {
  if (value === undefined) return undefined;
  if (s === (durationSchema as unknown) && typeof value === 'number') return formatDuration(value);
  if (s === (fileModeSchema as unknown) && typeof value === 'number') return `0${value.toString(8)}`;
  return value;
}

export function formatDuration(sec: number): string {
  for (const [unit, n] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (sec >= n && sec % n === 0) return `${sec / n}${unit}`;
  }
  return `${sec}s`;
}

/** Strips wrappers, noting the default and whether the key may be left out. */
function unwrap(s: Schema): { core: Schema; default: unknown; optional: boolean } {
  let core = s;
  let dflt: unknown;
  let optional = false;
  for (;;) {
    const d = def(core);
    if (d.type === 'default' || d.type === 'prefault') {
      const inner = d.innerType!;
      dflt ??= inputForm(inner, d.defaultValue);
      core = inner;
    } else if (d.type === 'optional' || d.type === 'nullable') {
      optional = true;
      core = d.innerType!;
    } else if (d.type === 'pipe' && def(d.in!).type !== 'transform') {
      if (core === (durationSchema as unknown) || core === (fileModeSchema as unknown)) break;
      core = d.in!;
    } else {
      break;
    }
  }
  return { core, default: dflt, optional: optional || dflt !== undefined };
}

function valueType(s: Schema): string {
  if (s === (durationSchema as unknown)) return 'duration';
  if (s === (fileModeSchema as unknown)) return 'file mode';
  const d = def(s);
  switch (d.type) {
    case 'enum':
      return Object.values(d.entries ?? {}).join(' | ');
    case 'literal':
      return (d.values ?? []).map(String).join(' | ');
    case 'number': {
      const checks = (d.checks ?? []).map((c) => c._zod.def);
      const min = checks.find((c) => c.check === 'greater_than')?.value;
      const max = checks.find((c) => c.check === 'less_than')?.value;
      const int = checks.some((c) => c.check === 'number_format');
      return `${int ? 'integer' : 'number'}${min !== undefined || max !== undefined ? ` ${min ?? ''}..${max ?? ''}` : ''}`;
    }
    case 'union':
      return (d.options ?? []).map((o) => valueType(unwrap(o).core)).join(' or ');
    case 'pipe':
      return valueType(d.in!);
    default:
      return d.type;
  }
}

function shapeOf(s: Schema, path: string): KeyKind {
  const d = def(s);
  if (d.type === 'object') return { kind: 'object', keys: keysOf(d.shape ?? {}, path) };
  if (d.type === 'array') return { kind: 'array', item: shapeOf(unwrap(d.element!).core, `${path}[]`) };
  if (d.type === 'union' && d.discriminator) {
    const key = d.discriminator;
    return {
      kind: 'variants',
      discriminator: key,
      variants: (d.options ?? []).map((o) => {
        const shape = def(unwrap(o).core).shape ?? {};
        const value = String(def(unwrap(shape[key]!).core).values?.[0]);
        return { value, keys: keysOf(shape, `${path.replace(/\[\]$/, '')}[${value}]`) };
      }),
    };
  }
  return { kind: 'value', type: valueType(s) };
}

function keysOf(shape: Record<string, Schema>, prefix: string): KeyInfo[] {
  return Object.entries(shape).map(([name, schema]) => {
    const u = unwrap(schema);
    const path = prefix ? `${prefix}.${name}` : name;
    return { name, path, default: u.default, required: !u.optional, shape: shapeOf(u.core, path) };
  });
}

/** The keys of a config schema (a strict object, possibly refined). */
export function schemaKeys(schema: z.ZodType): KeyInfo[] {
  const shape = shapeOf(unwrap(schema as Schema).core, '');
  if (shape.kind !== 'object') throw new Error('the config schema is not an object');
  return shape.keys;
}

/** Every key, depth first. */
export function allKeys(keys: KeyInfo[]): KeyInfo[] {
  const out: KeyInfo[] = [];
  const visit = (k: KeyKind) => {
    if (k.kind === 'object') for (const key of k.keys) walk(key);
    else if (k.kind === 'array') visit(k.item);
    else if (k.kind === 'variants') for (const v of k.variants) for (const key of v.keys) walk(key);
  };
  const walk = (key: KeyInfo) => {
    out.push(key);
    visit(key.shape);
  };
  for (const k of keys) walk(k);
  return out;
}

/** Every key's path, depth first. */
export function allPaths(keys: KeyInfo[]): string[] {
  return allKeys(keys).map((k) => k.path);
}

/**
 * A key in milliseconds (`flush_interval_ms`, an integer): written as a duration with units under
 * its name without `_ms` (duration-keys.ts).
 */
export function isMsKey(k: KeyInfo): boolean {
  return k.name.endsWith('_ms') && k.shape.kind === 'value' && k.shape.type.startsWith('integer');
}
