/**
 * Loads the config file: YAML -> strict zod schema -> frozen, parsed value. Every problem is
 * reported at once, each naming its key path; nothing is applied from a config that fails.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseDocument } from 'yaml';
import { NftsentryError, ErrorCodes } from '../errors.ts';
import { baseConfigShape } from './config-schema.ts';
import { sourcesSchema } from '../ingest/source-schema.ts';
import { apiConfigSchema } from '../api/api-schema.ts';
import { policySchema, storeSchema, engineSchema } from '../engine/engine-schema.ts';

export const configSchema = z
  .strictObject({
    ...baseConfigShape,
    sources: sourcesSchema,
    api: apiConfigSchema,
    policy: policySchema,
    store: storeSchema,
    engine: engineSchema,
  })
  .superRefine((cfg, ctx) => {
    // A trap port that is also a service would ban every legitimate user of that service.
    for (const proto of ['tcp', 'udp'] as const) {
      const open = [
        ...cfg.services[proto],
        ...cfg.services.restricted.filter((r) => r.proto === proto).flatMap((r) => r.ports),
      ];
      cfg.scan_detection.trap_ports[proto].forEach(([from, to], i) => {
        const clash = open.find(([a, b]) => a <= to && from <= b);
        if (clash) {
          ctx.addIssue({
            code: 'custom',
            path: ['scan_detection', 'trap_ports', proto, i],
            message: `trap port ${from === to ? from : `${from}-${to}`} is also an open ${proto} service; a trap port must be a port nobody should use`,
          });
        }
      });
    }
  });

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

/** Validates an already-parsed object (YAML or JSON). Throws E_CONFIG_INVALID listing every problem. */
export function parseConfig(raw: unknown, sourceName = 'config'): Readonly<Config> {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      if (i.code === 'unrecognized_keys') {
        return i.keys.map((k) => `${formatPath([...i.path, k])}: unknown key`).join('\n');
      }
      if (valueAt(raw, i.path) === undefined) return `${formatPath(i.path)}: required`;
      return `${formatPath(i.path)}: ${i.message}`;
    });
    throw new NftsentryError(
      ErrorCodes.CONFIG_INVALID,
      `${sourceName} is invalid:\n  ${problems.join('\n  ').replace(/\n(?! )/g, '\n  ')}`,
      {
        details: { problems: problems.flatMap((p) => p.split('\n')) },
      },
    );
  }
  return deepFreeze(result.data);
}

/** Parses YAML text (duplicate keys are an error) and validates it. */
export function parseConfigText(text: string, sourceName = 'config'): Readonly<Config> {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => e.message.split('\n')[0]!);
    throw new NftsentryError(
      ErrorCodes.CONFIG_INVALID,
      `${sourceName} is not valid YAML:\n  ${problems.join('\n  ')}`,
      {
        details: { problems },
      },
    );
  }
  return parseConfig(doc.toJS({ maxAliasCount: 100 }), sourceName);
}

export function loadConfig(path: string): Readonly<Config> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new NftsentryError(ErrorCodes.CONFIG_INVALID, `cannot read config ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  assertNotEmpty(text, path);
  return parseConfigText(text, path);
}

/**
 * An empty or whitespace-only config file is an error: every key has a default, so an empty
 * document would be a valid config nobody meant (a truncated file, a write still under way).
 */
export function assertNotEmpty(text: string, path: string): void {
  if (text.trim().length === 0) {
    throw new NftsentryError(ErrorCodes.CONFIG_INVALID, `${path} is empty: a config file must say something`);
  }
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = root;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
