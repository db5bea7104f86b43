/**
 * The audit list of manual actions, from the decision journal's endpoint when the daemon has one
 * (AUDIT_PATH: GET /v1/audit); a 404 says this daemon keeps none (journal.enabled: false), and
 * the panel says "not available".
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.ts';
import { onLive } from './live.ts';

export const AUDIT_PATH = '/v1/audit?limit=20';

/** One operator's action as GET /v1/audit gives it (the journal's rows of kind `manual`). */
interface AuditEntry {
  at: string;
  /** ban, unban, allow, unallow, ban_refused */
  code: string;
  address: string;
  /** `token@peer` (the token's name, and the peer address or `uid:N` over the unix socket). */
  actor: string | null;
}

export function Audit() {
  const [items, setItems] = useState<AuditEntry[] | null>(null);
  const [state, setState] = useState<string | null>(null);
  useEffect(() => {
    const load = async () => {
      try {
        setItems((await api<{ items: AuditEntry[] }>('GET', AUDIT_PATH)).items ?? []);
        setState(null);
      } catch (err) {
        setState((err as { status?: number }).status === 404 ? 'not available' : (err as Error).message);
      }
    };
    void load();
    // At most one reload per 5 s, however many events arrive.
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = onLive(() => {
      timer ??= setTimeout(() => {
        timer = null;
        void load();
      }, 5000);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, []);
  return html`<section class="panel audit" aria-label="audit">
    <header class="panel-head"><h2>Manual actions</h2></header>
    ${state && html`<p class="muted" data-testid="audit-state">${state}</p>`}
    ${
      items &&
      html`<table class="compact"><thead><tr><th>when</th><th>action</th><th>address</th><th>by</th></tr></thead>
        <tbody>${items.map(
          (x, i) =>
            html`<tr key=${i}><td>${new Date(x.at).toLocaleString()}</td><td>${x.code}</td><td class="addr">${x.address}</td><td>${x.actor ?? ''}</td></tr>`,
        )}</tbody></table>`
    }
  </section>`;
}
