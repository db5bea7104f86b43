/**
 * A CLI command: its options (node:util parseArgs), and what it does. Exit codes are meaningful:
 * 0 success, 1 the operation failed, 2 bad usage or invalid config, 3 not found (unban, ban lookup).
 */
import type { ParseArgsConfig } from 'node:util';
import type { Logger } from '../log.ts';

export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2, NOT_FOUND: 3 } as const;

export interface CommandContext {
  /** `-c FILE`; every command that reads the config reads this one. */
  configPath: string;
  /** `--netns NAME`: run nft inside this named network namespace. */
  netns: string | undefined;
  /** `--json`: machine-readable output. */
  json: boolean;
  log: Logger;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface Subcommand {
  name: string;
  summary: string;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options?: NonNullable<ParseArgsConfig['options']>;
  /** Words the first positional may be (`allow list|add|remove`): for help and completion. */
  subcommands?: readonly Subcommand[];
  /** Returns the exit code. */
  run(ctx: CommandContext, values: Record<string, unknown>, positionals: string[]): Promise<number>;
}
