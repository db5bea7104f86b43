import type { BanJson } from '../../api/ban-json.ts';
import { formatRemaining, oneAddress, runApiCommand } from '../output.ts';
import { ExitCode, type Command } from '../command.ts';

export const banCommand: Command = {
  name: 'ban',
  summary: 'ban an address or prefix now (through the API); a repeated ban refreshes it',
  usage: 'nftsentry [-c FILE] [--json] ban ADDRESS [--for 1h|SECONDS|permanent] [--reason TEXT]',
  options: {
    for: { type: 'string' },
    reason: { type: 'string' },
  },
  async run(ctx, values, positionals) {
    const address = oneAddress(ctx, 'ban', this.usage, positionals);
    if (address === null) return ExitCode.USAGE;
    const body: Record<string, unknown> = { address };
    if (typeof values.for === 'string') body.duration = /^\d+$/.test(values.for) ? Number(values.for) : values.for;
    if (typeof values.reason === 'string') body.reason = values.reason;
    return runApiCommand(
      ctx,
      'ban',
      (c) => c.call<BanJson>('POST', '/v1/bans', body),
      (b) => `banned ${b.address} for ${formatRemaining(b.remainingSec)} (offence ${b.offences}): ${b.reason}`,
    );
  },
};
