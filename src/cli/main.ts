#!/usr/bin/env node
/**
 * nftsentry's command line. Global options: -c FILE, --netns NAME, --json, -h, -V.
 * Each command lives in ./commands/NAME.ts and is listed in COMMANDS below; `help COMMAND`,
 * the shell completion and the man page are made from that table (help.ts, completion.ts).
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger } from '../log.ts';
import { isNftsentryError, ErrorCodes } from '../errors.ts';
import { VERSION } from '../version.ts';
import { ExitCode, type Command } from './command.ts';
import { commandHelp, generalHelp, GLOBAL_OPTIONS } from './help.ts';
import { renderCommand } from './commands/render.ts';
import { checkCommand } from './commands/check.ts';
import { applyCommand } from './commands/apply.ts';
import { confirmCommand } from './commands/confirm.ts';
import { labCommand } from './commands/lab.ts';
import { bansCommand } from './commands/bans.ts';
import { explainCommand } from './commands/explain.ts';
import { banCommand } from './commands/ban.ts';
import { unbanCommand } from './commands/unban.ts';
import { allowCommand } from './commands/allow.ts';
import { statusCommand } from './commands/status.ts';
import { runCommand } from './commands/run.ts';
import { replayCommand } from './commands/replay.ts';
import { doctorCommand } from './commands/doctor.ts';

export const DEFAULT_CONFIG = '/etc/nftsentry/nftsentry.yaml';

/** The command table: help, completion and the man page are made from it. */
export const COMMANDS: Command[] = [
  renderCommand,
  checkCommand,
  applyCommand,
  confirmCommand,
  labCommand,
  bansCommand,
  explainCommand,
  banCommand,
  unbanCommand,
  allowCommand,
  statusCommand,
  runCommand,
  replayCommand,
  doctorCommand,
];

function help(): string {
  return generalHelp(COMMANDS, DEFAULT_CONFIG);
}

export async function main(argv: string[]): Promise<number> {
  const out = (t: string) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`);
  const err = (t: string) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`);
  const nameIndex = argv.findIndex(
    (a, i) => !a.startsWith('-') && !['-c', '--config', '--netns'].includes(argv[i - 1] ?? ''),
  );
  const globalArgs = nameIndex < 0 ? argv : argv.slice(0, nameIndex);
  const name = nameIndex < 0 ? undefined : argv[nameIndex];
  const rest = nameIndex < 0 ? [] : argv.slice(nameIndex + 1);
  const globalOptions = GLOBAL_OPTIONS;
  let g;
  try {
    g = parseArgs({ args: globalArgs, options: globalOptions, strict: true, allowPositionals: false }).values;
  } catch (e) {
    err(`nftsentry: ${(e as Error).message}\n\n${help()}`);
    return ExitCode.USAGE;
  }
  if (g.version) {
    out(VERSION);
    return ExitCode.OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    if (name === 'help' && rest[0] !== undefined) {
      const topic = COMMANDS.find((c) => c.name === rest[0]);
      if (!topic) {
        err(`nftsentry help: unknown command "${rest[0]}"\n\n${help()}`);
        return ExitCode.USAGE;
      }
      out(commandHelp(topic));
      return ExitCode.OK;
    }
    if (name === undefined || name === 'help' || g.help) {
      out(help());
      return name === undefined && !g.help ? ExitCode.USAGE : ExitCode.OK;
    }
    err(`nftsentry: unknown command "${name}"\n\n${help()}`);
    return ExitCode.USAGE;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...globalOptions, ...(command.options ?? {}) },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    err(`nftsentry ${command.name}: ${(e as Error).message}\nusage: ${command.usage}`);
    return ExitCode.USAGE;
  }
  const v = parsed.values as Record<string, unknown>;
  if (v.help) {
    out(commandHelp(command));
    return ExitCode.OK;
  }
  if (v.version) {
    out(VERSION);
    return ExitCode.OK;
  }
  const ctx = {
    configPath: (v.config as string | undefined) ?? g.config ?? process.env.NFTSENTRY_CONFIG ?? DEFAULT_CONFIG,
    netns: (v.netns as string | undefined) ?? g.netns,
    json: Boolean(v.json ?? g.json),
    log: createLogger(),
    stdout: out,
    stderr: err,
  };
  try {
    return await command.run(ctx, v, parsed.positionals);
  } catch (e) {
    if (isNftsentryError(e)) {
      err(`nftsentry ${command.name}: ${e.message}`);
      if (e.code === ErrorCodes.CONFIG_INVALID) return ExitCode.USAGE;
      if (e.code === ErrorCodes.NOT_FOUND) return ExitCode.NOT_FOUND;
      return ExitCode.FAILED;
    }
    err(`nftsentry ${command.name}: unexpected error: ${(e as Error).stack ?? String(e)}`);
    return ExitCode.FAILED;
  }
}

/** Whether this module is the program's entry (from source, or as the bundle in the package). */
function isEntry(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  if (script.endsWith('/src/cli/main.ts')) return true;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntry()) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
