/**
 * The dashboard's entry: asks GET /ui/session who is logged in (and whether it may write), opens
 * the live events, and draws the panels. Everything is drawn by this module; the page itself
 * has no script and no style of its own (the CSP allows only this origin's files).
 */
import './style.css';
import 'uplot/dist/uPlot.min.css';
import { html, render } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, type SessionInfo } from './api.ts';
import { startLive } from './live.ts';
import { HealthStrip } from './health.ts';
import { BansTable } from './bans-table.ts';
import { BanDialog } from './ban-dialog.ts';
import { Charts } from './charts.ts';
import { Tops, useSummary } from './tops.ts';
import { Allowlist } from './allowlist.ts';
import { Audit } from './audit.ts';
import { Notices } from './notices.ts';

function App(props: { session: SessionInfo }) {
  const [dialog, setDialog] = useState(false);
  const [win, setWin] = useState<'hour' | 'day'>('hour');
  const { summary, error } = useSummary(win);
  const canWrite = props.session.canWrite;
  return html`<div class="page">
    <header class="top">
      <h1>nftsentry</h1>
      <span class="muted">${props.session.principal}${canWrite ? '' : ' (read-only)'}</span>
      <form method="post" action="/ui/logout" class="logout"><button type="submit">Log out</button></form>
    </header>
    <${HealthStrip} />
    <main class="grid">
      <div class="col">
        <${BansTable} canWrite=${canWrite} onBan=${() => setDialog(true)} />
        <${Audit} />
      </div>
      <div class="col">
        <${Charts} summary=${summary} summaryError=${error} />
        <${Tops} summary=${summary} error=${error} win=${win} setWin=${setWin} />
        <${Allowlist} canWrite=${canWrite} />
      </div>
    </main>
    ${canWrite && html`<${BanDialog} open=${dialog} onClose=${() => setDialog(false)} />`}
    <${Notices} />
  </div>`;
}

async function boot(): Promise<void> {
  const root = document.getElementById('app')!;
  const session = await api<SessionInfo>('GET', '/ui/session');
  startLive();
  root.textContent = '';
  render(html`<${App} session=${session} />`, root);
  document.documentElement.dataset.ready = '1';
}

void boot();
