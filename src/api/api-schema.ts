/**
 * The `api` section of the config file: where the control plane listens and how it guards itself.
 * A strict object (a misspelt key fails with its path); every key has a default. Documented key by
 * key in docs/config-reference.yaml (generated: npm run config-reference).
 *
 * Checked here, once: a listen address other than loopback needs `require_token` (it is always on
 * for /v1, but the check makes the intent explicit and refuses `require_token: false` there).
 */
import { z } from 'zod';
import { parseIp } from '../net/ip.ts';
import { absolutePathSchema, durationSchema, fileModeSchema, socketPathSchema } from '../config/config-schema.ts';
import { shown } from '../config/problem-text.ts';
import { parsedAt } from '../config/refinement-guard.ts';

const hostSchema = z.string().transform((v, ctx): string => {
  const ip = parseIp(v.trim());
  if (!ip) {
    ctx.addIssue({
      code: 'custom',
      message: `${shown(v)} is not an IPv4 or IPv6 address (no host names, no zone ids)`,
    });
    return z.NEVER;
  }
  return ip.text;
});

export const apiConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Listen on a unix socket instead of TCP when set. */
    socket: z
      .strictObject({
        path: socketPathSchema,
        mode: fileModeSchema.default(0o660),
      })
      .optional(),
    /**
     * Serve HTTP from its own worker thread (reads from a read-only store connection), so that
     * the API answers while the main thread is busy with alerts and nft. false: main thread.
     */
    worker: z.boolean().default(true),
    /**
     * Nice value of the API worker thread (-20 .. 19; Linux nice is per thread). Below 0 lets a
     * request preempt alert processing; needs CAP_SYS_NICE (root), ignored otherwise.
     */
    worker_nice: z.number().int().min(-20).max(19).default(-5),
    /** TCP listen address; loopback by default. */
    host: hostSchema.default('127.0.0.1'),
    port: z.number().int().min(1).max(65_535).default(8765),
    /** Bearer token file (mode 0600); generated on first start when missing. The token named `admin`. */
    token_file: absolutePathSchema.default('/var/lib/nftsentry/api.token'),
    /** More tokens, each with a name (journalled as the actor) and a role; their files must exist. */
    tokens: z
      .array(
        z.strictObject({
          name: z
            .string()
            .regex(/^[A-Za-z0-9_.-]{1,64}$/, '1-64 of A-Z a-z 0-9 _ . -')
            .refine((n) => n !== 'admin', 'admin is the name of api.token_file'),
          token_file: absolutePathSchema,
          role: z.enum(['read-only', 'read-write']),
        }),
      )
      .max(64)
      .default([])
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((t, i) => {
          if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `${t.name} appears twice` });
          seen.add(t.name);
        });
      }),
    /**
     * Refuse to listen on a non-loopback address unless true (the token is always required on
     * /v1; this is the admin saying "yes, expose it").
     */
    allow_remote: z.boolean().default(false),
    /** Largest request body accepted, in bytes. */
    body_limit_bytes: z.number().int().min(256).max(1_048_576).default(16_384),
    /** Ban duration when a POST /v1/bans gives none. */
    default_ban_duration: durationSchema.default(3600),
    /** After an unban through the API, alerts from that address are not acted on for this long. */
    unban_grace: durationSchema.default(600),
    /** Failed authentications per client before it is refused with 429 for `auth_lockout`. */
    auth_failures: z.number().int().min(1).max(10_000).default(10),
    /** Window in which `auth_failures` are counted. */
    auth_window: durationSchema.default(60),
    /** How long a client that failed too often is refused. */
    auth_lockout: durationSchema.default(300),
    /**
     * Shortest prefix POST /v1/allowlist takes without `"force": true` (a /0 never): a typo such
     * as 10.0.0.0/1 would otherwise turn half the bans off.
     */
    allowlist_min_prefix: z
      .strictObject({
        ipv4: z.number().int().min(1).max(32).default(8),
        ipv6: z.number().int().min(1).max(128).default(16),
      })
      .prefault({}),
    /** Longest page of GET /v1/bans. */
    max_page_size: z.number().int().min(1).max(100_000).default(1000),
    /** Server-side time limit of one request. */
    request_timeout: durationSchema.default(30),
    /**
     * The certificate and key (PEM files) the API serves TLS with. Unset: plain HTTP on loopback
     * and a unix socket; beyond loopback a self-signed pair made on first start in the state
     * directory (beside token_file).
     */
    tls: z
      .strictObject({
        cert: absolutePathSchema,
        key: absolutePathSchema,
      })
      .optional(),
    /** How long a dashboard login lasts. */
    ui_session: durationSchema.default(43_200),
  })
  .prefault({})
  .superRefine(
    (api, ctx) => {
      const ip = parseIp(api.host);
      const loopback = ip !== null && (ip.family === 4 ? ip.bytes[0] === 127 : ip.text === '::1');
      if (!api.socket && !loopback && !api.allow_remote) {
        ctx.addIssue({
          code: 'custom',
          path: ['host'],
          message: `listening on ${api.host} exposes the API beyond this host; set allow_remote: true to confirm (the bearer token is always required), or use 127.0.0.1 or a unix socket`,
        });
      }
    },
    // Reads three keys: only once each of them parsed (refinement-guard.ts).
    { when: (payload) => ['host', 'socket', 'allow_remote'].every((k) => parsedAt(payload.issues, [k])) },
  );

export type ApiConfig = z.output<typeof apiConfigSchema>;
