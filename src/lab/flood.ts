/**
 * Sends a spoofed-source SYN flood from one lab namespace to another: the packets are written by
 * lab/flood-packets.ts (sources confined to 198.18.0.0/15 and 2001:db8::/32) into a pcap file
 * in tmpfs, and Debian's `tcpreplay` puts them on the namespace's interface, a fixed count, at
 * full speed or at a given rate. tcpreplay, because it sends a file of packets made here exactly
 * as they are: `hping3 --rand-source` and `nping -S random` draw sources from the whole address
 * space, and one hping3 process per source runs at a few hundred sources a second.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NftsentryError, ErrorCodes } from '../errors.ts';
import { floodPcap, type FloodPlan } from './flood-packets.ts';
import type { Netns } from './netns.ts';

export interface FloodResult {
  packets: number;
  bytes: number;
  seconds: number;
  pps: number;
}

/** The MAC address of an interface inside a namespace. */
export async function macAddress(ns: Netns, ifname: string): Promise<string> {
  const out = JSON.parse(await ns.run('ip', ['-j', 'link', 'show', 'dev', ifname])) as Array<{ address: string }>;
  const mac = out[0]?.address;
  if (!mac) throw new NftsentryError(ErrorCodes.NETNS_FAILED, `[${ns.role}] ${ifname} has no MAC address`);
  return mac;
}

/** Reads tcpreplay's summary ("Actual: N packets (B bytes) sent in S seconds"). */
export function parseTcpreplay(stdout: string): FloodResult | null {
  const m = /Actual: (\d+) packets \((\d+) bytes\) sent in ([\d.]+) seconds/.exec(stdout);
  if (!m) return null;
  const seconds = Number(m[3]);
  const packets = Number(m[1]);
  return { packets, bytes: Number(m[2]), seconds, pps: seconds > 0 ? packets / seconds : packets };
}

/** A flood written once, sent as often as wanted. */
export class Flood {
  readonly packets: number;
  private readonly dir: string;
  private readonly file: string;

  constructor(plan: FloodPlan) {
    const pcap = floodPcap(plan);
    this.packets = plan.v4 + plan.v6;
    this.dir = mkdtempSync(join(process.platform === 'linux' ? '/dev/shm' : tmpdir(), 'nftsentry-flood-'));
    this.file = join(this.dir, 'flood.pcap');
    writeFileSync(this.file, pcap);
  }

  /**
   * Sends every packet once (or `loops` times) from `ns` out of `ifname`: at full speed, or at
   * `pps` packets a second. Bounded by the packet count, and by `timeoutMs` (then it is killed).
   */
  async send(
    ns: Netns,
    ifname: string,
    options: { pps?: number; loops?: number; timeoutMs?: number } = {},
  ): Promise<FloodResult> {
    const rate = options.pps ? [`--pps=${options.pps}`] : ['--topspeed'];
    if (options.loops && options.loops > 1) rate.push(`--loop=${options.loops}`);
    const r = await ns.exec('tcpreplay', ['-q', `--intf1=${ifname}`, ...rate, this.file], {
      timeoutMs: options.timeoutMs ?? 30_000,
    });
    const result = parseTcpreplay(r.stdout);
    if (r.exitCode !== 0 || !result) {
      throw new NftsentryError(
        ErrorCodes.NETNS_FAILED,
        `[${ns.role}] tcpreplay: ${r.stderr.trim() || r.stdout.trim() || `exit ${r.exitCode}`}`,
      );
    }
    return result;
  }

  /** Removes the pcap file. */
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
