/**
 * Runs real nmap inside a namespace and reads its XML report: how many ports in each state,
 * including the ones nmap folds into <extraports>.
 */
import type { Netns } from './netns.ts';

export interface NmapReport {
  args: string[];
  /** Ports listed one by one: `tcp/80` -> `open`. */
  ports: Record<string, string>;
  /** Count per state over every scanned port (listed and folded). */
  byState: Record<string, number>;
  durationMs: number;
  exitCode: number;
}

export function parseNmapXml(xml: string): Pick<NmapReport, 'ports' | 'byState'> {
  const ports: Record<string, string> = {};
  const byState: Record<string, number> = {};
  for (const m of xml.matchAll(/<port protocol="(\w+)" portid="(\d+)"><state state="([\w|]+)"/g)) {
    ports[`${m[1]}/${m[2]}`] = m[3]!;
    byState[m[3]!] = (byState[m[3]!] ?? 0) + 1;
  }
  for (const m of xml.matchAll(/<extraports state="([\w|]+)" count="(\d+)"/g)) {
    byState[m[1]!] = (byState[m[1]!] ?? 0) + Number(m[2]);
  }
  return { ports, byState };
}

/**
 * `nmap ARGS -oX - TARGET` from `ns`. Always -Pn (no host discovery) and -n (no DNS); bounded by
 * --host-timeout and a process timeout.
 */
export async function runNmap(
  ns: Netns,
  args: readonly string[],
  target: string,
  timeoutMs = 120_000,
): Promise<NmapReport> {
  const full = ['-Pn', '-n', '--host-timeout', `${Math.floor(timeoutMs / 1000)}s`, ...args, '-oX', '-', target];
  if (target.includes(':') && !full.includes('-6')) full.unshift('-6');
  const t0 = performance.now();
  const r = await ns.exec('nmap', full, { timeoutMs: timeoutMs + 10_000 });
  return { args: full, ...parseNmapXml(r.stdout), durationMs: performance.now() - t0, exitCode: r.exitCode };
}
