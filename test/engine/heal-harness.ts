/**
 * What the self-healing tests need around a daemon in a lab namespace: the API through curl
 * inside the namespace, one read of the whole table (through a `nft -j -i` read session, a few
 * milliseconds, so that a heal can be timed closely), and the chains that jump to a chain.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Netns } from '../../src/lab/netns.ts';
import type { NftJson } from '../../src/nft/nft.ts';
import type { NftRunner } from '../../src/nft/runner.ts';
import { CONFIG_SETS } from '../../src/nft/objects.ts';
import { parseSetElements } from '../../src/nft/state.ts';
import { shapeFindings, tableShape, type TableShape } from '../../src/nft/table-shape.ts';

export const BAN_SETS = ['ban4', 'ban6', 'ban6net64', 'bannet4', 'bannet6'] as const;

export interface TableSnapshot {
  shape: TableShape;
  /** Ban set -> element key (as nft prints it) -> seconds left. */
  bans: Map<string, Map<string, number | null>>;
  /** performance.now() when it was read. */
  atMs: number;
}

/** One read of the table, null when it is not there. */
export async function snapshot(nft: NftRunner): Promise<TableSnapshot | null> {
  let json: NftJson;
  try {
    json = await nft.json(['list', 'table', 'inet', 'nftsentry']);
  } catch {
    return null;
  }
  const atMs = performance.now();
  const shape = tableShape(json);
  if (!shape) return null;
  const bans = new Map<string, Map<string, number | null>>();
  for (const o of json.nftables) {
    const set = o.set as { name: string; elem?: unknown[] } | undefined;
    if (!set) continue;
    const elements = parseSetElements({ nftables: [o] });
    if ((CONFIG_SETS as readonly string[]).includes(set.name)) shape.configElements.set(set.name, elements.length);
    if ((BAN_SETS as readonly string[]).includes(set.name))
      bans.set(set.name, new Map(elements.map((e) => [e.key, e.expiresSec])));
  }
  return { shape, bans, atMs };
}

/** True when `now` has the shape and every ban of `before` (no more, no fewer). */
export function sameAs(before: TableSnapshot, now: TableSnapshot | null): boolean {
  if (!now || shapeFindings(before.shape, now.shape).length > 0) return false;
  for (const set of BAN_SETS) {
    const a = before.bans.get(set) ?? new Map();
    const b = now.bans.get(set) ?? new Map();
    if (a.size !== b.size || [...a.keys()].some((k) => !b.has(k))) return false;
  }
  return true;
}

/**
 * Bans of `before` whose time left in `now` is off by more than `slackSec` from what it should
 * be after the time between the two reads.
 */
export function timeLeftOff(before: TableSnapshot, now: TableSnapshot, slackSec = 3): string[] {
  const elapsedSec = (now.atMs - before.atMs) / 1000;
  const off: string[] = [];
  for (const [set, els] of before.bans) {
    for (const [key, left] of els) {
      const have = now.bans.get(set)?.get(key);
      if (left === null || have === undefined || have === null) continue;
      if (Math.abs(have - (left - elapsedSec)) > slackSec)
        off.push(`${set} ${key}: ${have} s left, expected ~${left - elapsedSec}`);
    }
  }
  return off;
}

/** Chains with a rule that jumps to (or goes to) `chain`. */
export function referrers(json: NftJson, chain: string): string[] {
  const out = new Set<string>();
  for (const o of json.nftables) {
    const rule = o.rule as { chain: string; expr: unknown } | undefined;
    if (!rule) continue;
    const text = JSON.stringify(rule.expr);
    if (text.includes(`{"jump":{"target":"${chain}"}}`) || text.includes(`{"goto":{"target":"${chain}"}}`))
      out.add(rule.chain);
  }
  return [...out];
}

export type Api = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

/** The daemon's API through curl inside the namespace (it listens on the namespace's loopback). */
export function apiClient(ns: Netns, port: number, token: () => string): Api {
  return async (method, path, body) => {
    const args = ['-sS', '-m', '5', '-o', '-', '-w', '\n%{http_code}', '-X', method];
    args.push('-H', `Authorization: Bearer ${token()}`);
    if (body !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(body));
    args.push(`http://127.0.0.1:${port}${path}`);
    const r = await ns.exec('curl', args, { timeoutMs: 10_000 });
    const cut = r.stdout.lastIndexOf('\n');
    const status = Number(r.stdout.slice(cut + 1));
    if (!status) throw new Error(`curl ${method} ${path}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
    let parsed: unknown = r.stdout.slice(0, cut);
    try {
      parsed = JSON.parse(parsed as string);
    } catch {
      // not JSON
    }
    return { status, body: parsed };
  };
}

/** CPU time (user + system) a process has used, in ms; 0 once it is gone. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/** Resident memory of a process, in MB. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

/** The `nft monitor` a daemon started (its child), or null. */
export function monitorPid(daemonPid: number): number | null {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === daemonPid && readFileSync(`/proc/${pid}/cmdline`, 'utf8') === 'nft\0monitor\0') return Number(pid);
    } catch {
      // gone
    }
  }
  return null;
}
