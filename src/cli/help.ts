/**
 * The CLI's help texts, made from the command table: `nftsentry --help` lists the commands,
 * `nftsentry help COMMAND` (or `nftsentry COMMAND -h`) shows one with its subcommands and options.
 * Pure.
 */
import type { ParseArgsConfig } from 'node:util';
import type { Command } from './command.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** The options every command takes, and what they mean. */
export const GLOBAL_OPTIONS = {
  config: { type: 'string', short: 'c' },
  netns: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const satisfies Options;

export function globalOptionLines(defaultConfig: string): string[] {
  return [
    `  -c, --config FILE   config file (default ${defaultConfig}, or $NFTSENTRY_CONFIG)`,
    '  --netns NAME        run nft inside the named network namespace',
    '  --json              machine-readable output',
    '  -h, --help          this help; `nftsentry help COMMAND` for a command',
    '  -V, --version       the version',
  ];
}

export function generalHelp(commands: readonly Command[], defaultConfig: string): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: nftsentry [-c FILE] [--netns NAME] [--json] COMMAND [ARGS]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'global options:',
    ...globalOptionLines(defaultConfig),
  ].join('\n');
}

/** An option as typed, its value named as the usage line names it: `--note TEXT`, `-c, --config FILE`. */
export function optionSpelling(name: string, o: Options[string], usage = ''): string {
  const escaped = name.replace(/[-]/g, '\\-');
  const shown = new RegExp(`--${escaped}[ =](\\S+?)\\]?(?:\\s|$)`).exec(usage)?.[1];
  const long = `--${name}${o.type === 'string' ? ` ${shown ?? 'VALUE'}` : ''}`;
  return o.short ? `-${o.short}, ${long}` : long;
}

export function commandHelp(c: Command): string {
  const out = [`usage: ${c.usage}`, '', c.summary];
  if (c.subcommands?.length) {
    const width = Math.max(...c.subcommands.map((s) => s.name.length));
    out.push('', 'subcommands:', ...c.subcommands.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`));
  }
  const options = Object.entries(c.options ?? {});
  if (options.length) out.push('', 'options:', ...options.map(([n, o]) => `  ${optionSpelling(n, o, c.usage)}`));
  out.push('', 'Global options (-c FILE, --netns NAME, --json): `nftsentry --help`.');
  return out.join('\n');
}
