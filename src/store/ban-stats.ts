/**
 * The dashboard's summary of the `bans` table over a window (the last hour or day): bans by source
 * in time buckets, the top scanners (most alerts counted against them) and the top signatures (most
 * addresses banned for them). Read-only SQL over the connection it is given; each query walks the
 * rows whose last offence falls in the window (the `bans_last_offence` index).
 *
 * A row holds an address's latest ban only, so a bucket counts addresses by when they last
 * offended: an address banned twice in the window counts once, in its latest bucket.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { storeGuard } from './sqlite-failure.ts';

export interface BanStatsBucket {
  /** Start of the bucket (ms since the epoch). */
  atMs: number;
  /** Addresses by source whose last offence fell in this bucket. */
  bySource: Record<string, number>;
}

export interface BanStatsSummary {
  sinceMs: number;
  bucketMs: number;
  buckets: BanStatsBucket[];
  topScanners: Array<{ address: string; source: string; offences: number; hits: number; active: boolean }>;
  topSignatures: Array<{ sid: number | null; signature: string; addresses: number }>;
}

export const STATS_TOP = 10;

export class BanStats {
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  summary(sinceMs: number, nowMs: number, bucketMs: number): BanStatsSummary {
    const first = Math.floor(sinceMs / bucketMs) * bucketMs;
    const count = Math.max(1, Math.ceil((nowMs - first) / bucketMs));
    const buckets: BanStatsBucket[] = Array.from({ length: count }, (_, i) => ({
      atMs: first + i * bucketMs,
      bySource: {},
    }));
    return storeGuard('stats', () => {
      const rows = this.statement(
        `SELECT CAST((last_offence_ms - ?) / ? AS INTEGER) AS b, source, count(*) AS n FROM bans
         WHERE last_offence_ms >= ? GROUP BY b, source`,
      ).all(first, bucketMs, sinceMs) as Array<{ b: number; source: string; n: number }>;
      for (const r of rows) {
        const bucket = buckets[Math.min(count - 1, Math.max(0, Math.floor(Number(r.b))))]!;
        bucket.bySource[r.source] = (bucket.bySource[r.source] ?? 0) + Number(r.n);
      }
      const scanners = this.statement(
        `SELECT target, source, offences, hits, active FROM bans WHERE last_offence_ms >= ?
         ORDER BY hits DESC, offences DESC, target LIMIT ${STATS_TOP}`,
      ).all(sinceMs) as Array<{ target: string; source: string; offences: number; hits: number; active: number }>;
      const signatures = this.statement(
        `SELECT sid, signature, count(*) AS n FROM bans WHERE last_offence_ms >= ? AND signature IS NOT NULL
         GROUP BY sid, signature ORDER BY n DESC, sid LIMIT ${STATS_TOP}`,
      ).all(sinceMs) as Array<{ sid: number | null; signature: string; n: number }>;
      return {
        sinceMs,
        bucketMs,
        buckets,
        topScanners: scanners.map((r) => ({
          address: r.target,
          source: r.source,
          offences: Number(r.offences),
          hits: Number(r.hits),
          active: Number(r.active) === 1,
        })),
        topSignatures: signatures.map((r) => ({
          sid: r.sid === null ? null : Number(r.sid),
          signature: r.signature,
          addresses: Number(r.n),
        })),
      };
    });
  }

  private statement(sql: string): StatementSync {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }
}
