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
  summary: 'the live allowlist: list it, add an address or prefix (lifts the bans it covers), remove one',
  usage: 'nftsentry [-c FILE] [--json] allow list | allow add ADDRESS [--note TEXT] [--force] | allow remove ADDRESS',
  subcommands: [
    { name: 'list', summary: 'the entries added through the API or the CLI' },
    { name: 'add', summary: 'allowlist ADDRESS (also `allow ADDRESS`); --note TEXT, --force for a wide prefix' },
    { name: 'remove', summary: 'take ADDRESS off the allowlist (also `allow --remove ADDRESS`)' },
  ],
  options: {
    note: { type: 'string' },
    /** Takes a prefix wider than api.allowlist_min_prefix. */
    force: { type: 'boolean' },
    /** The older spellings of `allow list` and `allow remove`. */
    list: { type: 'boolean' },
    remove: { type: 'boolean' },
  },
  async run(ctx, values, positionals) {
    const sub = ['list', 'add', 'remove'].includes(positionals[0] ?? '') ? positionals[0] : undefined;
    const action = sub ?? (values.list ? 'list' : values.remove ? 'remove' : 'add');
    const args = sub ? positionals.slice(1) : positionals;
    if (action === 'list') {
      if (args.length > 0) {
        ctx.stderr(`nftsentry allow list: takes no ADDRESS\nusage: ${this.usage}`);
        return ExitCode.USAGE;
      }
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
    if (args.length !== 1) {
      ctx.stderr(`nftsentry allow ${action}: expected one ADDRESS\nusage: ${this.usage}`);
      return ExitCode.USAGE;
    }
    const address = args[0]!;
    if (action === 'remove') {
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
