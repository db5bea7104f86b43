/**
 * The allowlist: every entry (config entries cannot be removed here), add with a note, remove.
 * Live: allow/unallow events reload it.
 */
import { html } from 'htm/preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, enc } from './api.ts';
import { onLive } from './live.ts';
import { notify } from './notices.ts';

interface AllowEntry {
  prefix: string;
  origin: 'config' | 'api';
  note: string;
  added: string;
}

export function Allowlist(props: { canWrite: boolean }) {
  const [items, setItems] = useState<AllowEntry[]>([]);
  const [address, setAddress] = useState('');
  const [note, setNote] = useState('');
  const load = useCallback(async () => {
    try {
      setItems((await api<{ items: AllowEntry[] }>('GET', '/v1/allowlist')).items);
    } catch (err) {
      notify(`allowlist: ${(err as Error).message}`, true);
    }
  }, []);
  useEffect(() => {
    void load();
    return onLive((e) => {
      if (e.type === 'allow' || e.type === 'unallow') void load();
    });
  }, [load]);

  const add = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await api<{ liftedBans: number }>('POST', '/v1/allowlist', {
        address: address.trim(),
        note: note.trim(),
      });
      notify(`allowlisted ${address.trim()}${r.liftedBans ? `, ${r.liftedBans} bans lifted` : ''}`);
      setAddress('');
      setNote('');
      void load();
    } catch (err) {
      notify(`allowlist add failed: ${(err as Error).message}`, true);
    }
  };
  const remove = async (p: string) => {
    try {
      await api('DELETE', `/v1/allowlist/${enc(p)}`);
      notify(`removed ${p} from the allowlist`);
      void load();
    } catch (err) {
      notify(`remove failed: ${(err as Error).message}`, true);
    }
  };

  return html`<section class="panel allow" aria-label="allowlist">
    <header class="panel-head"><h2>Allowlist <span class="count">${items.length}</span></h2></header>
    ${
      props.canWrite &&
      html`<form class="inline" data-testid="allow-form" onSubmit=${add}>
        <input name="address" required placeholder="address or prefix" aria-label="allowlist address" value=${address}
          onInput=${(e: Event) => setAddress((e.target as HTMLInputElement).value)} />
        <input name="note" placeholder="note" aria-label="note" value=${note} onInput=${(e: Event) => setNote((e.target as HTMLInputElement).value)} />
        <button type="submit">Add</button>
      </form>`
    }
    <table class="compact" data-testid="allow-table"><thead><tr><th>prefix</th><th>origin</th><th>note</th>${props.canWrite && html`<th></th>`}</tr></thead>
      <tbody>${items.map(
        (x) => html`<tr key=${x.prefix} data-prefix=${x.prefix}>
          <td class="addr">${x.prefix}</td><td>${x.origin}</td><td class="reason">${x.note}</td>
          ${props.canWrite && html`<td>${x.origin === 'api' ? html`<button onClick=${() => remove(x.prefix)}>Remove</button>` : ''}</td>`}
        </tr>`,
      )}</tbody></table>
  </section>`;
}
