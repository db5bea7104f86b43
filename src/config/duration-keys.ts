/**
 * Keys in milliseconds (`engine.flush_interval_ms: 500`) are written as durations with units
 * instead (`engine.flush_interval: 500ms`). The schema keeps the `_ms` keys (the code reads them);
 * before validation each `X` key is turned into its `X_ms` value, and an `X_ms` key still written
 * is kept and noted as deprecated. Which keys: every integer key whose name ends in `_ms`
 * (schema-walk.ts), so one added later gets its duration spelling too. Pure.
 */
import { formatDurationMs, parseDurationMs } from './duration.ts';
import { formatKeyPath, shown } from './problem-text.ts';
import { allKeys, isMsKey, type KeyInfo } from './schema-walk.ts';

export interface DurationKeys {
  /** The config with each `X` replaced by `X_ms` (a copy; the input is not changed). */
  raw: unknown;
  /** Bad durations, and `X` and `X_ms` both given. */
  problems: string[];
  /** `X_ms` keys still written: what to write instead. */
  deprecated: string[];
  /** `engine.flush_interval_ms` -> `engine.flush_interval`: where a problem the schema finds was written. */
  writtenAs: Map<string, string>;
}

/** The `_ms` keys' paths, with every list item as `[]` (`sources.inputs[].poll_ms`). */
export function msKeyPaths(keys: KeyInfo[]): string[] {
  return [
    ...new Set(
      allKeys(keys)
        .filter(isMsKey)
        .map((k) => k.path.replace(/\[[a-z_]+\]/g, '[]')),
    ),
  ];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function renameDurationKeys(raw: unknown, paths: readonly string[]): DurationKeys {
  const out: DurationKeys = { raw: structuredClone(raw), problems: [], deprecated: [], writtenAs: new Map() };
  const visit = (node: unknown, segments: string[], at: PropertyKey[]): void => {
    const [head, ...rest] = segments;
    if (head === undefined || !isObject(node)) return;
    if (rest.length === 0) {
      rename(node, head, at);
      return;
    }
    const list = head.endsWith('[]');
    const key = list ? head.slice(0, -2) : head;
    const child = node[key];
    if (!list) visit(child, rest, [...at, key]);
    else if (Array.isArray(child)) for (const [i, item] of child.entries()) visit(item, rest, [...at, key, i]);
  };
  const rename = (node: Record<string, unknown>, msKey: string, at: PropertyKey[]): void => {
    const key = msKey.slice(0, -'_ms'.length);
    const given = Object.hasOwn(node, key);
    if (given && Object.hasOwn(node, msKey)) {
      out.problems.push(`${formatKeyPath([...at, key])}: give ${key} or ${msKey} (deprecated), not both`);
    } else if (given) {
      const ms = parseDurationMs(node[key]);
      if (ms === null) {
        out.problems.push(
          `${formatKeyPath([...at, key])}: ${shown(node[key])} is not a duration (like 500ms, 5s, 1m; a bare number is seconds)`,
        );
      } else {
        node[msKey] = ms;
        out.writtenAs.set(formatKeyPath([...at, msKey]), formatKeyPath([...at, key]));
      }
    } else if (Object.hasOwn(node, msKey)) {
      const v = node[msKey];
      const instead =
        typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? `${key}: ${formatDurationMs(v)}` : key;
      out.deprecated.push(`${formatKeyPath([...at, msKey])} is deprecated: write ${instead}`);
    }
    delete node[key];
  };
  for (const p of paths) visit(out.raw, p.split('.'), []);
  return out;
}
