/**
 * `nftsentry confirm`: keeps the ruleset of a pending `apply --confirm` (same -c). Through the
 * daemon when it runs (it holds the deadline), and by taking the pending file from the helper when
 * an apply made without the daemon waits.
 */
import { loadConfig } from '../../config/config.ts';
import { ApiClient, targetFromConfig } from '../api-client.ts';
import { ExitCode, type Command } from '../command.ts';
import { confirmWithHelper, daemonListening } from '../confirm-apply.ts';
import { describeFailure } from '../output.ts';

export const confirmCommand: Command = {
  name: 'confirm',
  summary: 'keep the ruleset of a pending `apply --confirm` (else it is rolled back at its deadline)',
  usage: 'nftsentry [-c FILE] [--json] confirm',
  async run(ctx) {
    const config = loadConfig(ctx.configPath);
    let answer: { confirmed: boolean; message: string } | undefined;
    if (await daemonListening(config.api)) {
      try {
        answer = await new ApiClient(targetFromConfig(config.api)).call('POST', '/v1/ruleset/confirm', {});
      } catch (err) {
        const f = describeFailure(err);
        ctx.stderr(`nftsentry confirm: ${f.message}`);
        return f.exitCode;
      }
    }
    // A helper's pending apply (made while no daemon ran) is confirmed whether a daemon runs now or not.
    if (!answer?.confirmed) {
      try {
        const helper = confirmWithHelper(config);
        if (helper.confirmed || !answer) answer = helper;
      } catch (err) {
        // The state directory may be closed to this user; the daemon's answer stands then.
        if (!answer) throw err;
      }
    }
    ctx.stdout(ctx.json ? JSON.stringify(answer) : answer.message);
    return answer.confirmed ? ExitCode.OK : ExitCode.NOT_FOUND;
  },
};
