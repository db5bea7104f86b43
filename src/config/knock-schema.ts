/**
 * `knock` (port knocking, off when absent) and `ttl_normalize` (off when absent): their schemas,
 * and the checks of `knock` against the rest of the file. Port knocking is obscurity, not
 * authentication: docs/operations.md says what it does and does not protect.
 */
import { z } from 'zod';
import { durationSchema, portRangeSchema, portSchema } from './config-schema.ts';
import { intactAt, parsedAt } from './refinement-guard.ts';

export const knockSchema = z
  .strictObject({
    /** The protocol of the knocks (the guarded ports are guarded for TCP and UDP). */
    protocol: z.enum(['tcp', 'udp']).default('tcp'),
    /** The ports to knock on, in order; each once. */
    sequence: z.array(portSchema).min(1).max(16),
    /** Ports reachable only from a source that knocked, for `open_for`. */
    ports: z.array(portRangeSchema).min(1).max(64),
    /** Most time between two knocks: a slower knock starts over. */
    stage_timeout: durationSchema.default(2),
    /** How long a source that knocked right may open new connections to the guarded ports. */
    open_for: durationSchema.default(30),
  })
  .superRefine(
    (k, ctx) => {
      // Each knock port once: the state of a source is the next port it must knock on. Read only
      // where parsed (refinement-guard.ts), so that it runs beside problems in other keys.
      const issues = [...ctx.issues];
      if (parsedAt(issues, ['sequence'])) {
        k.sequence.forEach((p, i) => {
          if (k.sequence.indexOf(p) !== i) {
            ctx.addIssue({
              code: 'custom',
              path: ['sequence', i],
              message: `port ${p} is knocked twice; each port once`,
            });
          }
        });
      }
      if (parsedAt(issues, ['stage_timeout']) && k.stage_timeout > 3600) {
        ctx.addIssue({
          code: 'custom',
          path: ['stage_timeout'],
          message: 'at most 1h: a knock is a matter of seconds',
        });
      }
    },
    { when: (payload) => intactAt(payload.issues, []) },
  );

export const ttlNormalizeSchema = z.strictObject({
  /** The TTL (IPv4) and hop limit (IPv6) every inbound packet gets. */
  ttl: z.number().int().min(1).max(255).default(64),
  /** Forwarded packets too (read docs/operations.md first: never raise the TTL of packets that leave). */
  forward: z.boolean().default(false),
});

export type KnockConfig = z.output<typeof knockSchema>;
export type TtlNormalizeConfig = z.output<typeof ttlNormalizeSchema>;

type Range = readonly [number, number];
type Proto = 'tcp' | 'udp';

/** What `knock` is checked against: the open services and the trap ports, per protocol. */
export interface KnockNeighbours {
  /** Open to everyone (services.tcp/udp). */
  open: Record<Proto, readonly Range[]>;
  /** Open to listed sources (services.restricted). */
  restricted: Record<Proto, readonly Range[]>;
  traps: Record<Proto, readonly Range[]>;
}

export interface KnockProblem {
  path: Array<string | number>;
  message: string;
}

const text = ([a, b]: Range) => (a === b ? String(a) : `${a}-${b}`);
const overlap = (list: readonly Range[], [from, to]: Range) => list.find(([a, b]) => a <= to && from <= b);

/**
 * A knock port that is a trap port bans the knocker; one that is open never reaches the knock
 * rules; a guarded port that is open to everyone is not guarded; a guarded port that is a trap
 * port bans whoever tries it before knocking; a port both knocked and guarded cannot be both.
 * Each problem names its key path. Pure.
 */
export function knockProblems(k: KnockConfig, n: KnockNeighbours): KnockProblem[] {
  const out: KnockProblem[] = [];
  const proto = k.protocol;
  k.sequence.forEach((p, i) => {
    const path = ['knock', 'sequence', i];
    if (overlap(n.traps[proto], [p, p])) {
      out.push({
        path,
        message: `knock port ${p} is a ${proto} trap port (scan_detection.trap_ports.${proto}): a knock would ban the knocker`,
      });
    }
    if (overlap([...n.open[proto], ...n.restricted[proto]], [p, p])) {
      out.push({ path, message: `knock port ${p} is an open ${proto} service: a knock port must be closed` });
    }
    if (k.ports.some((r) => overlap([r], [p, p]))) {
      out.push({ path, message: `knock port ${p} is also a guarded port (knock.ports)` });
    }
  });
  k.ports.forEach((r, i) => {
    const path = ['knock', 'ports', i];
    for (const p of ['tcp', 'udp'] as const) {
      const open = overlap(n.open[p], r);
      if (open) {
        out.push({
          path,
          message: `guarded port ${text(r)} is an open ${p} service (${text(open)}): a guarded port must not be open to everyone`,
        });
      }
      const trap = overlap(n.traps[p], r);
      if (trap) {
        out.push({
          path,
          message: `guarded port ${text(r)} is a ${p} trap port (${text(trap)}): trying it before knocking would ban`,
        });
      }
    }
  });
  return out;
}
