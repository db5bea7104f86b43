/**
 * Gathers everything `nftsentry doctor` checks, once, into DoctorFacts: the config, nft (through
 * NftRunner and so exec.ts: `nft --version`, `nft -c -f` of feature probes and of the base
 * ruleset, `nft -j -t list ruleset`), /proc and systemd (host-facts.ts), the interfaces' addresses
 * and the daemon's status over its API. Every read that fails becomes a fact saying why; this
 * never throws for the state of the machine.
 */
import { loadConfig, type Config } from '../config/config.ts';
import { isNftsentryError } from '../errors.ts';
import { readOwnAddresses } from '../engine/own-addresses.ts';
import { runRuleset } from '../nft/apply.ts';
import type { Nft } from '../nft/nft.ts';
import { loadTemplates, renderRuleset } from '../nft/ruleset.ts';
import { ApiClient, ApiClientError, describeTarget, targetFromConfig } from '../cli/api-client.ts';
import { parseDaemonStatus } from './daemon-status.ts';
import type { DaemonFacts, DoctorFacts, NftFacts, NftOutcome, Unreadable } from './doctor-facts.ts';
import { readNftablesConf, readProcFacts, readSystemdFacts } from './host-facts.ts';

export interface GatherOptions {
  configPath: string;
  /** Runs nft where the doctor looks (its namespace). */
  nft: Nft;
  netns: string | undefined;
  /** Where /proc is read (a test points it at a prepared directory). */
  procRoot: string;
  /** The file nftables.service loads. */
  nftablesConf: string;
  sshConnection: string | undefined;
  nowMs: number;
  /** How long the API may take to answer. */
  apiTimeoutMs?: number;
}

/**
 * One small script per kernel feature the base ruleset relies on, in a table of its own name;
 * only ever run through `nft -c` (nothing is loaded). A newline before each `}`: nft 1.0.6
 * refuses `accept }`.
 */
export const FEATURE_PROBES = {
  timeouts: [
    'table inet nftsentry_doctor {',
    '  set t { type ipv4_addr; flags timeout; elements = { 198.18.0.1 timeout 30s }; }',
    '}',
  ],
  dynamic_sets: [
    'table inet nftsentry_doctor {',
    '  set d { type ipv4_addr; size 16; flags dynamic,timeout; }',
    '  chain c {',
    '    type filter hook input priority 0; policy accept;',
    '    tcp flags syn ct state new update @d { ip saddr timeout 60s limit rate over 10/second burst 5 packets } drop',
    '  }',
    '}',
  ],
  concatenations: [
    'table inet nftsentry_doctor {',
    '  set a { type ipv4_addr . inet_proto; flags interval; elements = { 198.18.0.0/15 . 0-255 }; }',
    '  set s { type inet_proto . inet_service; flags interval; elements = { tcp . 8000-8010 }; }',
    '  chain c {',
    '    type filter hook input priority 0; policy accept;',
    '    ip saddr . ip protocol @a accept',
    '    meta l4proto . th dport @s accept',
    '  }',
    '}',
  ],
} as const;

const message = (err: unknown) => ((err as Error)?.message ?? String(err)).slice(0, 500);

async function outcome(p: Promise<unknown>): Promise<NftOutcome> {
  try {
    await p;
    return { ok: true };
  } catch (err) {
    return { ok: false, error: message(err) };
  }
}

async function gatherNft(nft: Nft, config: Readonly<Config> | null): Promise<{ facts: NftFacts; text: string | null }> {
  let version: string | Unreadable;
  try {
    const { stdout } = await nft.run(['--version']);
    version = /v(\d+(?:\.\d+)*)/.exec(stdout)?.[1] ?? stdout.trim().slice(0, 64);
  } catch (err) {
    version = { error: message(err) };
  }
  if (typeof version !== 'string') {
    return { facts: { version, features: null, rulesetCheck: null, ruleset: { error: version.error } }, text: null };
  }
  const features = {
    timeouts: await outcome(nft.runScript(`${FEATURE_PROBES.timeouts.join('\n')}\n`, { check: true })),
    dynamic_sets: await outcome(nft.runScript(`${FEATURE_PROBES.dynamic_sets.join('\n')}\n`, { check: true })),
    concatenations: await outcome(nft.runScript(`${FEATURE_PROBES.concatenations.join('\n')}\n`, { check: true })),
  };
  let text: string | null = null;
  let rulesetCheck: NftOutcome | null = null;
  if (config) {
    const templates = loadTemplates();
    text = renderRuleset(config, templates);
    // As `check` and `apply` run it: with the upgrade of older set definitions when the kernel holds them.
    rulesetCheck = await outcome(runRuleset(nft, (u) => renderRuleset(config, templates, u), { check: true }));
  }
  let ruleset: NftFacts['ruleset'];
  try {
    const json = await nft.json(['-t', 'list', 'ruleset']);
    ruleset = json.nftables.filter((o) => !o.metainfo);
  } catch (err) {
    ruleset = { error: message(err) };
  }
  return { facts: { version, features, rulesetCheck, ruleset }, text };
}

async function gatherDaemon(config: Readonly<Config>, timeoutMs: number): Promise<DaemonFacts> {
  if (!config.api.enabled) return { kind: 'api_disabled' };
  let target: string = config.api.socket ? `unix:${config.api.socket.path}` : `${config.api.host}:${config.api.port}`;
  try {
    const t = { ...targetFromConfig(config.api), timeoutMs };
    target = describeTarget(t);
    const body = await new ApiClient(t).call('GET', '/v1/status');
    return { kind: 'reachable', target, status: parseDaemonStatus(body) };
  } catch (err) {
    if (err instanceof ApiClientError) {
      return { kind: 'unreachable', target, error: `${err.message} (${err.code}, HTTP ${err.status})`, code: err.code };
    }
    return { kind: 'unreachable', target, error: message(err), ...(isNftsentryError(err) ? { code: err.code } : {}) };
  }
}

export async function gatherFacts(o: GatherOptions): Promise<DoctorFacts> {
  let config: Readonly<Config> | Unreadable;
  try {
    config = loadConfig(o.configPath);
  } catch (err) {
    config = { error: message(err) };
  }
  const loaded = 'error' in config ? null : (config as Readonly<Config>);
  const [nft, proc, systemd, interfaces, daemon] = await Promise.all([
    gatherNft(o.nft, loaded),
    readProcFacts({ procRoot: o.procRoot, netns: o.netns }),
    readSystemdFacts(),
    readOwnAddresses(o.netns).catch((err: unknown) => ({ error: message(err) })),
    loaded ? gatherDaemon(loaded, o.apiTimeoutMs ?? 5000) : Promise.resolve(null),
  ]);
  return {
    configPath: o.configPath,
    config,
    rulesetText: nft.text,
    nft: nft.facts,
    proc,
    nftablesConf: readNftablesConf(o.nftablesConf),
    systemd,
    sshConnection: o.sshConnection,
    interfaces,
    daemon,
    nowMs: o.nowMs,
  };
}
