import type { Explanation } from '../../engine/operations.ts';
import { parseIp } from '../../net/ip.ts';
import { addressSegment } from '../api-client.ts';
import { explainText } from '../explain-text.ts';
import { runApiCommand } from '../output.ts';
import { ExitCode, type Command } from '../command.ts';

export const explainCommand: Command = {
  name: 'explain',
  summary: 'why an address is banned or not: its ban and hits, the rules that protect it, its journal',
  usage: 'nftsentry [-c FILE] [--json] explain ADDRESS',
  async run(ctx, _values, positionals) {
    const ip = positionals.length === 1 ? parseIp(positionals[0]!.trim()) : null;
    if (!ip) {
      ctx.stderr(
        positionals.length === 1
          ? `nftsentry explain: not an IPv4 or IPv6 address: ${positionals[0]!.slice(0, 64)}`
          : `nftsentry explain: expected one ADDRESS\nusage: ${this.usage}`,
      );
      return ExitCode.USAGE;
    }
    return runApiCommand(
      ctx,
      'explain',
      (c) => c.call<Explanation>('GET', `/v1/explain/${addressSegment(ip.text)}`),
      (e) => explainText(e, Date.now()),
    );
  },
};
