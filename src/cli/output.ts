/**
 * What the CLI prints for API answers: aligned plain-text tables for people, and the exit code an
 * answer or failure means (0 ok, 1 failed, 2 bad usage/input, 3 not found).
 */
import { isNftsentryError } from '../errors.ts';
import { loadConfig } from '../config/config.ts';
import { ExitCode, type CommandContext } from './command.ts';
import { ApiClient, ApiClientError, targetFromConfig } from './api-client.ts';

/** Columns padded to their widest cell; the last column is not padded. */
export function renderTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `3725` -> `1h2m`, null -> `permanent`. */
export function formatRemaining(sec: number | null): string {
  if (sec === null) return 'permanent';
  if (sec <= 0) return 'expired';
  const d = Math.floor(sec / 86_400);
  const h = Math.floor((sec % 86_400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = Math.floor(sec % 60);
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** Exit code and one line for a failed call: 400 -> 2, 404 -> 3, anything else -> 1. */
export function describeFailure(err: unknown): { exitCode: number; message: string } {
  if (err instanceof ApiClientError) {
    const exitCode =
      err.status === 404
        ? ExitCode.NOT_FOUND
        : err.status === 400 || err.status === 413
          ? ExitCode.USAGE
          : ExitCode.FAILED;
    return { exitCode, message: `${err.message} (${err.code}, HTTP ${err.status})` };
  }
  if (isNftsentryError(err))
    return { exitCode: err.code === 'E_CONFIG_INVALID' ? ExitCode.USAGE : ExitCode.FAILED, message: err.message };
  return { exitCode: ExitCode.FAILED, message: (err as Error)?.message ?? String(err) };
}

/**
 * Runs one client command: config -> client -> `fn`; prints `fn`'s JSON answer with --json, its
 * text otherwise; a failure becomes one line on stderr and its exit code.
 */
export async function runApiCommand<T>(
  ctx: CommandContext,
  name: string,
  fn: (client: ApiClient) => Promise<T>,
  text: (answer: T) => string,
): Promise<number> {
  try {
    const config = loadConfig(ctx.configPath);
    const answer = await fn(new ApiClient(targetFromConfig(config.api)));
    ctx.stdout(ctx.json ? JSON.stringify(answer, null, 2) : text(answer));
    return ExitCode.OK;
  } catch (err) {
    const f = describeFailure(err);
    if (ctx.json && err instanceof ApiClientError)
      ctx.stdout(JSON.stringify({ error: { code: err.code, message: err.message, status: err.status } }));
    ctx.stderr(`nftsentry ${name}: ${f.message}`);
    return f.exitCode;
  }
}

/** A positional address argument, or a usage error. */
export function oneAddress(ctx: CommandContext, name: string, usage: string, positionals: string[]): string | null {
  if (positionals.length !== 1) {
    ctx.stderr(`nftsentry ${name}: expected one ADDRESS\nusage: ${usage}`);
    return null;
  }
  return positionals[0]!;
}
