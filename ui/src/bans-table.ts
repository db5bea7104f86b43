/**
 * The bans table: one page at a time from GET /v1/bans (search by the start of the address,
 * filter by source, sort, page), never every row. Live: an event reloads the page shown (100 ms
 * after a quiet spell, at most twice a second in a stream of bans), an unban removes its row at once. Countdown from `expiresMs`, ticking each
 * second without a request. Per row: unban, extend, allowlist (when this login may write).
 * A hits column appears when the server's ban JSON carries `packets`.
 */
import { html } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, enc, shortDuration, type Ban, type BanPage } from './api.ts';
import { onLive, onReconnect } from './live.ts';
import { notify } from './notices.ts';

export const PAGE_SIZE = 50;
/** `fleet`: bans from every other gateway of the fleet (`fleet:<node>`). */
const SOURCES = ['', 'suricata', 'snort', 'kernel:scan', 'manual', 'fleet'];
const SORTS: Array<[string, string]> = [
  ['last_seen', 'newest'],
  ['expires', 'expiring first'],
  ['offences', 'most offences'],
  ['address', 'address'],
];

function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

export function BansTable(props: { canWrite: boolean; onBan: () => void }) {
  const [search, setSearch] = useState('');
  const [source, setSource] = useState('');
  const [sort, setSort] = useState('last_seen');
  const [offset, setOffset] = useState(0);
  // Hits cost the server an nft read of the ban sets (O(set size)) per page: asked for only when shown.
  const [showHits, setShowHits] = useState(false);
  const [page, setPage] = useState<BanPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadedMs, setLoadedMs] = useState<number | null>(null);
  const seq = useRef(0);
  const now = useNow(1000);

  const load = useCallback(async () => {
    const n = ++seq.current;
    const q = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(offset), sort });
    if (showHits) q.set('hits', '1');
    if (search.trim()) q.set('search', search.trim());
    if (source) q.set('source', source);
    const t0 = performance.now();
    try {
      const p = await api<BanPage>('GET', `/v1/bans?${q}`);
      if (n !== seq.current) return;
      setPage(p);
      setError(null);
      setLoadedMs(Math.round(performance.now() - t0));
    } catch (err) {
      if (n === seq.current) setError((err as Error).message);
    }
  }, [search, source, sort, offset, showHits]);

  useEffect(() => {
    void load();
  }, [load]);

  // Live: an unban drops its row now; anything else reloads this page: 100 ms after the first
  // event (one reload for a burst), and no sooner than 500 ms after the last reload.
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const lastReload = useRef(0);
  useEffect(() => {
    const reload = () => {
      if (pending.current) return;
      const wait = Math.max(100, lastReload.current + 500 - performance.now());
      pending.current = setTimeout(() => {
        pending.current = null;
        lastReload.current = performance.now();
        void load();
      }, wait);
    };
    const off = onLive((e) => {
      if (e.type === 'unban' || e.type === 'allow')
        setPage((p) => (p ? { ...p, items: p.items.filter((b) => b.address !== e.address) } : p));
      if (e.type !== 'unallow') reload();
    });
    const offR = onReconnect(reload);
    return () => {
      off();
      offR();
      if (pending.current) clearTimeout(pending.current);
      pending.current = null;
    };
  }, [load]);

  const act = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      notify(what);
      void load();
    } catch (err) {
      notify(`${what} failed: ${(err as Error).message}`, true);
    }
  };
  const unban = (b: Ban) => act(`unbanned ${b.address}`, () => api('DELETE', `/v1/bans/${enc(b.address)}`));
  const extend = (b: Ban) =>
    act(`extended ${b.address} by 1 day`, () => {
      const left = b.expiresMs === null ? null : Math.max(0, Math.ceil((b.expiresMs - Date.now()) / 1000));
      return api('POST', '/v1/bans', {
        address: b.address,
        duration: left === null ? 'permanent' : left + 86_400,
        reason: 'extended from the dashboard',
      });
    });
  const allow = (b: Ban) =>
    act(`allowlisted ${b.address}`, () =>
      api('POST', '/v1/allowlist', { address: b.address, note: 'from the dashboard' }),
    );

  const items = page?.items ?? [];
  const hits = items.some((b) => typeof b.packets === 'number');
  const total = page?.total ?? 0;
  return html`<section class="panel bans" aria-label="bans">
    <header class="panel-head">
      <h2>Bans <span class="count" data-testid="bans-total">${total}</span></h2>
      ${props.canWrite && html`<button class="primary" data-testid="open-ban" onClick=${props.onBan}>Ban an address</button>`}
    </header>
    <div class="filters">
      <input type="search" placeholder="address or prefix, e.g. 198.51.100." aria-label="search" data-testid="search"
        value=${search} onInput=${(e: Event) => {
          setSearch((e.target as HTMLInputElement).value);
          setOffset(0);
        }} />
      <select aria-label="source" data-testid="source" value=${source} onChange=${(e: Event) => {
        setSource((e.target as HTMLSelectElement).value);
        setOffset(0);
      }}>
        ${SOURCES.map((s) => html`<option value=${s}>${s || 'all sources'}</option>`)}
      </select>
      <select aria-label="sort" value=${sort} onChange=${(e: Event) => setSort((e.target as HTMLSelectElement).value)}>
        ${SORTS.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
      </select>
      <label class="toggle"><input type="checkbox" data-testid="show-hits" checked=${showHits}
        onChange=${(e: Event) => setShowHits((e.target as HTMLInputElement).checked)} /> hits</label>
    </div>
    ${error && html`<p class="error">${error}</p>`}
    <div class="table-wrap">
      <table data-testid="bans-table">
        <thead><tr>
          <th>address</th><th class="wide">source</th><th class="num">expires in</th><th class="num wide">offences</th>
          ${hits && html`<th class="num wide">hits</th>`}<th class="reason wide">reason</th>${props.canWrite && html`<th></th>`}
        </tr></thead>
        <tbody>
          ${items.map(
            (b) => html`<tr key=${b.address} data-address=${b.address}>
              <td class="addr">${b.address}</td>
              <td class="wide"><span class=${`tag src-${b.source.replace(':', '-')}`}>${b.source}</span></td>
              <td class="num">${b.expiresMs === null ? 'permanent' : shortDuration(Math.ceil((b.expiresMs - now) / 1000))}</td>
              <td class="num wide">${b.offences}</td>
              ${hits && html`<td class="num wide" data-testid="hits">${b.packets ?? ''}</td>`}
              <td class="reason wide" title=${b.signature ?? b.reason}>${b.signature ?? b.reason}</td>
              ${
                props.canWrite &&
                html`<td class="actions">
                  <button data-testid="unban" onClick=${() => unban(b)}>Unban</button>
                  <button data-testid="extend" title="one day more" onClick=${() => extend(b)}>+1d</button>
                  <button data-testid="allow" title="allowlist this address (lifts the ban)" onClick=${() => allow(b)}>Allow</button>
                </td>`
              }
            </tr>`,
          )}
        </tbody>
      </table>
      ${page && items.length === 0 && html`<p class="empty">No bans match.</p>`}
    </div>
    <footer class="pager">
      <button disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - PAGE_SIZE))}>Previous</button>
      <span>${total === 0 ? '0' : `${offset + 1}-${Math.min(total, offset + PAGE_SIZE)}`} of ${total}</span>
      <button disabled=${offset + PAGE_SIZE >= total} onClick=${() => setOffset(offset + PAGE_SIZE)}>Next</button>
      <span class="muted" data-testid="load-ms">${loadedMs === null ? '' : `${loadedMs} ms`}</span>
    </footer>
  </section>`;
}
