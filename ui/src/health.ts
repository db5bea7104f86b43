/**
 * The health strip: ruleset (applied when), the store, the API and its live stream, bans, the
 * version, then each source (connected, lines/s, last line): appended last, so that cells
 * arriving with the first status never push the others. GET /v1/status every 5 s; the strip keeps
 * its height while values change (fixed cells, tabular digits).
 */
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.ts';
import { onLiveState } from './live.ts';

export interface Status {
  version: string;
  ruleset: { applied: boolean; appliedAt: string | null } | null;
  bans: { total: number; bySource: Record<string, number> } | null;
  drops: Record<string, { packets: number; bytes: number }> | null;
  sources: Array<{ name: string; connected: number; lines: number; alerts: number; lastLine: string | null }> | null;
  engine?: { store?: { degraded: boolean; pendingRows: number } } | null;
}

export const STATUS_EVERY_MS = 5000;

type Sample = { atMs: number; status: Status };
const statusListeners = new Set<(s: Sample, prev: Sample | null) => void>();

/** Charts follow the same samples as the strip (one request for both). */
export function onStatus(l: (s: Sample, prev: Sample | null) => void): () => void {
  statusListeners.add(l);
  return () => statusListeners.delete(l);
}

function ago(iso: string | null): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

export function HealthStrip() {
  const [status, setStatus] = useState<Status | null>(null);
  const [rates, setRates] = useState<Record<string, number>>({});
  const [apiUp, setApiUp] = useState(true);
  const [live, setLive] = useState(false);
  const prev = useRef<Sample | null>(null);
  useEffect(() => onLiveState(setLive), []);
  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      try {
        const s = await api<Status>('GET', '/v1/status');
        const sample = { atMs: performance.now(), status: s };
        const p = prev.current;
        if (p) {
          const dt = (sample.atMs - p.atMs) / 1000;
          const r: Record<string, number> = {};
          for (const src of s.sources ?? []) {
            const before = p.status.sources?.find((x) => x.name === src.name);
            r[src.name] = before ? Math.max(0, (src.lines - before.lines) / dt) : 0;
          }
          setRates(r);
        }
        for (const l of statusListeners) l(sample, p);
        prev.current = sample;
        setStatus(s);
        setApiUp(true);
      } catch {
        setApiUp(false);
      }
      if (!stopped) setTimeout(poll, STATUS_EVERY_MS);
    };
    void poll();
    return () => {
      stopped = true;
    };
  }, []);
  const store = status?.engine?.store;
  return html`<section class="health" aria-label="health">
    <div class=${`cell ${status?.ruleset?.applied ? 'ok' : 'bad'}`}>
      <span class="k">ruleset</span>
      <span class="v" data-testid="ruleset">${status?.ruleset?.applied ? `applied ${ago(status.ruleset.appliedAt)}` : 'not applied'}</span>
    </div>
    <div class=${`cell ${store?.degraded ? 'bad' : 'ok'}`}>
      <span class="k">store</span>
      <span class="v">${store ? (store.degraded ? `degraded, ${store.pendingRows} waiting` : 'ok') : '-'}</span>
    </div>
    <div class=${`cell ${apiUp ? 'ok' : 'bad'}`}>
      <span class="k">API</span>
      <span class="v" data-testid="live">${apiUp ? 'ok' : 'unreachable'} · live ${live ? 'on' : 'off'}</span>
    </div>
    <div class="cell"><span class="k">bans</span><span class="v" data-testid="ban-total">${status?.bans?.total ?? '-'}</span></div>
    <div class="cell"><span class="k">version</span><span class="v">${status?.version ?? '-'}</span></div>
    ${(status?.sources ?? []).map(
      (s) => html`<div class=${`cell ${s.connected > 0 ? 'ok' : 'warn'}`} key=${s.name}>
        <span class="k">${s.name}</span>
        <span class="v">${s.connected} conn · ${(rates[s.name] ?? 0).toFixed(1)} lines/s · ${ago(s.lastLine)}</span>
      </div>`,
    )}
  </section>`;
}
