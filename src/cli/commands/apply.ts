import { loadConfig } from '../../config/config.ts';
import { applyRuleset } from '../../nft/apply.ts';
import { ExitCode, type Command } from '../command.ts';

export const applyCommand: Command = {
  name: 'apply',
  summary: 'load the ruleset into `table inet nftsentry` in one atomic transaction (bans are kept)',
  usage: 'nftsentry [-c FILE] [--netns NAME] apply',
  async run(ctx) {
    const config = loadConfig(ctx.configPath);
    const result = await applyRuleset(config, { netns: ctx.netns, log: ctx.log });
    ctx.stdout(
      ctx.json
        ? JSON.stringify(result)
        : `applied table inet nftsentry in ${result.durationMs.toFixed(0)} ms (${result.warnings.length} warning(s))`,
    );
    for (const w of result.warnings) ctx.stderr(`warning: ${w}`);
    return ExitCode.OK;
  },
};
