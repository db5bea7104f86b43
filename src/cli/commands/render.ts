import { loadConfig } from '../../config/config.ts';
import { renderRuleset, loadTemplates } from '../../nft/ruleset.ts';
import { ExitCode, type Command } from '../command.ts';

export const renderCommand: Command = {
  name: 'render',
  summary: 'print the exact nft script the config produces (nothing is loaded)',
  usage: 'nftsentry [-c FILE] render',
  async run(ctx) {
    const config = loadConfig(ctx.configPath);
    ctx.stdout(renderRuleset(config, loadTemplates()));
    return ExitCode.OK;
  },
};
