/**
 * nftsentry(8), made from the command table like the help and the completion: synopsis, each
 * command with its usage and options, the global options, exit codes and files. Pure (groff text).
 */
import type { Command } from './command.ts';
import { globalOptionLines, optionSpelling } from './help.ts';

/** Text for groff: backslashes and hyphens escaped, no line starting with a control character. */
function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/^([.'])/gm, '\\&$1');
}

export function manPage(commands: readonly Command[], version: string, date: string, defaultConfig: string): string {
  const out = [
    `.TH NFTSENTRY 8 "${date}" "nftsentry ${version}" "System Administration"`,
    '.SH NAME',
    'nftsentry \\- nftables\\-native port\\-scan and intrusion blocker',
    '.SH SYNOPSIS',
    '.B nftsentry',
    roff('[-c FILE] [--netns NAME] [--json] COMMAND [ARGS]'),
    '.br',
    '.B nftsentry help',
    'COMMAND',
    '.SH DESCRIPTION',
    roff(
      'nftsentry bans the sources of Suricata and Snort 3 alerts, and of the port scans its own nft rules detect, in the ban sets of one nftables table (table inet nftsentry). It never touches other tables. The daemon is `nftsentry run` (the nftsentry.service unit); the other commands check and load the ruleset, or talk to the daemon through its HTTP API.',
    ),
    '.SH COMMANDS',
  ];
  for (const c of commands) {
    out.push('.TP', `.B ${c.name}`, roff(c.summary), '.br', `Usage: ${roff(c.usage)}`);
    for (const s of c.subcommands ?? []) out.push('.br', `\\fB${roff(s.name)}\\fR: ${roff(s.summary)}`);
    for (const [n, o] of Object.entries(c.options ?? {})) out.push('.br', roff(optionSpelling(n, o, c.usage)));
  }
  out.push('.SH OPTIONS');
  for (const line of globalOptionLines(defaultConfig)) {
    const m = /^\s+(\S.*?)\s{2,}(.*)$/.exec(line);
    if (m) out.push('.TP', `.B ${roff(m[1]!)}`, roff(m[2]!));
  }
  out.push(
    '.SH EXIT STATUS',
    roff('0 success, 1 the operation failed, 2 bad usage or an invalid config, 3 not found (unban, bans ADDRESS).'),
    '.SH FILES',
    '.TP',
    `.I ${roff(defaultConfig)}`,
    roff('The configuration. Every key: /usr/share/doc/nftsentry/config-reference.yaml.'),
    '.TP',
    '.I /var/lib/nftsentry',
    roff('The ban journal (state.db) and the API token.'),
    '.TP',
    '.I /usr/share/doc/nftsentry/examples',
    roff('Suricata and Snort 3 configuration to feed nftsentry.'),
    '.SH SEE ALSO',
    '.BR nft (8),',
    '.BR suricata (1),',
    '.BR systemctl (1)',
  );
  return `${out.join('\n')}\n`;
}
