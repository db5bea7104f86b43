/**
 * The ban engine's config sections: `policy` (what to ban, for how long), `store` (where state
 * lives) and `engine` (how decisions reach nft). Strict objects: a misspelt key fails with its
 * path. Documented key by key in docs/config-reference.yaml (generated: npm run config-reference).
 */
import { z } from 'zod';
import { durationSchema } from '../config/config-schema.ts';
import { shown } from '../config/problem-text.ts';

/** A sid (`2001219`) or an inclusive range (`"2000000-2099999"`), kept as [from, to]. */
const sidRangeSchema = z
  .union([z.number().int().min(1).max(4_294_967_295), z.string()], {
    error: 'a sid (1-4294967295) or a range like "2000000-2099999"',
  })
  .transform((v, ctx): [number, number] => {
    if (typeof v === 'number') return [v, v];
    const m = /^(\d{1,10})-(\d{1,10})$/.exec(v.trim());
    const from = m ? Number(m[1]) : NaN;
    const to = m ? Number(m[2]) : NaN;
    if (!m || from < 1 || from > to || to > 4_294_967_295) {
      ctx.addIssue({ code: 'custom', message: `${shown(v)} is not a sid or a range like "2000000-2099999"` });
      return z.NEVER;
    }
    return [from, to];
  });

/** A regular expression, compiled once here so a bad one fails at config time. */
const patternSchema = z
  .string()
  .min(1)
  .max(512)
  .transform((v, ctx): RegExp => {
    try {
      return new RegExp(v, 'i');
    } catch (err) {
      // V8's message repeats the whole pattern before the reason.
      const reason = (err as Error).message.replace(/^.*: /s, '');
      ctx.addIssue({ code: 'custom', message: `${shown(v)} is not a valid regular expression: ${reason}` });
      return z.NEVER;
    }
  });

const words = z.array(z.string().min(1).max(256)).max(256);

/** What an alert must look like for a rule to count it. Every key given must match (AND). */
export const matchSchema = z
  .strictObject({
    sids: z.array(sidRangeSchema).max(4096).optional(),
    /** Signature starts with one of these (case-sensitive, like ET's prefixes: "ET SCAN"). */
    signature_prefix: words.optional(),
    /** Signature matches this regular expression (case-insensitive). */
    signature_pattern: patternSchema.optional(),
    /** Category equals one of these (case-insensitive). */
    category: words.optional(),
    /** Severity (Suricata severity / Snort priority) at most this (1 is the most severe). */
    max_severity: z.number().int().min(1).max(255).optional(),
    /** Protocol, as the IDS prints it (TCP, UDP, ICMP, IPV6-ICMP; case-insensitive). */
    proto: words.optional(),
    /** IDS action (allowed, blocked, alert, drop...; case-insensitive). */
    action: words.optional(),
  })
  .prefault({});

export const thresholdSchema = z
  .strictObject({
    /** Alerts from one source matching this rule within the window. */
    alerts: z.number().int().min(1).max(1_000_000).default(1),
    /** Distinct signatures (sids) from one source within the window; 0: not checked. */
    distinct_signatures: z.number().int().min(0).max(10_000).default(0),
    /** Distinct destination ports from one source within the window; 0: not checked. */
    distinct_ports: z.number().int().min(0).max(65_535).default(0),
    window: durationSchema.default(600),
  })
  .prefault({});

export const ruleSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'a name of 1-64 letters, digits, _ . : -'),
  match: matchSchema,
  threshold: thresholdSchema,
  /** Ban duration of a first offence (escalation multiplies it for repeat offenders). */
  ban: durationSchema.default(3600),
});

export type PolicyRule = z.output<typeof ruleSchema>;

const DEFAULT_RULES = [
  { name: 'et-scan', match: { signature_prefix: ['ET SCAN'] }, threshold: { alerts: 1, window: 600 }, ban: 3600 },
];

export const policySchema = z
  .strictObject({
    /** Rules in order; the first rule whose threshold an alert completes decides the ban. */
    rules: z.array(ruleSchema).max(1024).prefault(DEFAULT_RULES),
    /** IPv6 sources are banned by this prefix (64: the usual end-site subnet; 128: per address). */
    ipv6_prefix: z.number().int().min(16).max(128).default(64),
    /** IPv4: once `min_addresses` of one /`prefix` are banned, ban the whole prefix instead. */
    ipv4_aggregate: z
      .strictObject({
        enabled: z.boolean().default(false),
        prefix: z.number().int().min(8).max(31).default(24),
        min_addresses: z.number().int().min(2).max(65_536).default(8),
      })
      .prefault({}),
    /** Repeat offenders (fail2ban bantime.increment): ban = first ban * factor^(offences-1), capped. */
    escalation: z
      .strictObject({
        enabled: z.boolean().default(true),
        factor: z.number().min(1).max(100).default(2),
        max: durationSchema.default(7 * 86_400),
        /** Offences older than this are forgotten. */
        forget_after: durationSchema.default(30 * 86_400),
      })
      .prefault({}),
    /** Kernel detections (scanners set): ban duration of a first offence, before escalation. */
    kernel_scan_ban: durationSchema.default(3600),
    /** When neither side of an alert is a home network or alert.source is absent: blame `src` or skip. */
    unknown_direction: z.enum(['source', 'skip']).default('source'),
    /** Most sources tracked at once for thresholds (oldest forgotten first). */
    max_tracked_sources: z.number().int().min(1024).max(10_000_000).default(100_000),
    /**
     * Most bans in force at once (every ban set together). At the cap an automatic ban is
     * aggregated (IPv4 /24, IPv6 /48) with the automatic bans already inside, else refused;
     * operator bans are taken up to the kernel sets' size (docs/config.md "Bounded growth").
     */
    max_active_bans: z.number().int().min(100).max(10_000_000).default(100_000),
  })
  .prefault({});

export const storeSchema = z
  .strictObject({
    /** node:sqlite database (WAL); also holds the file sources' bookmarks. */
    path: z
      .string()
      .min(1)
      .max(4096)
      .refine((p) => p === ':memory:' || (p.startsWith('/') && !p.includes('\0')), 'an absolute path (or ":memory:")')
      .default('/var/lib/nftsentry/state.db'),
  })
  .prefault({});

export const engineSchema = z
  .strictObject({
    /** Decide and log, never touch nft. */
    dry_run: z.boolean().default(false),
    /** Decisions waiting this long at most before they are sent to nft as one transaction. */
    flush_interval_ms: z.number().int().min(0).max(10_000).default(0),
    /** Largest number of elements in one nft transaction. */
    max_batch: z.number().int().min(1).max(1_000_000).default(200_000),
    /** Batches up to this many elements go through the long-lived `nft -i`; larger ones through a file. */
    coprocess_max_elements: z.number().int().min(0).max(100_000).default(512),
    /**
     * Alert transactions in flight at once (2: a second co-process, so that a new small batch does
     * not wait for the one ahead of it; docs/engine.md has the latency with 1 and 2).
     */
    pipeline: z.number().int().min(1).max(2).default(2),
    /** In a burst (more pending than a co-process batch), let a batch grow up to this many elements... */
    burst_batch: z.number().int().min(1).max(1_000_000).default(4096),
    /** ...or for at most this long, or until the decisions pause. */
    burst_wait_ms: z.number().int().min(0).max(10_000).default(20),
    /** How often the kernel's scanners sets are read. */
    kernel_scan_poll_ms: z.number().int().min(100).max(600_000).default(5000),
    /**
     * Self-healing watches the table with a long-lived `nft monitor` (damage repaired within
     * milliseconds). It costs the nft process about 680 bytes of memory per ban element
     * (docs/engine.md); false: the probe and the full check below only.
     */
    kernel_monitor: z.boolean().default(true),
    /** With `kernel_monitor: false`: how often the table and ban sets are probed (self-healing). */
    heal_poll_ms: z.number().int().min(100).max(60_000).default(500),
    /**
     * How often the whole table is checked (self-healing's safety net): chains and their rules,
     * sets, maps and counters, the config sets' element counts, and the ban sets' elements
     * against the active bans. Reads every ban set (~0.8 s of nft CPU with 100k bans). 0: never.
     */
    rules_check_ms: z.number().int().min(0).max(3_600_000).default(60_000),
    /** How often the gateway's own addresses are re-read (`ip -j addr`). */
    own_addresses_poll_ms: z.number().int().min(1000).max(3_600_000).default(30_000),
    /** How often expired bans are removed from the store. */
    expire_poll_ms: z.number().int().min(100).max(600_000).default(5000),
  })
  .prefault({});

export type PolicyConfig = z.output<typeof policySchema>;
export type StoreConfig = z.output<typeof storeSchema>;
export type EngineConfig = z.output<typeof engineSchema>;

/** The decision journal in the store (engine/journal.ts): bounded by count and by age. */
export const journalSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Rows kept at most; the oldest go first. */
    max_entries: z.number().int().min(100).max(50_000_000).default(250_000),
    /** Rows older than this go. */
    max_age: durationSchema.default(30 * 86_400),
  })
  .prefault({});
