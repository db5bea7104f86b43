/**
 * A ban as the API shows it: the engine's BanView with its times also in ISO 8601, so that a
 * person reading JSON and a script computing with numbers are both served.
 */
import type { BanView } from '../engine/operations.ts';

export interface BanJson extends BanView {
  firstSeen: string;
  lastSeen: string;
  /** null: permanent. */
  expires: string | null;
  /** Dropped by the ban's element (GET /v1/bans/:address?hits=1 only; null: not counted). */
  packets?: number | null;
  bytes?: number | null;
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : '';
}

export function banJson(b: BanView): BanJson {
  return {
    ...b,
    firstSeen: iso(b.firstSeenMs),
    lastSeen: iso(b.lastSeenMs),
    expires: b.expiresMs === null ? null : iso(b.expiresMs),
  };
}
