/**
 * Renders the base ruleset: the readable nft files under `nft/` plus what the config says, as one
 * script that nft loads as a single atomic transaction.
 *
 * The script (1) declares every object, which keeps existing ones and so keeps ban set elements,
 * (2) flushes our chains, the config-filled sets and the meters, (3) re-adds the rules and
 * (4) the config's elements. Re-applying is therefore idempotent. Pure: templates are passed in.
 *
 * Template language, kept small on purpose: `${name}` is replaced by a value rendered from the
 * config, and lines between `#if flag` and `#endif` (nft comments, so the files stay valid nft
 * to the eye) are kept only when the flag is on.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INSTALL_ROOT } from '../install-root.ts';
import type { Config } from '../config/config.ts';
import type { IpPrefix } from '../net/ip.ts';
import { normalizePrefixes, prefixKey } from '../net/ip.ts';
import { TABLE, CHAINS, CONFIG_SETS, METER_SETS, ANY_PROTOCOL, banSetSize } from './objects.ts';
import { knockValues } from './knock-rules.ts';
import { ttlStatements } from './ttl-rules.ts';

export interface Template {
  name: string;
  text: string;
}

const NFT_DIR = join(INSTALL_ROOT, 'nft');

/** Reads the templates under `nft/` in name order (IO; the rest of this module is pure). */
export function loadTemplates(dir = NFT_DIR): Template[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.nft'))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }));
}

type Flags = Record<string, boolean>;
type Values = Record<string, string | number>;

/** Applies `#if`/`#endif` and `${}` to one template. Unknown names are a bug: throws. */
export function expandTemplate(t: Template, flags: Flags, values: Values): string {
  const out: string[] = [];
  const stack: boolean[] = [];
  t.text.split('\n').forEach((line, i) => {
    const directive = /^\s*#(if|endif)\b\s*(\S*)\s*$/.exec(line);
    if (directive) {
      if (directive[1] === 'if') {
        const flag = directive[2]!;
        if (!(flag in flags)) throw new Error(`${t.name}:${i + 1}: unknown flag "${flag}"`);
        stack.push(flags[flag]!);
      } else if (stack.pop() === undefined) {
        throw new Error(`${t.name}:${i + 1}: #endif without #if`);
      }
      return;
    }
    if (stack.includes(false)) return;
    out.push(
      line.replace(/\$\{([a-z0-9_]+)\}/g, (_, name: string) => {
        if (!(name in values)) throw new Error(`${t.name}:${i + 1}: unknown placeholder "${name}"`);
        return String(values[name]);
      }),
    );
  });
  if (stack.length > 0) throw new Error(`${t.name}: #if without #endif`);
  return out.join('\n');
}

/**
 * Port ranges sorted, overlapping and adjacent ones merged: the concatenated sets take no
 * overlapping elements (the kernel refuses them; nothing merges them as auto-merge did).
 */
function mergePortRanges(ranges: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [from, to] of [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1])) {
    const last = out.at(-1);
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}

function portText([from, to]: readonly [number, number]): string {
  return from === to ? String(from) : `${from}-${to}`;
}

function portElements(ranges: ReadonlyArray<readonly [number, number]>): string[] {
  return mergePortRanges(ranges).map(portText);
}

/** `protocol . port` elements of a port set, for each protocol's ranges. */
function protoPortElements(byProto: {
  tcp: ReadonlyArray<readonly [number, number]>;
  udp: ReadonlyArray<readonly [number, number]>;
}): string[] {
  return (['tcp', 'udp'] as const).flatMap((proto) => portElements(byProto[proto]).map((p) => `${proto} . ${p}`));
}

/** One family's prefixes, sorted, without those inside another: no overlaps, see above. */
function outermostPrefixes(prefixes: readonly IpPrefix[], family: 4 | 6): IpPrefix[] {
  return normalizePrefixes(prefixes.filter((p) => p.family === family));
}

/** `prefix . 0-255` elements: the prefix, any protocol. */
function prefixElements(prefixes: readonly IpPrefix[], family: 4 | 6): string[] {
  return outermostPrefixes(prefixes, family).map((p) => `${prefixKey(p)} . ${ANY_PROTOCOL}`);
}

/**
 * One rule per restricted service and family, with an anonymous concatenated set of
 * `source . port` (an anonymous plain interval set would be read by nft before every ban too).
 */
function restrictedRules(config: Config): string {
  const lines: string[] = [];
  for (const r of config.services.restricted) {
    const ports = portElements(r.ports);
    for (const family of [4, 6] as const) {
      const from = outermostPrefixes(r.from, family).map(prefixKey);
      if (from.length === 0) continue;
      const selector = family === 4 ? 'ip saddr' : 'ip6 saddr';
      const pairs = from.flatMap((f) => ports.map((p) => `${f} . ${p}`));
      lines.push(`\t\t${selector} . ${r.proto} dport { ${pairs.join(', ')} } accept`);
    }
  }
  return lines.length > 0 ? lines.join('\n') : '\t\t# (no services.restricted)';
}

function rate(r: { count: number; per: string }): string {
  return `${r.count}/${r.per}`;
}

/** The config's elements for each config-filled set. Empty sets are left out. */
export function configElements(config: Config): Array<{ set: string; elements: string[] }> {
  const sd = config.scan_detection;
  const entries: Array<{ set: string; elements: string[] }> = [
    { set: 'allow4', elements: prefixElements(config.allowlist, 4) },
    { set: 'allow6', elements: prefixElements(config.allowlist, 6) },
    { set: 'home4', elements: prefixElements(config.home_networks, 4) },
    { set: 'home6', elements: prefixElements(config.home_networks, 6) },
    { set: 'services', elements: protoPortElements(config.services) },
    { set: 'fwd_services', elements: protoPortElements(config.forward.services) },
    { set: 'trap_ports', elements: sd.enabled ? protoPortElements(sd.trap_ports) : [] },
  ];
  return entries.filter((e) => e.elements.length > 0);
}

export function rulesetParameters(config: Config): { flags: Flags; values: Values } {
  const sd = config.scan_detection;
  const rl = config.rate_limits;
  const fwdDrop = config.forward.policy === 'drop';
  const trusted = config.forward.trusted_interfaces;
  return {
    flags: {
      icmp_echo: config.icmp.echo,
      rate_icmp: rl.icmp_echo.enabled,
      rate_udp: rl.udp_new.enabled,
      rate_syn: rl.tcp_syn.enabled,
      scan: sd.enabled,
      fast: sd.fast.enabled,
      slow: sd.slow.enabled,
      exempt_home: sd.exempt_home_networks,
      forward_scan: sd.enabled && config.forward.scan_detection,
      forward_drop: fwdDrop,
    },
    values: {
      forward_policy: config.forward.policy,
      rl_timeout: rl.meter_timeout,
      icmp_rate: rate(rl.icmp_echo.rate),
      icmp_burst: rl.icmp_echo.burst,
      udp_rate: rate(rl.udp_new.rate),
      udp_burst: rl.udp_new.burst,
      syn_rate: rate(rl.tcp_syn.rate),
      syn_burst: rl.tcp_syn.burst,
      fast_ports: sd.fast.ports,
      fast_window: sd.fast.window,
      slow_ports: sd.slow.ports,
      slow_window: sd.slow.window,
      ban_timeout: sd.ban_timeout,
      ban_set_size: banSetSize(config.policy.max_active_bans),
      restricted_services: restrictedRules(config),
      ...knockValues(config),
      forward_trusted:
        trusted.length > 0
          ? `\t\tiifname { ${trusted.map((i) => `"${i}"`).join(', ')} } accept`
          : '\t\t# (no forward.trusted_interfaces)',
    },
  };
}

/**
 * What a re-declaration cannot change: sets whose definition in the kernel is older than the
 * objects file (the kernel refuses a re-declaration that differs). Read by nft/apply.ts.
 */
export interface RulesetUpgrade {
  /** Deleted, then declared anew by the objects file, in the same transaction. */
  sets: readonly string[];
  /** Our table's chains in the kernel: flushed before the sets are deleted (rules refer to them). */
  chains: readonly string[];
  /** Statements putting the old sets' elements into the new ones (at the end of the script). */
  elements: readonly string[];
}

function upgradeStatements(upgrade: RulesetUpgrade): string[] {
  if (upgrade.sets.length === 0) return [];
  return [
    `# Upgrade: the kernel holds an older definition of ${upgrade.sets.join(', ')}. Rules refer to them:`,
    '# the chains are emptied first; the sets are deleted, declared anew below, their elements carried over.',
    ...upgrade.chains.map((c) => `flush chain ${TABLE} ${c}`),
    ...upgrade.sets.map((s) => `delete set ${TABLE} ${s}`),
    '',
  ];
}

/** The whole script `apply` loads, as one transaction (with `upgrade`: see RulesetUpgrade). */
export function renderRuleset(config: Config, templates: readonly Template[], upgrade?: RulesetUpgrade): string {
  const { flags, values } = rulesetParameters(config);
  const [objects, ...rules] = templates;
  if (!objects?.name.startsWith('00-')) throw new Error('the first template must be 00-objects.nft');
  const parts: string[] = [
    '#!/usr/sbin/nft -f',
    '# Rendered by nftsentry: one atomic transaction. Only `table inet nftsentry` is touched.',
    '',
    ...(upgrade ? upgradeStatements(upgrade) : []),
    expandTemplate(objects, flags, values).trimEnd(),
    '',
    '# Rebuild the chains; refill the config sets; reset the meters. Ban sets keep their elements.',
    ...CHAINS.map((c) => `flush chain ${TABLE} ${c}`),
    ...CONFIG_SETS.map((s) => `flush set ${TABLE} ${s}`),
    ...METER_SETS.map((s) => `flush set ${TABLE} ${s}`),
    '',
  ];
  for (const t of rules) parts.push(expandTemplate(t, flags, values).trimEnd(), '');
  parts.push(...ttlStatements(config), '');
  const elements = configElements(config);
  if (elements.length > 0) {
    parts.push('# Elements from the config.');
    for (const e of elements) parts.push(`add element ${TABLE} ${e.set} { ${e.elements.join(', ')} }`);
    parts.push('');
  }
  if (upgrade && upgrade.elements.length > 0) parts.push('# Elements of the replaced sets.', ...upgrade.elements, '');
  return parts.join('\n');
}
