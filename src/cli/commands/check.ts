import { loadConfig } from '../../config/config.ts';
import { renderRuleset, loadTemplates } from '../../nft/ruleset.ts';
import { NftRunner } from '../../nft/runner.ts';
import { runRuleset } from '../../nft/apply.ts';
import { ExitCode, type Command } from '../command.ts';

export const checkCommand: Command = {
  name: 'check',
  summary: 'validate the config and run the ruleset through `nft -c` (nothing is loaded)',
  usage: 'nftsentry [-c FILE] [--netns NAME] check',
  async run(ctx) {
    const config = loadConfig(ctx.configPath);
    const templates = loadTemplates();
    // As apply would load it: with the upgrade of older set definitions when the kernel needs one.
    await runRuleset(new NftRunner({ netns: ctx.netns }), (u) => renderRuleset(config, templates, u), { check: true });
    ctx.stdout(`${ctx.configPath}: config valid, ruleset accepted by nft -c`);
    return ExitCode.OK;
  },
};
