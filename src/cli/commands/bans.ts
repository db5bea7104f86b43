import type { BanJson } from '../../api/ban-json.ts';
import { addressSegment } from '../api-client.ts';
import { formatRemaining, renderTable, runApiCommand } from '../output.ts';
import { ExitCode, type Command } from '../command.ts';

interface BanPage {
  total: number;
  limit: number;
  offset: number;
  items: BanJson[];
}

function banRows(items: readonly BanJson[]): string[][] {
  return items.map((b) => [
    b.address,
    b.source,
    formatRemaining(b.remainingSec),
    String(b.offences),
    b.lastSeen.slice(0, 19).replace('T', ' '),
    b.signature ?? b.reason,
  ]);
}

const HEADER = ['ADDRESS', 'SOURCE', 'REMAINING', 'OFFENCES', 'LAST SEEN (UTC)', 'REASON'];

export const bansCommand: Command = {
  name: 'bans',
  summary: 'list the bans in force (through the API), or show one: `nftsentry bans ADDRESS`',
  usage:
    'nftsentry [-c FILE] [--json] bans [ADDRESS] [--source suricata|snort|kernel:scan|manual] [--reason TEXT] [--limit N] [--offset N]',
  options: {
    source: { type: 'string' },
    reason: { type: 'string' },
    limit: { type: 'string' },
    offset: { type: 'string' },
  },
  async run(ctx, values, positionals) {
    if (positionals.length > 1) {
      ctx.stderr(`nftsentry bans: at most one ADDRESS\nusage: ${this.usage}`);
      return ExitCode.USAGE;
    }
    const address = positionals[0];
    if (address !== undefined) {
      return runApiCommand(
        ctx,
        'bans',
        (c) => c.call<BanJson>('GET', `/v1/bans/${addressSegment(address)}?hits=1`),
        (b) =>
          renderTable(HEADER, banRows([b])) +
          `\nexpires ${b.expires ?? 'never'}; first seen ${b.firstSeen}${b.sid ? `; sid ${b.sid}` : ''}` +
          (typeof b.packets === 'number' ? `; dropped ${b.packets} packets, ${b.bytes ?? 0} bytes` : ''),
      );
    }
    const q = new URLSearchParams();
    for (const k of ['source', 'reason', 'limit', 'offset'] as const) {
      if (typeof values[k] === 'string') q.set(k, values[k] as string);
    }
    const qs = q.size ? `?${q}` : '';
    return runApiCommand(
      ctx,
      'bans',
      (c) => c.call<BanPage>('GET', `/v1/bans${qs}`),
      (p) =>
        p.items.length === 0
          ? `no bans${p.total > 0 ? ` on this page (total ${p.total})` : ''}`
          : `${renderTable(HEADER, banRows(p.items))}\n${p.offset + 1}-${p.offset + p.items.length} of ${p.total}`,
    );
  },
};
