/**
 * Snort 3 timestamps: `MM/DD-HH:MM:SS.uuuuuu` (no year, the default) or `YY/MM/DD-HH:MM:SS.uuuuuu`
 * (with `-y`). Snort prints local time unless run with `-U`/`--utc`, so the zone is a parameter.
 *
 * Without a year, the year is inferred from `nowMs`: of last year, this year and next year, the
 * latest that does not put the event more than `FUTURE_SKEW_MS` after now (alerts come from the
 * past; a sensor clock may run a little ahead). An alert of 31 December read on 1 January is last
 * year's; one of 1 January 00:00:30 read on 31 December 23:59 is next year's; one of 15 June read
 * on 31 December is this year's. Pure.
 */

const SNORT_TIME = /^(?:(\d{2})\/)?(\d{2})\/(\d{2})-(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

export type TimeZoneMode = 'local' | 'utc';

/** How far after `nowMs` an event may be dated (clock skew between sensor and nftsentry). */
export const FUTURE_SKEW_MS = 2 * 86_400_000;

function compose(
  zone: TimeZoneMode,
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  ms: number,
): number | null {
  const date = zone === 'utc' ? new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms)) : new Date(y, mo - 1, d, h, mi, s, ms);
  const okDay =
    zone === 'utc'
      ? date.getUTCDate() === d && date.getUTCMonth() === mo - 1
      : date.getDate() === d && date.getMonth() === mo - 1;
  return okDay ? date.getTime() : null;
}

/** Epoch ms of a Snort timestamp, or null when it is not one (or is an impossible date). */
export function parseSnortTime(text: string, nowMs: number, zone: TimeZoneMode): number | null {
  const m = SNORT_TIME.exec(text);
  if (!m) return null;
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const h = Number(m[4]);
  const mi = Number(m[5]);
  const s = Number(m[6]);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  if (m[1] !== undefined) return compose(zone, 2000 + Number(m[1]), mo, d, h, mi, s, ms);
  const now = new Date(nowMs);
  const year = zone === 'utc' ? now.getUTCFullYear() : now.getFullYear();
  let best: number | null = null;
  for (const y of [year - 1, year, year + 1]) {
    const t = compose(zone, y, mo, d, h, mi, s, ms);
    if (t !== null && t <= nowMs + FUTURE_SKEW_MS && (best === null || t > best)) best = t;
  }
  return best;
}

/** Milliseconds of a timestamp's fraction, to add to Snort's optional whole `seconds` field. */
export function snortFractionMs(text: string): number {
  const m = SNORT_TIME.exec(text);
  return m?.[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
}
