/**
 * Durations as people write them in config and API bodies: `90` (seconds), `500ms`, `90s`, `15m`,
 * `1h`, `7d`, `1w`, or combined (`1h30m`, `1s500ms`). Pure.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PART = /(\d{1,9})(ms|[smhdw])/g;

/** Longest duration accepted anywhere: 10 years. Also keeps nft timeouts well inside their range. */
export const MAX_DURATION_SEC = 10 * 365 * 86_400;

/**
 * Milliseconds, 0 or more: a bare number (or digit string) is seconds, a string may have units.
 * Null for anything else, or beyond MAX_DURATION_SEC.
 */
export function parseDurationMs(input: unknown): number | null {
  let ms: number;
  if (typeof input === 'number') {
    if (!Number.isInteger(input)) return null;
    ms = input * 1000;
  } else if (typeof input === 'string') {
    const s = input.trim();
    if (s.length === 0 || s.length > 32) return null;
    if (/^\d{1,12}$/.test(s)) {
      ms = Number(s) * 1000;
    } else {
      if (!/^(\d{1,9}(ms|[smhdw]))+$/.test(s)) return null;
      ms = 0;
      for (const m of s.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    }
  } else {
    return null;
  }
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_DURATION_SEC * 1000) return null;
  return ms;
}

/** Whole seconds, at least 1 (`1500ms` is not whole seconds: null). */
export function parseDurationSec(input: unknown): number | null {
  const ms = parseDurationMs(input);
  if (ms === null || ms < 1000 || ms % 1000 !== 0) return null;
  return ms / 1000;
}

/** `500` -> `500ms`, `90000` -> `1m30s`, `0` -> `0s`: short and exact. */
export function formatDurationMs(ms: number): string {
  if (ms % 1000 !== 0) return ms >= 1000 ? `${formatDurationSec(Math.floor(ms / 1000))}${ms % 1000}ms` : `${ms}ms`;
  return formatDurationSec(ms / 1000);
}

/** `3600` -> `1h`, `5400` -> `1h30m`: short, exact, for messages and reports. */
export function formatDurationSec(sec: number): string {
  if (sec <= 0) return '0s';
  let rest = Math.round(sec);
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}
