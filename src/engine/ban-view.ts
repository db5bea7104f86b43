/** A store row -> the BanView the API and CLI show. Pure. */
import type { BanSource, BanView } from './operations.ts';
import type { BanRow } from '../store/store.ts';

export function banViewOf(row: BanRow, nowMs: number): BanView {
  const expiresMs = row.expires_ms === null ? null : Number(row.expires_ms);
  return {
    address: row.target,
    family: Number(row.family) === 6 ? 6 : 4,
    source: (row.source ?? 'manual') as BanSource,
    reason: row.reason ?? '',
    sid: row.sid == null ? null : Number(row.sid),
    signature: row.signature ?? null,
    firstSeenMs: Number(row.first_seen_ms ?? 0),
    lastSeenMs: Number(row.last_seen_ms ?? 0),
    expiresMs,
    remainingSec: expiresMs === null ? null : Math.max(0, Math.ceil((expiresMs - nowMs) / 1000)),
    offences: Number(row.offences),
  };
}
