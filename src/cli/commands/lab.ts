import { loadConfig } from '../../config/config.ts';
import { runLab, labProblems, LAB_CONFIG_PATH } from '../../lab/lab.ts';
import { ExitCode, type Command } from '../command.ts';

export const labCommand: Command = {
  name: 'lab',
  summary: 'demo in throwaway namespaces: gateway, scanner (real nmap) and client; removes everything after',
  usage: `nftsentry [-c FILE] [--json] lab     (default config: ${LAB_CONFIG_PATH})`,
  async run(ctx) {
    // The lab never touches the host's namespace, whatever the config says.
    process.env.NFTSENTRY_FORBID_HOST_NETNS = '1';
    const explicit = process.argv.some((a) => a === '-c' || a === '--config') || process.env.NFTSENTRY_CONFIG;
    const config = explicit ? loadConfig(ctx.configPath) : undefined;
    const report = await runLab({ out: ctx.json ? () => {} : ctx.stdout, ...(config ? { config } : {}) });
    const problems = labProblems(report);
    if (ctx.json) ctx.stdout(JSON.stringify({ ...report, problems }));
    else ctx.stdout(problems.length === 0 ? 'lab: PASS' : `lab: FAIL\n  ${problems.join('\n  ')}`);
    return problems.length === 0 ? ExitCode.OK : ExitCode.FAILED;
  },
};
