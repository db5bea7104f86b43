/**
 * The config file's schema. Strict objects everywhere: an unknown or misspelt key is an error that
 * names its path. Values come out parsed and canonical (addresses, prefixes, durations, rates), so
 * that nothing downstream re-parses text from the file.
 *
 * Sections owned by later features (sources, policy, store, api) live next to the feature and are
 * composed here.
 */
import { z } from 'zod';
import { parsePrefix, normalizePrefixes, type IpPrefix } from '../net/ip.ts';
import { parseDurationSec } from './duration.ts';
import { shown } from './problem-text.ts';

export const portSchema = z.number().int().min(1).max(65_535);

/** A port (`22`) or an inclusive range (`"8000-8080"`), kept as [from, to]. */
export const portRangeSchema = z
  .union([portSchema, z.string()], { error: 'a port (1-65535) or a range like "8000-8080"' })
  .transform((v, ctx): [number, number] => {
    if (typeof v === 'number') return [v, v];
    const m = /^(\d{1,5})-(\d{1,5})$/.exec(v.trim());
    const from = m ? Number(m[1]) : NaN;
    const to = m ? Number(m[2]) : NaN;
    if (!m || from < 1 || to > 65_535 || from > to) {
      ctx.addIssue({ code: 'custom', message: `${shown(v)} is not a port (1-65535) or a range like "8000-8080"` });
      return z.NEVER;
    }
    return [from, to];
  });

export const portListSchema = z.array(portRangeSchema).max(1024).default([]);

/** A CIDR or a bare address, IPv4 or IPv6, host bits clear. */
export const prefixSchema = z.string().transform((v, ctx): IpPrefix => {
  const p = parsePrefix(v.trim());
  if (!p) {
    const loose = parsePrefix(v.trim(), { strict: false });
    ctx.addIssue({
      code: 'custom',
      message: loose
        ? `${shown(v)} has host bits set; did you mean "${loose.text}"?`
        : `${shown(v)} is not an IPv4 or IPv6 address or CIDR`,
    });
    return z.NEVER;
  }
  return p;
});

export const prefixListSchema = z
  .array(prefixSchema)
  .max(65_536)
  .default([])
  .transform((list) => normalizePrefixes(list));

/** An absolute path (no NUL). */
export const absolutePathSchema = z
  .string()
  .min(2)
  .max(4096)
  .refine((p) => p.startsWith('/') && !p.includes('\0'), 'an absolute path');

/** A unix socket's path must fit sun_path (108 bytes with its NUL). */
export const socketPathSchema = absolutePathSchema.refine(
  (p) => Buffer.byteLength(p) <= 107,
  'a socket path of at most 107 bytes',
);

/** A file mode as a quoted octal string ("0660"), kept as a number. */
export const fileModeSchema = z
  .string({ error: 'an octal mode as a quoted string, like "0660"' })
  .regex(/^0?[0-7]{3}$/, 'an octal mode as a quoted string, like "0660"')
  .transform((m) => parseInt(m, 8));

const DURATION = 'a duration (seconds, or like 90s, 15m, 1h, 7d; at most 10 years)';

export const durationSchema = z.union([z.number(), z.string()], { error: DURATION }).transform((v, ctx): number => {
  const sec = parseDurationSec(v);
  if (sec === null) {
    ctx.addIssue({
      code: 'custom',
      message: `${shown(v)} is not ${DURATION}`,
    });
    return z.NEVER;
  }
  return sec;
});

export const RATE_UNITS = ['second', 'minute', 'hour', 'day'] as const;
export type RateUnit = (typeof RATE_UNITS)[number];

/** `"10/second"` -> { count: 10, per: 'second' }. */
export const rateSchema = z.string().transform((v, ctx): { count: number; per: RateUnit } => {
  const m = /^(\d{1,7})\/(second|minute|hour|day)$/.exec(v.trim());
  if (!m || Number(m[1]) < 1) {
    ctx.addIssue({
      code: 'custom',
      message: `${shown(v)} is not a rate like "10/second" (units: ${RATE_UNITS.join(', ')})`,
    });
    return z.NEVER;
  }
  return { count: Number(m[1]), per: m[2] as RateUnit };
});

const rateLimitSchema = z.strictObject({
  enabled: z.boolean().default(true),
  rate: rateSchema,
  burst: z.number().int().min(1).max(1_000_000),
});

const restrictedServiceSchema = z.strictObject({
  proto: z.enum(['tcp', 'udp']),
  ports: z.array(portRangeSchema).min(1).max(1024),
  from: z
    .array(prefixSchema)
    .min(1)
    .max(4096)
    .transform((l) => normalizePrefixes(l)),
});

const meterSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Banned when MORE than this many distinct (protocol, port) pairs are probed within the window. */
  ports: z.number().int().min(1).max(10_000),
  window: durationSchema,
});

const interfaceName = z.string().regex(/^[A-Za-z0-9_.:-]{1,15}$/, 'an interface name (1-15 of A-Z a-z 0-9 _ . : -)');

export const baseConfigShape = {
  services: z
    .strictObject({
      tcp: portListSchema,
      udp: portListSchema,
      restricted: z.array(restrictedServiceSchema).max(256).default([]),
    })
    .prefault({}),
  allowlist: prefixListSchema,
  home_networks: prefixListSchema,
  icmp: z
    .strictObject({
      echo: z.boolean().default(true),
    })
    .prefault({}),
  rate_limits: z
    .strictObject({
      icmp_echo: rateLimitSchema.prefault({ rate: '1/second', burst: 5 }),
      udp_new: rateLimitSchema.prefault({ rate: '50/second', burst: 100 }),
      tcp_syn: rateLimitSchema.prefault({ rate: '100/second', burst: 200 }),
      /** How long a source's rate-limit state is kept after its last packet. */
      meter_timeout: durationSchema.default(60),
    })
    .prefault({}),
  scan_detection: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** How long the kernel keeps a detected scanner in the `scanners` set. */
      ban_timeout: durationSchema.default(3600),
      fast: meterSchema.prefault({ ports: 10, window: 60 }),
      slow: meterSchema.prefault({ ports: 5, window: 3600 }),
      trap_ports: z
        .strictObject({
          tcp: portListSchema,
          udp: portListSchema,
        })
        .prefault({ tcp: [23, 135, 445, 1433, 3389, 5900] }),
      /** Home networks are never counted by the kernel meters (a LAN's own discovery traffic). */
      exempt_home_networks: z.boolean().default(true),
    })
    .prefault({}),
  forward: z
    .strictObject({
      /** Policy of the forward chain: what happens to routed traffic no rule accepted. */
      policy: z.enum(['accept', 'drop']).default('accept'),
      /** Traffic arriving on these interfaces (the LAN side) is accepted for forwarding. */
      trusted_interfaces: z.array(interfaceName).max(64).default([]),
      /** With policy drop: ports that hosts behind the gateway serve to everyone. */
      services: z
        .strictObject({
          tcp: portListSchema,
          udp: portListSchema,
        })
        .prefault({}),
      /** Run scan detection on routed traffic too (trap ports always; meters when policy is drop). */
      scan_detection: z.boolean().default(true),
    })
    .prefault({}),
};
