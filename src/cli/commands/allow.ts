import { addressSegment } from '../api-client.ts';
import { renderTable, runApiCommand } from '../output.ts';
import { ExitCode, type Command } from '../command.ts';

interface AllowJson {
  prefix: string;
  origin: string;
  note: string;
  added: string;
}

export const allowCommand: Command = {
  name: 'allow',
  summary: 'add an address or prefix to the live allowlist (lifts the bans it covers); --list, --remove',
  usage: 'nftsentry [-c FILE] [--json] allow ADDRESS [--note TEXT] [--force] | allow --list | allow --remove ADDRESS',
  options: {
    note: { type: 'string' },
    /** Takes a prefix wider than api.allowlist_min_prefix. */
    force: { type: 'boolean' },
    list: { type: 'boolean' },
    remove: { type: 'boolean' },
  },
  async run(ctx, values, positionals) {
    if (values.list) {
      return runApiCommand(
        ctx,
        'allow',
        (c) => c.call<{ total: number; items: AllowJson[] }>('GET', '/v1/allowlist'),
        (a) =>
          a.items.length
            ? renderTable(
                ['PREFIX', 'ORIGIN', 'ADDED (UTC)', 'NOTE'],
                a.items.map((e) => [e.prefix, e.origin, e.added.slice(0, 19).replace('T', ' '), e.note]),
              )
            : 'the allowlist is empty',
      );
    }
    if (positionals.length !== 1) {
      ctx.stderr(`nftsentry allow: expected one ADDRESS\nusage: ${this.usage}`);
      return ExitCode.USAGE;
    }
    const address = positionals[0]!;
    if (values.remove) {
      return runApiCommand(
        ctx,
        'allow',
        (c) => c.call<{ prefix: string }>('DELETE', `/v1/allowlist/${addressSegment(address)}`),
        (a) => `removed ${a.prefix} from the allowlist`,
      );
    }
    const body: Record<string, unknown> = { address };
    if (typeof values.note === 'string') body.note = values.note;
    if (values.force === true) body.force = true;
    return runApiCommand(
      ctx,
      'allow',
      (c) => c.call<{ entry: AllowJson; liftedBans: number }>('POST', '/v1/allowlist', body),
      (a) => `allowlisted ${a.entry.prefix}; ${a.liftedBans} ban(s) lifted`,
    );
  },
};
