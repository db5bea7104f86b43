/**
 * `nftsentry apply [--confirm DURATION] [--allow-my-session]`. With --confirm the previous
 * ruleset comes back after DURATION unless `nftsentry confirm` arrives (confirm-apply.ts); over
 * SSH without it, a warning suggests it.
 */
import { resolve } from 'node:path';
import { loadConfig } from '../../config/config.ts';
import { parseDurationSec } from '../../config/duration.ts';
import type { IpPrefix } from '../../net/ip.ts';
import { applyRuleset } from '../../nft/apply.ts';
import { ApiClient, targetFromConfig } from '../api-client.ts';
import { ExitCode, type Command } from '../command.ts';
import {
  applyWithHelper,
  type ConfirmTicket,
  confirmCommandLine,
  confirmInstructions,
  daemonListening,
} from '../confirm-apply.ts';
import { allowInStore, allowThroughDaemon, sshClientPrefix } from '../session-allow.ts';

export const applyCommand: Command = {
  name: 'apply',
  summary:
    'load the ruleset into `table inet nftsentry` in one atomic transaction (bans are kept); --confirm DURATION rolls it back unless confirmed',
  usage: 'nftsentry [-c FILE] [--netns NAME] apply [--confirm DURATION] [--allow-my-session]',
  options: { confirm: { type: 'string' }, 'allow-my-session': { type: 'boolean' } },
  async run(ctx, values) {
    const config = loadConfig(ctx.configPath);
    const ssh = process.env.SSH_CONNECTION;
    let confirmSec: number | null = null;
    if (values.confirm !== undefined) {
      confirmSec = parseDurationSec(values.confirm);
      if (confirmSec === null) {
        ctx.stderr(`nftsentry apply: --confirm ${String(values.confirm)} is not a duration like 30s, 5m or 1h`);
        return ExitCode.USAGE;
      }
    }
    const daemon = await daemonListening(config.api);
    const extraAllow: IpPrefix[] = [];
    if (values['allow-my-session']) {
      const client = sshClientPrefix(ssh);
      if (!client) {
        ctx.stderr('nftsentry apply: --allow-my-session: SSH_CONNECTION names no client address (not an SSH session?)');
        return ExitCode.USAGE;
      }
      const added = daemon ? await allowThroughDaemon(config, client) : allowInStore(config, client, ctx.log);
      extraAllow.push(client);
      ctx.stderr(
        added
          ? `added your SSH client ${client.text} to the live allowlist (${daemon ? 'through the daemon' : 'store and kernel'}; the config file is unchanged)`
          : `your SSH client ${client.text} is on the live allowlist already`,
      );
    } else if (confirmSec === null && ssh) {
      ctx.stderr(
        'warning: applying over SSH without --confirm: a ruleset that cuts this session off stays. Use `apply --confirm 2m` (and `--allow-my-session`)',
      );
    }
    if (confirmSec !== null) {
      let ticket: ConfirmTicket;
      let warnings: string[] = [];
      if (daemon) {
        const client = new ApiClient(targetFromConfig(config.api));
        ticket = await client.call<ConfirmTicket>('POST', '/v1/ruleset/apply', {
          confirm: confirmSec,
          configPath: resolve(ctx.configPath),
        });
      } else {
        const applied = await applyWithHelper(config, ctx, confirmSec, extraAllow);
        ticket = applied.ticket;
        warnings = applied.result.warnings;
      }
      const command = confirmCommandLine(ctx.configPath, ctx.netns);
      ctx.stdout(
        ctx.json
          ? JSON.stringify({ ...ticket, deadline: new Date(ticket.deadlineMs).toISOString(), confirmCommand: command })
          : confirmInstructions(ticket, command, Date.now()),
      );
      for (const w of warnings) ctx.stderr(`warning: ${w}`);
      return ExitCode.OK;
    }
    const result = await applyRuleset(
      { ...config, allowlist: [...config.allowlist, ...extraAllow] },
      { netns: ctx.netns, log: ctx.log },
    );
    ctx.stdout(
      ctx.json
        ? JSON.stringify(result)
        : `applied table inet nftsentry in ${result.durationMs.toFixed(0)} ms (${result.warnings.length} warning(s))`,
    );
    for (const w of result.warnings) ctx.stderr(`warning: ${w}`);
    return ExitCode.OK;
  },
};
