/**
 * GET /v1/status as the doctor reads it. The answer is foreign input: every field is checked, a
 * missing or mistyped one reads as unknown. Pure.
 */
import type { DaemonStatus } from './doctor-facts.ts';

const obj = (v: unknown): Record<string, unknown> | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const text = (v: unknown, max = 200): string | null => (typeof v === 'string' ? v.slice(0, max) : null);

function timeMs(v: unknown): number | null {
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isFinite(t) ? t : null;
}

export function parseDaemonStatus(body: unknown): DaemonStatus {
  const s = obj(body) ?? {};
  const ruleset = obj(s.ruleset);
  const sources = Array.isArray(s.sources) ? s.sources.slice(0, 256) : [];
  const store = obj(obj(s.engine)?.store);
  const lastError = obj(store?.lastError);
  const recovered = obj(store?.recoveredFrom);
  return {
    version: text(s.version, 64) ?? '?',
    uptimeSec: num(s.uptimeSec) ?? 0,
    rulesetApplied: typeof ruleset?.applied === 'boolean' ? ruleset.applied : null,
    sources: sources.flatMap((x) => {
      const o = obj(x);
      if (!o) return [];
      return [
        {
          name: text(o.name, 64) ?? '?',
          type: text(o.type, 32) ?? '?',
          connected: num(o.connected) ?? 0,
          lines: num(o.lines) ?? 0,
          lastLineMs: timeMs(o.lastLine),
        },
      ];
    }),
    store: store
      ? {
          degraded: store.degraded === true,
          pendingRows: num(store.pendingRows) ?? 0,
          lastError: lastError ? `${text(lastError.code, 64) ?? '?'} "${text(lastError.message) ?? ''}"` : null,
          recoveredFrom: recovered
            ? `${text(recovered.code, 64) ?? '?'} (${text(recovered.message) ?? ''}), moved to ${text(recovered.movedTo, 4096) ?? '?'}`
            : null,
        }
      : null,
  };
}
