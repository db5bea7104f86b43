/**
 * Loads the config file: bytes -> YAML (config-file.ts, yaml-document.ts) -> strict zod schema ->
 * frozen, parsed value. Every problem is reported at once, each naming its key path; nothing is
 * applied from a config that fails. Whatever the document, the result is a config or
 * E_CONFIG_INVALID.
 */
import { z } from 'zod';
import { isNftsentryError } from '../errors.ts';
import { baseConfigShape } from './config-schema.ts';
import { readConfigFile } from './config-file.ts';
import { readYamlDocument } from './yaml-document.ts';
import { configProblems, formatKeyPath } from './problem-text.ts';
import { intactAt, parsedAt, whenIntact } from './refinement-guard.ts';
import { msKeyPaths, renameDurationKeys } from './duration-keys.ts';
import { schemaKeys } from './schema-walk.ts';
import { sourcesSchema } from '../ingest/source-schema.ts';
import { apiConfigSchema } from '../api/api-schema.ts';
import { policySchema, storeSchema, engineSchema, journalSchema } from '../engine/engine-schema.ts';
import { knockProblems, knockSchema, ttlNormalizeSchema } from './knock-schema.ts';
import { fleetSchema } from '../fleet/fleet-schema.ts';

export { assertNotEmpty } from './config-file.ts';

export const configSchema = z
  .strictObject({
    ...baseConfigShape,
    sources: sourcesSchema,
    api: apiConfigSchema,
    policy: policySchema,
    store: storeSchema,
    journal: journalSchema,
    engine: engineSchema,
    knock: knockSchema.optional(),
    ttl_normalize: ttlNormalizeSchema.optional(),
    fleet: fleetSchema.optional(),
  })
  .superRefine(
    (cfg, ctx) => {
      // A trap port that is also a service would ban every legitimate user of that service.
      // Each list is read only once it parsed (refinement-guard.ts).
      const issues = [...ctx.issues];
      const parsed = (...path: PropertyKey[]) => parsedAt(issues, path);
      const restricted = intactAt(issues, ['services', 'restricted']) ? cfg.services.restricted : [];
      for (const proto of ['tcp', 'udp'] as const) {
        if (!parsed('services', proto) || !parsed('scan_detection', 'trap_ports', proto)) continue;
        const open = [
          ...cfg.services[proto],
          ...restricted.flatMap((r, i) =>
            parsed('services', 'restricted', i, 'proto') &&
            parsed('services', 'restricted', i, 'ports') &&
            r.proto === proto
              ? r.ports
              : [],
          ),
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
    },
    { when: whenIntact(['services'], ['scan_detection', 'trap_ports']) },
  )
  .superRefine(
    (cfg, ctx) => {
      // Knock ports against trap ports and open services (knock-schema.ts), once all three parsed.
      const issues = [...ctx.issues];
      const parsed = (...path: PropertyKey[]) => parsedAt(issues, path);
      if (!cfg.knock || !parsed('knock') || !parsed('services') || !parsed('scan_detection', 'trap_ports')) return;
      const restricted = (proto: 'tcp' | 'udp') =>
        cfg.services.restricted.filter((r) => r.proto === proto).flatMap((r) => r.ports);
      const traps = cfg.scan_detection.enabled ? cfg.scan_detection.trap_ports : { tcp: [], udp: [] };
      const neighbours = {
        open: cfg.services,
        restricted: { tcp: restricted('tcp'), udp: restricted('udp') },
        traps,
      };
      for (const p of knockProblems(cfg.knock, neighbours)) {
        ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
      }
    },
    { when: whenIntact(['knock'], ['services'], ['scan_detection']) },
  );

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** Validates an already-parsed object (YAML or JSON). Throws E_CONFIG_INVALID listing every problem. */
export function parseConfig(
  raw: unknown,
  sourceName = 'config',
  onDeprecated: (text: string) => void = warnDeprecated,
): Readonly<Config> {
  const renamed = renameDurationKeys(raw ?? {}, MS_KEYS);
  const result = configSchema.safeParse(renamed.raw);
  if (!result.success || renamed.problems.length > 0) {
    const problems = (result.error?.issues ?? []).flatMap((i): string[] => {
      if (i.code === 'unrecognized_keys') {
        return i.keys.map((k) => `${formatKeyPath([...i.path, k])}: unknown key${k === '<<' ? MERGE_HINT : ''}`);
      }
      if (valueAt(renamed.raw, i.path) === undefined) return [`${formatKeyPath(i.path)}: required`];
      const writtenAs = renamed.writtenAs.get(formatKeyPath(i.path));
      if (writtenAs) return [`${writtenAs}: ${i.message} (in milliseconds)`];
      return [`${formatKeyPath(i.path)}: ${i.message}`];
    });
    throw configProblems(sourceName, 'is invalid', [...renamed.problems, ...problems]);
  }
  for (const d of renamed.deprecated) onDeprecated(`${sourceName}: ${d}`);
  return deepFreeze(result.data);
}

/** The keys in milliseconds that are written as durations (duration-keys.ts). */
const MS_KEYS = msKeyPaths(schemaKeys(configSchema));

/** By default a deprecated key is a Node DeprecationWarning on stderr, whoever loads the config. */
function warnDeprecated(text: string): void {
  process.emitWarning(text, { type: 'DeprecationWarning', code: 'NFTSENTRY_DEPRECATED_KEY' });
}

const MERGE_HINT = ' (YAML merge keys are not supported: write the keys out)';

/**
 * Parses YAML text and validates it. Every expected failure is found and named by the steps above;
 * the last catch only keeps a bug in them from leaving as anything but E_CONFIG_INVALID, and says
 * that it is one.
 */
export function parseConfigText(
  text: string,
  sourceName = 'config',
  onDeprecated: (text: string) => void = warnDeprecated,
): Readonly<Config> {
  try {
    return parseConfig(readYamlDocument(text, sourceName), sourceName, onDeprecated);
  } catch (err) {
    if (isNftsentryError(err)) throw err;
    const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw configProblems(
      sourceName,
      'is invalid',
      [`(top level): the config could not be checked (${what}); this is a bug in nftsentry, please report it`],
      { details: { bug: true }, cause: err },
    );
  }
}

/** Reads and validates a config file; a deprecated key is reported through `onDeprecated`. */
export function loadConfig(path: string, onDeprecated: (text: string) => void = warnDeprecated): Readonly<Config> {
  return parseConfigText(readConfigFile(path), path, onDeprecated);
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
