/**
 * Top scanners and top signatures of the last hour or day (GET /v1/dashboard/summary), and the
 * summary's loader, shared with the bans chart. Reloaded every 30 s and on a live ban.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.ts';
import { onLive } from './live.ts';

export interface Summary {
  window: 'hour' | 'day';
  buckets: Array<{ atMs: number; bySource: Record<string, number> }>;
  topScanners: Array<{ address: string; source: string; offences: number; hits: number; active: boolean }>;
  topSignatures: Array<{ sid: number | null; signature: string; addresses: number }>;
}

export function useSummary(win: 'hour' | 'day'): { summary: Summary | null; error: string | null } {
  const [summary, setSummary] = useState<Summary | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stopped = false;
    let last = 0;
    const load = async () => {
      last = Date.now();
      try {
        const s = await api<Summary>('GET', `/v1/dashboard/summary?window=${win}`);
        if (!stopped) {
          setSummary(s);
          setError(null);
        }
      } catch (err) {
        if (!stopped) setError((err as { status?: number }).status === 404 ? 'not available' : (err as Error).message);
      }
    };
    void load();
    const t = setInterval(load, 30_000);
    const off = onLive((e) => {
      if (e.type === 'ban' && Date.now() - last > 5000) void load();
    });
    return () => {
      stopped = true;
      clearInterval(t);
      off();
    };
  }, [win]);
  return { summary, error };
}

export function Tops(props: {
  summary: Summary | null;
  error: string | null;
  win: string;
  setWin: (w: 'hour' | 'day') => void;
}) {
  const s = props.summary;
  return html`<section class="panel tops" aria-label="top scanners and signatures">
    <header class="panel-head">
      <h2>Top of the last ${props.win}</h2>
      <div class="toggle">
        ${(['hour', 'day'] as const).map(
          (w) =>
            html`<button class=${props.win === w ? 'on' : ''} aria-pressed=${props.win === w} onClick=${() => props.setWin(w)}>${w}</button>`,
        )}
      </div>
    </header>
    ${props.error && html`<p class="muted">${props.error}</p>`}
    <div class="two">
      <div>
        <h3>Scanners</h3>
        <table class="compact"><thead><tr><th>address</th><th class="num">alerts</th><th class="num">offences</th></tr></thead>
          <tbody>${(s?.topScanners ?? []).map(
            (x) =>
              html`<tr key=${x.address}><td class="addr">${x.address}</td><td class="num">${x.hits}</td><td class="num">${x.offences}</td></tr>`,
          )}</tbody></table>
      </div>
      <div>
        <h3>Signatures</h3>
        <table class="compact"><thead><tr><th>signature</th><th class="num">addresses</th></tr></thead>
          <tbody>${(s?.topSignatures ?? []).map(
            (x) =>
              html`<tr key=${`${x.sid}:${x.signature}`}><td class="reason" title=${x.signature}>${x.signature}</td><td class="num">${x.addresses}</td></tr>`,
          )}</tbody></table>
      </div>
    </div>
  </section>`;
}
