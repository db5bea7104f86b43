/**
 * The `sources` section of the config file: where alerts come from. Strict objects (a misspelt
 * key fails with its path); every key has a default except the paths. Documented key by key in
 * docs/config-reference.yaml (generated: npm run config-reference).
 */
import { z } from 'zod';
import { absolutePathSchema, durationSchema, socketPathSchema, fileModeSchema } from '../config/config-schema.ts';
import { parsedAt, whenIntact } from '../config/refinement-guard.ts';
import { redisUrlSchema } from '../fleet/fleet-schema.ts';

const formatSchema = z.enum(['eve', 'snort', 'auto']).default('auto');
const nameSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a name of 1-64 letters, digits, _ . -');
const absolutePath = absolutePathSchema;
const socketPath = socketPathSchema;
const modeSchema = fileModeSchema;
/** A user or group: a name, or a numeric id. */
const accountSchema = z.union([
  z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}\$?$/i, 'a user or group name'),
  z.number().int().min(0).max(4_294_967_294),
]);
const maxLineBytes = z
  .number()
  .int()
  .min(1024)
  .max(256 * 1024 * 1024)
  .default(1024 * 1024);
const snortZone = z.enum(['local', 'utc']).default('local');

const common = {
  /** Defaults to the type (two sources of one type need names). */
  name: nameSchema.optional(),
  format: formatSchema,
  max_line_bytes: maxLineBytes,
  snort_timezone: snortZone,
  /** Validate every line as strict JSON: exact bad-line counts, about 2-3x slower (see docs). */
  strict_json: z.boolean().default(false),
};

const socketCommon = {
  ...common,
  path: socketPath,
  mode: modeSchema.default(0o660),
  owner: accountSchema.optional(),
  group: accountSchema.optional(),
};

export const unixStreamSourceSchema = z.strictObject({
  type: z.literal('unix_stream'),
  ...socketCommon,
  /** At this many clients, a new one takes the place of the one idle longest (or is refused). */
  max_connections: z.number().int().min(1).max(1024).default(64),
  /** A client that has sent nothing this long after connecting is closed (one that has sent data stays). */
  idle_timeout: durationSchema.default(30),
});

export const unixDgramSourceSchema = z.strictObject({
  type: z.literal('unix_dgram'),
  ...socketCommon,
  /** SO_RCVBUF; the kernel caps it at net.core.rmem_max. */
  receive_buffer_bytes: z
    .number()
    .int()
    .min(65_536)
    .max(256 * 1024 * 1024)
    .default(8 * 1024 * 1024),
});

export const fileSourceSchema = z.strictObject({
  type: z.literal('file'),
  ...common,
  path: absolutePath,
  /** Without a bookmark: read from the end (only new lines) or from the beginning. */
  start: z.enum(['end', 'beginning']).default('end'),
  /** The safety-net poll (ms): inotify wakes the source; where fs.watch fails this is the only wakeup. */
  poll_ms: z.number().int().min(10).max(60_000).default(1000),
  /** After a rename rotation, how long the old file is still read (the IDS writes on until it reopens). */
  rotate_grace_ms: z.number().int().min(0).max(600_000).default(10_000),
  bookmark_interval_ms: z.number().int().min(100).max(600_000).default(1000),
});

export const stdinSourceSchema = z.strictObject({
  type: z.literal('stdin'),
  ...common,
});

/** Suricata's `filetype: redis` output, read from Redis (docs/fleet.md, "Suricata's Redis output"). */
export const redisSourceSchema = z.strictObject({
  type: z.literal('redis'),
  ...common,
  url: redisUrlSchema,
  tls_ca: absolutePath.optional(),
  /** The list, stream or channel Suricata writes to (its `redis.key`). */
  key: z.string().min(1).max(512),
  /** list: LMOVE into a processing list (nothing lost); stream: a consumer group with XACK; channel: SUBSCRIBE (lossy). */
  mode: z.enum(['list', 'stream', 'channel']).default('list'),
  /** list: Suricata's `lpush` (its default, `list`) or `rpush`: which end is the oldest. */
  push: z.enum(['lpush', 'rpush']).default('lpush'),
  /** list: where entries wait until handed over; default `<key>:nftsentry:<name>`. */
  processing_key: z.string().min(1).max(512).optional(),
  /** stream: the consumer group and this reader's name in it. */
  consumer_group: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/)
    .default('nftsentry'),
  consumer: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/)
    .default('nftsentry'),
  /** stream: the field holding the event (another field holding JSON is taken when it is absent). */
  field: z.string().min(1).max(64).default('eve'),
  connect_timeout_ms: z.number().int().min(100).max(60_000).default(2000),
  command_timeout_ms: z.number().int().min(100).max(60_000).default(2000),
});

export const sourceSchema = z.discriminatedUnion('type', [
  unixStreamSourceSchema,
  unixDgramSourceSchema,
  fileSourceSchema,
  stdinSourceSchema,
  redisSourceSchema,
]);

const DEFAULT_INPUTS = [{ type: 'unix_stream', path: '/run/nftsentry/eve.sock' }] as const;

export const sourcesSchema = z
  .strictObject({
    /** Alerts waiting for the ban engine; beyond this they are dropped and counted. */
    queue_capacity: z.number().int().min(16).max(10_000_000).default(10_000),
    inputs: z
      .array(sourceSchema)
      .max(64)
      .prefault([...DEFAULT_INPUTS]),
  })
  .superRefine(
    (s, ctx) => {
      // Reads each input's name and path only once they parsed (refinement-guard.ts), as the
      // issues stood before this refinement added its own.
      const issues = [...ctx.issues];
      const parsed = (i: number, key: string) => parsedAt(issues, ['inputs', i, key]);
      const names = new Map<string, number>();
      const paths = new Map<string, number>();
      s.inputs.forEach((input, i) => {
        if (!parsed(i, 'type')) return;
        if (parsed(i, 'name')) {
          const name = input.name ?? input.type;
          if (names.has(name))
            ctx.addIssue({
              code: 'custom',
              path: ['inputs', i],
              message: `name "${name}" is used by inputs[${names.get(name)}] too; give each source its own name`,
            });
          names.set(name, i);
        }
        if (parsed(i, 'path')) {
          const path = 'path' in input ? input.path : input.type === 'redis' ? `redis:${input.url} ${input.key}` : '-';
          if (paths.has(path))
            ctx.addIssue({
              code: 'custom',
              path: ['inputs', i, 'path'],
              message: `inputs[${paths.get(path)}] uses this ${path === '-' ? 'stdin' : 'path'} too`,
            });
          paths.set(path, i);
        }
      });
    },
    { when: whenIntact(['inputs']) },
  )
  .prefault({});

export type SourcesConfig = z.output<typeof sourcesSchema>;
export type SourceConfig = z.output<typeof sourceSchema>;
export type UnixStreamSourceConfig = z.output<typeof unixStreamSourceSchema>;
export type UnixDgramSourceConfig = z.output<typeof unixDgramSourceSchema>;
export type FileSourceConfig = z.output<typeof fileSourceSchema>;
export type StdinSourceConfig = z.output<typeof stdinSourceSchema>;
export type RedisSourceConfig = z.output<typeof redisSourceSchema>;

/** The name a source is known by in stats, logs and bookmarks. */
export function sourceName(config: SourceConfig): string {
  return config.name ?? config.type;
}
