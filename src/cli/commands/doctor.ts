import { NftRunner } from '../../nft/runner.ts';
import { gatherFacts } from '../../doctor/doctor-gather.ts';
import { doctorExitCode, renderFindings, runChecks } from '../../doctor/doctor-report.ts';
import type { Command } from '../command.ts';

export const doctorCommand: Command = {
  name: 'doctor',
  summary:
    'check nft, the kernel, sysctls, other tables, the config and the daemon; each finding with its fix (exit 0 ok, 1 warnings, 2 problems)',
  usage: 'nftsentry [-c FILE] [--netns NAME] [--json] doctor',
  options: {
    // For tests and unusual hosts: where /proc is ($NFTSENTRY_PROC_ROOT) and the file
    // nftables.service loads ($NFTSENTRY_NFTABLES_CONF).
    'proc-root': { type: 'string' },
    'nftables-conf': { type: 'string' },
  },
  async run(ctx, values) {
    const facts = await gatherFacts({
      configPath: ctx.configPath,
      nft: new NftRunner({ netns: ctx.netns }),
      netns: ctx.netns,
      procRoot: (values['proc-root'] as string | undefined) ?? process.env.NFTSENTRY_PROC_ROOT ?? '/proc',
      nftablesConf:
        (values['nftables-conf'] as string | undefined) ?? process.env.NFTSENTRY_NFTABLES_CONF ?? '/etc/nftables.conf',
      sshConnection: process.env.SSH_CONNECTION,
      nowMs: Date.now(),
    });
    const findings = runChecks(facts);
    ctx.stdout(ctx.json ? JSON.stringify(findings, null, 2) : renderFindings(findings));
    return doctorExitCode(findings);
  },
};
