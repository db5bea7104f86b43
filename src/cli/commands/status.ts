import { renderTable, runApiCommand } from '../output.ts';
import type { Command } from '../command.ts';

export interface StatusJson {
  version: string;
  uptimeSec: number;
  ruleset: { applied: boolean; appliedAt: string | null } | null;
  bans: { total: number; bySource: Record<string, number> } | null;
  drops: Record<string, { packets: number; bytes: number }> | null;
  meterFull?: number | null;
  sources: Array<{
    name: string;
    type: string;
    connected: number;
    lines: number;
    alerts: number;
    bad: number;
    dropped: number;
    lagSec: number | null;
  }> | null;
  engine?: { store?: StoreJson } | null;
  pendingConfirm?: { id: string; deadline: string; remainingSec: number } | null;
  tls?: { fingerprint256: string; selfSigned: boolean } | null;
}

interface StoreJson {
  degraded: boolean;
  pendingRows: number;
  lastError: { code: string; message: string; atMs: number } | null;
  recoveredFrom: { movedTo: string; code: string; message: string } | null;
}

function storeLines(st: StoreJson): string[] {
  const err = st.lastError;
  const last = err ? `; last error ${err.code} "${err.message}" at ${new Date(err.atMs).toISOString()}` : '';
  const out = [st.degraded ? `store: DEGRADED, ${st.pendingRows} rows waiting in memory${last}` : `store: ok${last}`];
  const r = st.recoveredFrom;
  if (r) out.push(`store: unusable at start (${r.code}: ${r.message}); moved to ${r.movedTo}, started empty`);
  return out;
}

/** The status for people (pure). */
export function statusText(s: StatusJson): string {
  const out = [`nftsentry ${s.version}, up ${s.uptimeSec} s`];
  if (s.ruleset) out.push(`ruleset: ${s.ruleset.applied ? `applied ${s.ruleset.appliedAt ?? ''}` : 'NOT applied'}`);
  if (s.bans) {
    const parts = Object.entries(s.bans.bySource).map(([k, v]) => `${k} ${v}`);
    out.push(`bans: ${s.bans.total}${parts.length ? ` (${parts.join(', ')})` : ''}`);
  }
  if (s.engine?.store) out.push(...storeLines(s.engine.store));
  if (s.tls)
    out.push(`api: https, ${s.tls.selfSigned ? 'self-signed ' : ''}certificate SHA-256 ${s.tls.fingerprint256}`);
  const p = s.pendingConfirm;
  if (p) {
    out.push(
      `ruleset: apply ${p.id} NOT confirmed: rolled back at ${p.deadline} (in ${p.remainingSec}s) unless \`nftsentry confirm\``,
    );
  }
  if (s.sources?.length) {
    out.push(
      '',
      renderTable(
        ['SOURCE', 'TYPE', 'CONNECTED', 'LINES', 'ALERTS', 'BAD', 'DROPPED', 'LAG'],
        s.sources.map((x) => [
          x.name,
          x.type,
          String(x.connected),
          String(x.lines),
          String(x.alerts),
          String(x.bad),
          String(x.dropped),
          x.lagSec === null ? '-' : `${x.lagSec.toFixed(1)}s`,
        ]),
      ),
    );
  }
  if (s.drops) {
    const rows = Object.entries(s.drops).filter(([, d]) => d.packets > 0);
    out.push(
      '',
      rows.length
        ? renderTable(
            ['DROP REASON', 'PACKETS', 'BYTES'],
            rows.map(([r, d]) => [r, String(d.packets), String(d.bytes)]),
          )
        : 'drops: none',
    );
  }
  if (s.meterFull) {
    out.push(
      `meter_full: ${s.meterFull} packets counted by hash bucket: a per-source kernel meter was full (a flood of sources)`,
    );
  }
  return out.join('\n');
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'the daemon at a glance (through the API): ruleset, bans by source, sources, drops by reason',
  usage: 'nftsentry [-c FILE] [--json] status',
  async run(ctx) {
    return runApiCommand(ctx, 'status', (c) => c.call<StatusJson>('GET', '/v1/status'), statusText);
  },
};
