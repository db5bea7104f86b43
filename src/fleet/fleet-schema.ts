/**
 * The `fleet` section: gateways sharing their bans through one Redis (docs/fleet.md). Absent: no
 * Redis is ever contacted. Strict objects (a misspelt key fails with its path); every key but
 * `node` and `redis.url` has a default. Validation never throws: bad values are issues.
 */
import { z } from 'zod';
import { absolutePathSchema, durationSchema } from '../config/config-schema.ts';
import { parseHostPort } from '../net/host-port.ts';

/** A node or fleet name: it is part of Redis key names and of the source `fleet:<node>`. */
export const fleetNameSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a name of 1-64 letters, digits, _ . -');

/**
 * `redis://[user:password@]host:port[/db]`, `rediss://...` (TLS), or a unix socket: an absolute
 * path or `unix:///path`. Checked as text here; the client parses it at start.
 */
export const redisUrlSchema = z
  .string()
  .min(2)
  .max(2048)
  .refine(
    (u) => /^(redis|rediss):\/\/[^\s]+$/.test(u) || /^(unix:\/\/)?\/[^\s\0]*$/.test(u),
    'redis://[user:password@]host:port, rediss://... (TLS), or a unix socket path',
  );

/** What a ban came from, as the fleet filters it: alerts (suricata, snort), kernel detections, operators. */
export const FLEET_KINDS = ['alerts', 'kernel', 'manual'] as const;
export type FleetKind = (typeof FLEET_KINDS)[number];
const kindsSchema = z.array(z.enum(FLEET_KINDS)).max(3);

/**
 * Redis Sentinel: the sentinels tell which node is the master, and the client follows a failover.
 * `username`/`password` are the sentinels' own (their `requirepass` or ACL user); the data nodes
 * take theirs from `redis.url`.
 */
export const sentinelSchema = z
  .strictObject({
    /** The master's name in the sentinels' `sentinel monitor <name> ...`. */
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a name of 1-64 letters, digits, _ . -'),
    nodes: z
      .array(
        z
          .string()
          .refine(
            (s) => parseHostPort(s) !== null,
            'host:port with an IPv4 address, an IPv6 address in brackets or a host name, and a port 1-65535',
          ),
      )
      .min(1)
      .max(16),
    username: z.string().min(1).max(256).optional(),
    password: z.string().min(1).max(1024).optional(),
  })
  .refine((s) => s.username === undefined || s.password !== undefined, {
    message: 'a sentinel username needs a password (sentinel.password)',
    path: ['username'],
  });

export const fleetRedisSchema = z
  .strictObject({
    url: redisUrlSchema,
    /** CA bundle for rediss:// (default: the system's). */
    tls_ca: absolutePathSchema.optional(),
    connect_timeout_ms: z.number().int().min(100).max(60_000).default(2000),
    /** Every command but the blocking read fails after this (the outbox then keeps the events). */
    command_timeout_ms: z.number().int().min(100).max(60_000).default(2000),
    /** Absent: `url` is the Redis itself. Set: `url` gives only the data nodes' user, password, db and TLS. */
    sentinel: sentinelSchema.optional(),
  })
  .refine((r) => r.sentinel === undefined || /^rediss?:\/\//.test(r.url), {
    message:
      'with sentinel, a redis:// or rediss:// url (its user, password, db and TLS are used; its host:port are not)',
    path: ['url'],
  });

export const fleetSchema = z.strictObject({
  /** Key prefix `nftsentry:<name>:`: several fleets may share one Redis. */
  name: fleetNameSchema.default('default'),
  node: fleetNameSchema,
  redis: fleetRedisSchema,
  publish: kindsSchema.default([...FLEET_KINDS]),
  accept: kindsSchema.default([...FLEET_KINDS]),
  /** Nodes whose bans are taken; empty: any node of the fleet. */
  accept_from: z.array(fleetNameSchema).max(1024).default([]),
  /** Others' bans last at most this long here (a permanent one too). */
  max_duration: durationSchema.default(7 * 24 * 3600),
  /** The stream is trimmed to about this many events (XADD MAXLEN ~). */
  stream_maxlen: z.number().int().min(100).max(100_000_000).default(100_000),
  /** How often the connection, the outbox and Redis's data (its epoch key) are checked. */
  check_ms: z.number().int().min(50).max(60_000).default(1000),
});

export type FleetConfig = z.output<typeof fleetSchema>;
export type SentinelConfig = z.output<typeof sentinelSchema>;

/** The kind of a ban's source; null for a fleet ban (never published again). */
export function fleetKindOf(source: string): FleetKind | null {
  if (source === 'suricata' || source === 'snort') return 'alerts';
  if (source === 'kernel:scan') return 'kernel';
  if (source === 'manual') return 'manual';
  return null;
}
