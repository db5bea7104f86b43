/**
 * nftsentry beside fail2ban and CrowdSec (+ crowdsec-firewall-bouncer), each in its own network
 * namespace, on the same EVE workload and the same policy (ban an ET SCAN source on its first
 * alert, 1 h). Prints one table (markdown) and the goals of issue 13 against it.
 *
 *   bash bench/peers/run.sh [--only=nftsentry,fail2ban,crowdsec] [--samples=100] [--burst=10000]
 *                           [--burst-cap-s=240] [--stall-s=30] [--flush-window-s=10] [--keep]
 *
 * run.sh installs the peers from Debian's packages when missing (never starting their services)
 * and runs this with the project's Node. Not part of `npm test`. Every daemon, nft included, runs
 * inside an `nspeer-*` namespace; all of them are stopped by PID and the namespaces and temporary
 * directories removed at the end (also on Ctrl-C or failure).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { PEERS } from './daemons.ts';
import { measurePeer, tempDirs, type Latency, type Options, type PeerResult } from './measure.ts';
import { deleteAllPeerNs, PeerNs } from './ns.ts';

const arg = (name: string, dflt: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const keep = process.argv.includes('--keep');
const only = arg('only', 'nftsentry,crowdsec,fail2ban').split(',');
const opts: Options = {
  samples: Number(arg('samples', '100')),
  burst: Number(arg('burst', '10000')),
  burstCapMs: Number(arg('burst-cap-s', '240')) * 1000,
  flushWindowMs: Number(arg('flush-window-s', '10')) * 1000,
  sampleTimeoutMs: 5000,
  stallMs: Number(arg('stall-s', '30')) * 1000,
};
const NS_ROLE: Record<string, string> = { nftsentry: 'nfs', fail2ban: 'f2b', crowdsec: 'cs' };

const log = (m: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`);

function dpkgVersion(pkg: string): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' }).trim();
  } catch {
    return 'not installed';
  }
}

function nftsentryVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  let rev = '';
  try {
    rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {}
  return `${pkg.version}${rev ? ` (${rev})` : ''}`;
}

const ms = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : v < 10 ? v.toFixed(1) : v.toFixed(0));
const lat = (l: Latency | undefined) =>
  l ? `${ms(l.p50)} / ${ms(l.p99)} ms${l.lost ? ` (${l.lost} of ${l.n + l.lost} not banned in 5 s)` : ''}` : '-';

function rows(results: PeerResult[]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const out = [line(['', ...results.map((r) => r.label)]), line(['---', ...results.map(() => '---')])];
  out.push(line(['alert-to-kernel p50 / p99, eve.json appended', ...results.map((r) => lat(r.file))]));
  out.push(line(['alert-to-kernel p50 / p99, unix socket', ...results.map((r) => lat(r.socket))]));
  out.push(
    line([
      `${opts.burst.toLocaleString('en')} distinct sources in one append: all in the kernel`,
      ...results.map((r) => {
        const b = r.burst;
        if (b.ms !== undefined) return `${(b.ms / 1000).toFixed(2)} s`;
        if (b.stalled)
          return `never: ${b.in} in after ${(b.lastMs / 1000).toFixed(1)} s, none in the next ${opts.stallMs / 1000} s`;
        return `> ${b.capMs / 1000} s (${b.in} in by then)`;
      }),
    ]),
  );
  out.push(
    line([
      'bans still in the kernel once the daemon is stopped (SIGTERM)',
      ...results.map((r) => `${r.held.held} of ${r.held.before}${r.held.killed ? ' (SIGKILL needed)' : ''}`),
    ]),
  );
  out.push(
    line([
      `bans back within ${opts.flushWindowMs / 1000} s of \`nft flush ruleset\``,
      ...results.map(
        (r) =>
          `${r.flush.back} of ${r.flush.total}${r.flush.ms !== undefined ? ` in ${ms(r.flush.ms)} ms` : ''}${r.flush.total < r.flush.sent ? ` (${r.flush.sent - r.flush.total} of ${r.flush.sent} never banned)` : ''}`,
      ),
    ]),
  );
  out.push(line(['IPv6 source (2001:db8::/32) banned', ...results.map((r) => (r.ipv6 ? 'yes' : 'no'))]));
  out.push(line(['peak RSS (VmHWM, daemon processes)', ...results.map((r) => `${r.rssMb.toFixed(0)} MiB`)]));
  return out.join('\n');
}

function goals(results: PeerResult[]): string[] {
  const by = (k: string) => results.find((r) => r.label.toLowerCase().startsWith(k));
  const n = by('nftsentry');
  const f = by('fail2ban');
  const c = by('crowdsec');
  const out: string[] = [];
  const ratio = (a: number | undefined, b: number | undefined, lowerBound = false) =>
    a === undefined || b === undefined ? undefined : `${lowerBound ? '>= ' : ''}${(a / b).toFixed(1)}x`;
  if (n?.file && f?.file) {
    const r = f.file.p99 / n.file.p99;
    out.push(`file-path p99 vs fail2ban: ${r.toFixed(1)}x lower (goal >= 50x): ${r >= 50 ? 'met' : 'not met'}`);
  }
  // A burst that never completed: its last arrival (or the cap) is a lower bound of its time.
  const burstMs = (r: PeerResult | undefined) =>
    r?.burst.ms ?? (r ? Math.max(r.burst.lastMs, r.burst.stalled ? 0 : r.burst.capMs) : undefined);
  if (n?.burst.ms !== undefined) {
    for (const [peer, goal] of [
      [f, 50],
      [c, 10],
    ] as const) {
      if (!peer) continue;
      const x = burstMs(peer)! / n.burst.ms;
      const text = ratio(burstMs(peer), n.burst.ms, peer.burst.ms === undefined);
      out.push(
        `${opts.burst} burst vs ${peer.label}: ${text} faster (goal >= ${goal}x): ${x >= goal ? 'met' : 'not met'}`,
      );
    }
  }
  return out;
}

async function main(): Promise<void> {
  const started = new Date();
  const load0 = loadavg()[0]!.toFixed(2);
  const results: PeerResult[] = [];
  for (const peer of PEERS.filter((p) => only.includes(p.key))) {
    const ns = await PeerNs.create(NS_ROLE[peer.key]!);
    try {
      results.push(await measurePeer(peer, ns, opts, log));
    } finally {
      await ns.delete();
    }
  }
  console.log(
    `\n${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${process.argv.slice(2).join(' ') || 'defaults'}`,
  );
  console.log(
    `versions: nftables ${dpkgVersion('nftables')}; fail2ban ${dpkgVersion('fail2ban')}; crowdsec ${dpkgVersion('crowdsec')}; ` +
      `crowdsec-firewall-bouncer ${dpkgVersion('crowdsec-firewall-bouncer')}; nftsentry ${nftsentryVersion()}; node ${process.version}`,
  );
  console.log(`load average (1 min) at start ${load0}, at end ${loadavg()[0]!.toFixed(2)}\n`);
  console.log(rows(results));
  console.log('');
  for (const g of goals(results)) console.log(g);
  for (const r of results) for (const note of r.notes) console.log(`${r.label}: ${note}`);
}

let cleaning = false;
async function cleanup(): Promise<void> {
  if (cleaning) return;
  cleaning = true;
  await deleteAllPeerNs();
  if (keep) log(`kept: ${tempDirs.join(' ')}`);
  else for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));

try {
  await main();
} catch (err) {
  log(`failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
