import { addressSegment } from '../api-client.ts';
import { oneAddress, runApiCommand } from '../output.ts';
import { formatDurationSec } from '../../config/duration.ts';
import { ExitCode, type Command } from '../command.ts';

export const unbanCommand: Command = {
  name: 'unban',
  summary: 'lift a ban (through the API); --fleet: on every gateway of the fleet; exit 3 when there was none',
  usage: 'nftsentry [-c FILE] [--json] unban [--fleet] ADDRESS',
  options: { fleet: { type: 'boolean' } },
  async run(ctx, values, positionals) {
    const address = oneAddress(ctx, 'unban', this.usage, positionals);
    if (address === null) return ExitCode.USAGE;
    const fleet = values.fleet === true;
    return runApiCommand(
      ctx,
      'unban',
      (c) =>
        c.call<{ address: string; graceSec: number }>(
          'DELETE',
          `/v1/bans/${addressSegment(address)}${fleet ? '?fleet=true' : ''}`,
        ),
      (a) =>
        `unbanned ${a.address}${fleet ? ' on every gateway of the fleet' : ''} (alerts from it are not acted on for ${formatDurationSec(a.graceSec)})`,
    );
  },
};
