/**
 * Durations as people write them in config and API bodies: `90`, `90s`, `15m`, `1h`, `7d`, `1w`,
 * or combined (`1h30m`). Returns whole seconds. Pure.
 */
const UNIT_SEC: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const PART = /(\d{1,9})([smhdw])/g;

/** Longest duration accepted anywhere: 10 years. Also keeps nft timeouts well inside their range. */
export const MAX_DURATION_SEC = 10 * 365 * 86_400;

export function parseDurationSec(input: unknown): number | null {
  let sec: number;
  if (typeof input === 'number') {
    if (!Number.isInteger(input)) return null;
    sec = input;
  } else if (typeof input === 'string') {
    const s = input.trim();
    if (s.length === 0 || s.length > 32) return null;
    if (/^\d{1,12}$/.test(s)) {
      sec = Number(s);
    } else {
      if (!/^(\d{1,9}[smhdw])+$/.test(s)) return null;
      sec = 0;
      for (const m of s.matchAll(PART)) sec += Number(m[1]) * UNIT_SEC[m[2]!]!;
    }
  } else {
    return null;
  }
  if (!Number.isSafeInteger(sec) || sec < 1 || sec > MAX_DURATION_SEC) return null;
  return sec;
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
