/**
 * Loading the base ruleset: render, then one `nft -f` transaction. Also the lock-out warnings an
 * admin wants to read before it bites.
 */
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import { parseIp, prefixContains, unmapV4 } from '../net/ip.ts';
import { renderRuleset, loadTemplates } from './ruleset.ts';
import { NftRunner } from './runner.ts';

export interface ApplyOptions {
  netns?: string | undefined;
  runner?: NftRunner;
  log?: Logger;
  /** SSH_CONNECTION of the caller (for the lock-out warning); defaults to the environment. */
  sshConnection?: string | undefined;
}

export interface ApplyResult {
  durationMs: number;
  warnings: string[];
}

/**
 * Warnings about ways this config could cut the caller off. An SSH session whose client is not
 * allowlisted survives only if conntrack already tracks it (it does when conntrack was loaded
 * before the session started); a new session needs port 22 open.
 */
export function lockoutWarnings(config: Config, sshConnection: string | undefined): string[] {
  const warnings: string[] = [];
  const [clientText, , , serverPortText] = (sshConnection ?? '').split(' ');
  const client = clientText ? parseIp(clientText) : null;
  if (!client) return warnings;
  const addr = unmapV4(client) ?? client;
  const allowlisted = config.allowlist.some((p) => prefixContains(p, addr));
  const port = Number(serverPortText);
  const portOpen =
    config.services.tcp.some(([a, b]) => a <= port && port <= b) ||
    config.services.restricted.some((r) => r.proto === 'tcp' && r.ports.some(([a, b]) => a <= port && port <= b) && r.from.some((p) => prefixContains(p, addr)));
  if (!allowlisted) {
    warnings.push(
      `your SSH client ${addr.text} is not in the allowlist: add it (allowlist: [${addr.text}]) so that no rate limit, ban or scan meter can ever cut you off`,
    );
  }
  if (!portOpen && !allowlisted) {
    warnings.push(`port ${port} (your SSH session) is not open to ${addr.text}: a new SSH session from there will be dropped`);
  }
  return warnings;
}

export async function applyRuleset(config: Config, options: ApplyOptions = {}): Promise<ApplyResult> {
  const runner = options.runner ?? new NftRunner({ netns: options.netns });
  const script = renderRuleset(config, loadTemplates());
  const warnings = options.netns ? [] : lockoutWarnings(config, options.sshConnection ?? process.env.SSH_CONNECTION);
  const result = await runner.runScript(script);
  options.log?.info({ durationMs: Math.round(result.durationMs), netns: runner.netns }, 'ruleset applied');
  return { durationMs: result.durationMs, warnings };
}
