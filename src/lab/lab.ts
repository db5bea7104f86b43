/**
 * `nftsentry lab`: the whole base ruleset against real nmap, in throwaway namespaces.
 *
 * Builds gateway/scanner/client namespaces, applies the ruleset in the gateway, starts a real
 * HTTP service there and a client that keeps using it, runs stealth scans (which the flag and
 * conntrack rules must make invisible), then connect scans (which the kernel meters must turn into
 * a ban), over IPv4 and IPv6, and reports what nmap saw, which counters moved, who is in which
 * set, and how the client fared. Everything it made is removed, also when interrupted.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConfigText, type Config } from '../config/config.ts';
import { formatDurationSec } from '../config/duration.ts';
import { applyRuleset } from '../nft/apply.ts';
import { NftRunner } from '../nft/runner.ts';
import { readCounters } from '../nft/state.ts';
import { readKernelScanners, type KernelScanner } from '../nft/scanners.ts';
import { deleteAllNetns, sweepStaleNetns } from './netns.ts';
import { runNmap, type NmapReport } from './nmap.ts';
import { createLabTopology, LAB_ADDR, type LabTopology } from './topology.ts';
import { httpReaches, startClient, startService, type ClientResult } from './workload.ts';

export const LAB_CONFIG_PATH = fileURLToPath(new URL('../../samples/lab.yaml', import.meta.url));

/** Fast but faithful: on a veth an answer (RST, ICMP) arrives in microseconds, so no retries. */
export const NMAP_FAST = ['-T5', '--max-retries', '0', '--min-rate', '2000', '--max-rtt-timeout', '100ms'];

export const STEALTH_SCANS: Array<[string, string]> = [
  ['-sN', 'TCP NULL'],
  ['-sF', 'TCP FIN'],
  ['-sX', 'TCP XMAS'],
  ['-sA', 'TCP ACK'],
  ['-sM', 'TCP Maimon'],
];
/** Scans whose probes reach the meters (a new SYN or UDP flow to a closed port). */
export const PROBING_SCANS: Array<[string, string]> = [
  ['-sS', 'TCP SYN'],
  ['-sU', 'UDP'],
  ['-sT', 'TCP connect'],
];

export interface LabScan {
  flag: string;
  name: string;
  target: string;
  byState: Record<string, number>;
  openPorts: string[];
  durationMs: number;
  /** Set when nmap could not scan at all (e.g. a banned IPv6 host no longer resolves the gateway). */
  note?: string;
}

export interface LabReport {
  scans: LabScan[];
  counters: Record<string, number>;
  sets: Record<string, KernelScanner[]>;
  scannerReachesServiceAfterBan: { v4: boolean; v6: boolean };
  client: ClientResult;
  durationMs: number;
}

export interface LabOptions {
  out: (line: string) => void;
  config?: Config;
}

function scanLine(s: LabScan): string {
  const n = (k: string) => String(s.byState[k] ?? 0).padStart(6);
  return `  nmap ${s.flag} ${s.name.padEnd(12)} ${s.target.padEnd(12)}${n('open')}${n('closed')}${n('unfiltered')}${n('filtered')}${n('open|filtered')}  ${(s.durationMs / 1000).toFixed(1)}s`;
}

async function scanBoth(t: LabTopology, scans: Array<[string, string]>, out: (l: string) => void): Promise<LabScan[]> {
  const result: LabScan[] = [];
  for (const [flag, name] of scans) {
    for (const target of [LAB_ADDR.gwScan4, LAB_ADDR.gwScan6]) {
      const r: NmapReport = await runNmap(t.scanner, [flag, ...NMAP_FAST], target);
      const scan: LabScan = {
        flag,
        name,
        target,
        byState: r.byState,
        durationMs: r.durationMs,
        openPorts: Object.entries(r.ports)
          .filter(([, st]) => st === 'open')
          .map(([p]) => p),
      };
      if (Object.keys(r.byState).length === 0)
        scan.note = `nmap scanned nothing (exit ${r.exitCode}): the gateway drops even neighbour discovery from a banned source`;
      result.push(scan);
      out(scanLine(scan) + (scan.note ? `\n      ${scan.note}` : ''));
    }
  }
  return result;
}

export async function runLab(options: LabOptions): Promise<LabReport> {
  const out = options.out;
  const started = performance.now();
  const config = options.config ?? parseConfigText(readFileSync(LAB_CONFIG_PATH, 'utf8'), LAB_CONFIG_PATH);
  const swept = await sweepStaleNetns();
  if (swept.length > 0) out(`removed ${swept.length} namespace(s) left by an earlier run: ${swept.join(', ')}`);

  // Installed before anything is made: an interrupt at any point removes what exists so far. It
  // stays installed until the process exits: a second Ctrl-C does not abort the cleanup.
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      out(`${signal}: still removing the lab namespaces`);
      return;
    }
    interrupted = true;
    out(`\n${signal}: removing the lab namespaces`);
    void deleteAllNetns()
      .then((failures) => {
        for (const f of failures) out(`  could not remove ${f}`);
      })
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let t: LabTopology | undefined;
  try {
    t = await createLabTopology();
    const A = LAB_ADDR;
    out(`lab namespaces: gateway ${t.gw.name}, scanner ${t.scanner.name}, client ${t.client.name}`);
    out(`  gateway ${A.gwScan4} ${A.gwScan6} (scanner side), ${A.gwClient4} ${A.gwClient6} (client side)`);
    out(`  scanner ${A.scanner4} ${A.scanner6}; client ${A.client4} ${A.client6}`);

    const runner = new NftRunner({ netns: t.gw.name, forbidHostNetns: true });
    const applied = await applyRuleset(config, { runner });
    out(
      `ruleset applied in the gateway in ${applied.durationMs.toFixed(0)} ms (table inet nftsentry, one transaction)`,
    );

    const service = await startService(t.gw, 80);
    const client = await startClient(t.client, [`http://${A.gwClient4}/`, `http://[${A.gwClient6}]/`], 50);
    out(`service on port 80 in the gateway; the client requests it every 50 ms over IPv4 and IPv6\n`);

    out(
      '1. stealth scans (1000 ports each): the flag and conntrack rules drop them all; nothing reads "closed" or "unfiltered",',
    );
    out('   and since no probe reaches the meters, nobody is banned yet');
    out(`  ${''.padEnd(30)}${'target'.padEnd(12)}  open closed unfilt filter open|f  time`);
    const scans = await scanBoth(t, STEALTH_SCANS, out);

    out('\n2. probing scans: new SYNs and UDP flows to closed ports feed the kernel meters; the scanner is banned');
    out('   within its first probes (a trap port, or more than 5 closed ports), and the rest of the scan sees nothing');
    const scans2 = await scanBoth(t, PROBING_SCANS, out);
    scans.push(...scans2);

    const scanners = await readKernelScanners(runner);
    const sets: LabReport['sets'] = {
      scanners4: scanners.filter((e) => !e.address.includes(':')),
      scanners6: scanners.filter((e) => e.address.includes(':')),
    };
    out('\n3. who is banned');
    for (const [name, elements] of Object.entries(sets)) {
      for (const e of elements)
        out(
          `  ${name.padEnd(10)} ${e.address.padEnd(14)} ${e.reason.padEnd(10)} expires in ${formatDurationSec(e.expiresSec ?? 0)}`,
        );
      if (elements.length === 0) out(`  ${name.padEnd(10)} (empty)`);
    }
    const reach = {
      v4: await httpReaches(t.scanner, `http://${A.gwScan4}/`, 1500),
      v6: await httpReaches(t.scanner, `http://[${A.gwScan6}]/`, 1500),
    };
    out(
      `  the scanner reaching the service now: IPv4 ${reach.v4 ? 'YES' : 'blocked'}, IPv6 ${reach.v6 ? 'YES' : 'blocked'}`,
    );

    const counters = Object.fromEntries((await readCounters(runner)).map((c) => [c.name, c.packets]));
    out('\n4. kernel drop counters (packets)');
    const moved = Object.entries(counters).filter(([, v]) => v > 0);
    for (const [name, packets] of moved) out(`  ${name.padEnd(22)} ${packets}`);

    const clientResult = await client.stop();
    await service.stop();
    out(
      `\n5. the client through all of it: ${clientResult.ok + clientResult.fail} requests, ${clientResult.ok} ok, ${clientResult.fail} failed`,
    );
    const durationMs = performance.now() - started;
    out(`\nlab finished in ${(durationMs / 1000).toFixed(1)} s; removing the namespaces`);
    return { scans, counters, sets, scannerReachesServiceAfterBan: reach, client: clientResult, durationMs };
  } finally {
    if (!interrupted) {
      await t?.destroy();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

/** The lab's verdict: what must hold for the lab to pass. Empty when all is well. */
export function labProblems(r: LabReport): string[] {
  const problems: string[] = [];
  for (const s of r.scans) {
    for (const bad of ['closed', 'unfiltered']) {
      if ((s.byState[bad] ?? 0) > 0)
        problems.push(`nmap ${s.flag} against ${s.target} saw ${s.byState[bad]} ${bad} port(s)`);
    }
  }
  if ((r.sets.scanners4 ?? []).length === 0) problems.push('the scanner was not banned over IPv4');
  if ((r.sets.scanners6 ?? []).length === 0) problems.push('the scanner was not banned over IPv6');
  if (r.scannerReachesServiceAfterBan.v4 || r.scannerReachesServiceAfterBan.v6)
    problems.push('the banned scanner still reaches the service');
  if (r.client.fail > 0) problems.push(`the client saw ${r.client.fail} failure(s)`);
  return problems;
}
