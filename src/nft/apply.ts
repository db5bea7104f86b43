/**
 * Loading the base ruleset: render, then one `nft -f` transaction. Also the lock-out warnings an
 * admin wants to read before it bites.
 *
 * Upgrade: the objects file declares every object, which keeps an existing one only when its
 * definition is the same; one that differs is refused (by the kernel: E_NFT_EXISTS; before that,
 * nft checks the rules against the set it has: E_NFT_REJECTED, "datatype mismatch"). When nft
 * refuses the script and the kernel holds an older definition of a set in SET_TYPES (a plain
 * `ipv4_addr` bannet4 or allow4 from before they became concatenations) or a ban set without
 * `counter` (COUNTER_SETS), the script is rendered again with a RulesetUpgrade: the chains
 * emptied, the old sets deleted and declared anew, the sets no longer declared (OBSOLETE_SETS)
 * deleted; the ban sets' elements are carried over with the time they had left (the config sets are refilled from the config anyway); still one
 * transaction. Nothing is read while the definitions are current.
 */
import type { Config } from '../config/config.ts';
import { isNftsentryError, ErrorCodes } from '../errors.ts';
import type { Logger } from '../log.ts';
import { parseIp, parsePrefix, prefixContains, prefixKey, unmapV4 } from '../net/ip.ts';
import { elementStatements, type ElementChange } from './elements.ts';
import { renderRuleset, loadTemplates, type RulesetUpgrade } from './ruleset.ts';
import { COUNTER_SETS, NETWORK_KEY_SETS, OBSOLETE_SETS, SET_TYPES, TABLE_FAMILY, TABLE_NAME } from './objects.ts';
import type { Nft, NftJson, NftResult } from './nft.ts';
import { NftRunner } from './runner.ts';
import { readSet } from './state.ts';

export interface ApplyOptions {
  netns?: string | undefined;
  runner?: Nft;
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
    config.services.restricted.some(
      (r) =>
        r.proto === 'tcp' &&
        r.ports.some(([a, b]) => a <= port && port <= b) &&
        r.from.some((p) => prefixContains(p, addr)),
    );
  if (!allowlisted) {
    warnings.push(
      `your SSH client ${addr.text} is not in the allowlist: add it (allowlist: [${addr.text}]) so that no rate limit, ban or scan meter can ever cut you off`,
    );
  }
  if (!portOpen && !allowlisted) {
    warnings.push(
      `port ${port} (your SSH session) is not open to ${addr.text}: a new SSH session from there will be dropped`,
    );
  }
  return warnings;
}

/**
 * From `nft -j -t list table inet nftsentry`: the sets of SET_TYPES whose type differs from the
 * objects file's and the OBSOLETE_SETS still there (all to delete), and the table's chains. Pure.
 */
export function outdatedSets(table: NftJson): { sets: string[]; chains: string[] } {
  const sets: string[] = [];
  const chains: string[] = [];
  const obsolete: readonly string[] = OBSOLETE_SETS;
  const counted: readonly string[] = COUNTER_SETS;
  for (const o of table.nftables) {
    if (o.chain) chains.push((o.chain as { name: string }).name);
    const set = o.set as { name: string; type: string | string[]; stmt?: unknown[] } | undefined;
    if (!set) continue;
    const want = Object.hasOwn(SET_TYPES, set.name) ? SET_TYPES[set.name]! : null;
    const uncounted =
      counted.includes(set.name) && !(set.stmt ?? []).some((s) => s && typeof s === 'object' && 'counter' in s);
    if ((want && [set.type].flat().join(' . ') !== want.join(' . ')) || obsolete.includes(set.name) || uncounted)
      sets.push(set.name);
  }
  return { sets, chains };
}

/**
 * An element's key as element changes name it (nft/elements.ts): `addr/len` in the prefix sets
 * (their `. 0-255` half dropped), `addr/64` in ban6net64, the address in ban4/ban6. Anything but
 * an address or prefix (not written by nftsentry) is not carried over: null.
 */
function carriedKey(set: string, key: string): string | null {
  const p = parsePrefix(key.split(' . ')[0]!);
  if (!p) return null;
  const length = (NETWORK_KEY_SETS as Record<string, number>)[set];
  if (length !== undefined) return `${p.network.text}/${length}`;
  return prefixKey(p);
}

/** The upgrade the kernel needs (see the top of this file); null when there is nothing to upgrade. */
export async function readUpgrade(runner: Nft): Promise<RulesetUpgrade | null> {
  let table: NftJson;
  try {
    // -t: no elements printed (nft still reads them: costly with many bans, but only on this path).
    table = await runner.json(['-t', 'list', 'table', TABLE_FAMILY, TABLE_NAME]);
  } catch (err) {
    if (isNftsentryError(err, ErrorCodes.NFT_NOT_FOUND)) return null;
    throw err;
  }
  const { sets, chains } = outdatedSets(table);
  if (sets.length === 0) return null;
  const carried: ElementChange[] = [];
  // Only the ban sets hold state; the config sets are filled again from the config.
  const held: readonly string[] = COUNTER_SETS;
  for (const set of sets.filter((s) => held.includes(s))) {
    for (const e of await readSet(runner, set)) {
      const key = carriedKey(set, e.key);
      if (key === null) continue;
      carried.push({ set, key, timeoutSec: e.expiresSec === null ? null : Math.max(1, e.expiresSec) });
    }
  }
  return { sets, chains, elements: elementStatements({ add: carried }) };
}

/**
 * Runs the rendered ruleset (`check`: through `nft -c`, nothing loaded); when nft refuses it, again
 * with the upgrade if the kernel needs one (see the top of this file).
 */
export async function runRuleset(
  runner: Nft,
  render: (upgrade?: RulesetUpgrade) => string,
  options: { check?: boolean } = {},
): Promise<{ result: NftResult; upgrade: RulesetUpgrade | null }> {
  try {
    return { result: await runner.runScript(render(), options), upgrade: null };
  } catch (err) {
    if (!isNftsentryError(err, ErrorCodes.NFT_EXISTS) && !isNftsentryError(err, ErrorCodes.NFT_REJECTED)) throw err;
    const upgrade = await readUpgrade(runner);
    if (!upgrade) throw err;
    return { result: await runner.runScript(render(upgrade), options), upgrade };
  }
}

export async function applyRuleset(config: Config, options: ApplyOptions = {}): Promise<ApplyResult> {
  const runner = options.runner ?? new NftRunner({ netns: options.netns });
  const templates = loadTemplates();
  const warnings = options.netns ? [] : lockoutWarnings(config, options.sshConnection ?? process.env.SSH_CONNECTION);
  const { result, upgrade } = await runRuleset(runner, (u) => renderRuleset(config, templates, u));
  if (upgrade) {
    options.log?.warn(
      { sets: upgrade.sets, statements: upgrade.elements.length },
      'older set definitions replaced, their elements carried over',
    );
  }
  options.log?.info({ durationMs: Math.round(result.durationMs), netns: runner.netns }, 'ruleset applied');
  return { durationMs: result.durationMs, warnings };
}
