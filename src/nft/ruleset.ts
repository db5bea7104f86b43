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
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/config.ts';
import type { IpPrefix } from '../net/ip.ts';
import { normalizePrefixes, prefixKey } from '../net/ip.ts';

export const TABLE_FAMILY = 'inet';
export const TABLE_NAME = 'nftsentry';
export const TABLE = `${TABLE_FAMILY} ${TABLE_NAME}`;

export const CHAINS = ['prerouting', 'input', 'forward', 'tcp_flags', 'scan_detect', 'scan_ban_trap'] as const;

/**
 * Sets filled from the config: flushed and refilled on every apply. All concatenations (why:
 * nft/00-objects.nft): the address ones `address . protocol`, the port ones `protocol . port`.
 */
export const CONFIG_SETS = ['allow4', 'allow6', 'home4', 'home6', 'services', 'fwd_services', 'trap_ports'] as const;

/**
 * Sets of older versions that are no longer declared (the port sets were one per protocol, plain
 * interval sets): deleted by an upgrade (nft/apply.ts), or nft would go on reading them.
 */
export const OBSOLETE_SETS = ['services_tcp', 'services_udp', 'fwd_services_tcp', 'fwd_services_udp', 'trap_tcp', 'trap_udp'] as const;

/** Per-source meter state: flushed on every apply (a reload restarts the counting). */
export const METER_SETS = [
  'scan_fast_seen4', 'scan_fast_seen6', 'scan_slow_seen4', 'scan_slow_seen6',
  'scan_fast4', 'scan_fast6', 'scan_slow4', 'scan_slow6',
  'rl_icmp4', 'rl_icmp6', 'rl_udp4', 'rl_udp6', 'rl_syn4', 'rl_syn6',
] as const;

/** Sets whose elements survive every apply. */
export const BAN_SETS = {
  ban4: 'ban4', ban6: 'ban6', ban6net64: 'ban6net64', bannet4: 'bannet4', bannet6: 'bannet6', scanners4: 'scanners4', scanners6: 'scanners6',
} as const;

/**
 * Hash sets of network addresses, one fixed prefix length each: an element is the network
 * address of a prefix of that length (the rule masks the source before the lookup). Element
 * changes name such an element `addr/len` like any prefix; nft/elements.ts writes it as `addr`.
 */
export const NETWORK_KEY_SETS = { ban6net64: 64 } as const;

/**
 * Prefix-ban sets keyed `address . protocol` (concatenated interval sets; why: nft/00-objects.nft).
 * A ban covers every protocol: element changes name such an element `addr/len` like any prefix,
 * nft/elements.ts writes it `addr/len . 0-255`, engine/kernel-sync.ts reads it back as `addr/len`.
 * The value is the set's type as `nft -j` prints it, which apply compares to find an older
 * definition.
 */
export const ANY_PROTOCOL_SETS = {
  bannet4: ['ipv4_addr', 'inet_proto'],
  bannet6: ['ipv6_addr', 'inet_proto'],
} as const satisfies Record<string, readonly string[]>;

/** The protocol half of an element in ANY_PROTOCOL_SETS: every protocol. */
export const ANY_PROTOCOL = '0-255';

/**
 * Every set whose type changed since an older version, with its type as `nft -j` prints it:
 * nft/apply.ts replaces a set the kernel holds with another type.
 */
export const SET_TYPES: Record<string, readonly string[]> = {
  ...ANY_PROTOCOL_SETS,
  allow4: ['ipv4_addr', 'inet_proto'],
  allow6: ['ipv6_addr', 'inet_proto'],
  home4: ['ipv4_addr', 'inet_proto'],
  home6: ['ipv6_addr', 'inet_proto'],
};

/** Maps beside scanners4/6, holding why the kernel caught each scanner: kept by every apply too. */
export const SCAN_REASON_MAPS = ['scan_reason4', 'scan_reason6'] as const;

/** Marks stored in scan_reason4/6 by the kernel, and what they mean. */
export const SCAN_REASONS: Record<number, string> = { 1: 'trap_port', 2: 'fast_scan', 3: 'slow_scan' };

/** The named counters, one per reason of a drop. */
export const DROP_COUNTERS = [
  'drop_banned', 'drop_banned_net', 'drop_scanner',
  'drop_flags_null', 'drop_flags_xmas', 'drop_flags_syn_fin', 'drop_flags_syn_rst', 'drop_flags_fin_rst',
  'drop_flags_fin_noack', 'drop_flags_psh_noack', 'drop_flags_urg_noack',
  'drop_new_not_syn', 'drop_invalid', 'drop_rate_icmp', 'drop_rate_udp', 'drop_rate_syn',
  'drop_scan_trap', 'drop_scan_fast', 'drop_scan_slow', 'drop_policy_input', 'drop_policy_forward',
] as const;

export interface Template {
  name: string;
  text: string;
}

const NFT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'nft');

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
function protoPortElements(byProto: { tcp: ReadonlyArray<readonly [number, number]>; udp: ReadonlyArray<readonly [number, number]> }): string[] {
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
      restricted_services: restrictedRules(config),
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
  if (!objects || !objects.name.startsWith('00-')) throw new Error('the first template must be 00-objects.nft');
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
  const elements = configElements(config);
  if (elements.length > 0) {
    parts.push('# Elements from the config.');
    for (const e of elements) parts.push(`add element ${TABLE} ${e.set} { ${e.elements.join(', ')} }`);
    parts.push('');
  }
  if (upgrade && upgrade.elements.length > 0) parts.push('# Elements of the replaced sets.', ...upgrade.elements, '');
  return parts.join('\n');
}
