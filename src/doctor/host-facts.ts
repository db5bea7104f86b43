/**
 * The doctor's reads of the host: sysctls and memory under /proc, the file nftables.service
 * loads, and systemd's view of the units. IO at the edge; nothing here runs nft.
 *
 * /proc/sys/net shows the network namespace of the process that reads it: with `--netns` the
 * files are read by `grep` started inside that namespace (`ip netns exec`). Some of these files
 * are read-only inside a namespace (nf_conntrack_max, nf_conntrack_buckets), so a test changes
 * them by pointing `procRoot` at a prepared directory, or by bind-mounting a file over them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ProcFacts, SystemdFacts } from './doctor-facts.ts';

export const PROC_FILES = {
  tcpSyncookies: 'sys/net/ipv4/tcp_syncookies',
  conntrackMax: 'sys/net/netfilter/nf_conntrack_max',
  conntrackBuckets: 'sys/net/netfilter/nf_conntrack_buckets',
  conntrackCount: 'sys/net/netfilter/nf_conntrack_count',
  conntrackAcct: 'sys/net/netfilter/nf_conntrack_acct',
} as const;

const TIMEOUT_MS = 5000;

/** A non-negative integer from a file's text, else null. */
export function intOf(text: string | null | undefined): number | null {
  const t = text?.trim() ?? '';
  return /^\d{1,15}$/.test(t) ? Number(t) : null;
}

/** MemTotal from /proc/meminfo's text, in bytes. */
export function memTotalBytes(meminfo: string | null): number | null {
  const m = /^MemTotal:\s+(\d+)\s+kB/m.exec(meminfo ?? '');
  return m ? Number(m[1]) * 1024 : null;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** `grep -H '' FILE...` inside the namespace: file -> first line, for the files that could be read. */
async function readInNetns(netns: string, files: readonly string[]): Promise<Map<string, string>> {
  const r = await execa('ip', ['netns', 'exec', netns, 'grep', '-H', '', ...files], {
    reject: false,
    stdin: 'ignore',
    timeout: TIMEOUT_MS,
  });
  const out = new Map<string, string>();
  for (const line of String(r.stdout ?? '').split('\n')) {
    const file = files.find((f) => line.startsWith(`${f}:`));
    if (file && !out.has(file)) out.set(file, line.slice(file.length + 1));
  }
  return out;
}

/** Reads the sysctls and memory under `procRoot` (/proc by default), the net ones inside `netns` when given. */
export async function readProcFacts(options: { procRoot: string; netns?: string | undefined }): Promise<ProcFacts> {
  const path = (rel: string) => join(options.procRoot, rel);
  const keys = Object.keys(PROC_FILES) as Array<keyof typeof PROC_FILES>;
  let read = (rel: string) => readText(path(rel));
  if (options.netns) {
    const values = await readInNetns(
      options.netns,
      keys.map((k) => path(PROC_FILES[k])),
    );
    read = (rel) => values.get(path(rel)) ?? null;
  }
  const v = Object.fromEntries(keys.map((k) => [k, intOf(read(PROC_FILES[k]))])) as Record<
    keyof typeof PROC_FILES,
    number | null
  >;
  return {
    ...v,
    memTotalBytes: memTotalBytes(readText(path('meminfo'))),
    kernelRelease: readText(path('sys/kernel/osrelease'))?.trim() || null,
  };
}

export function readNftablesConf(path: string): { path: string; text: string | null } {
  return { path, text: readText(path) };
}

async function systemctl(args: string[]): Promise<string | null> {
  const r = await execa('systemctl', args, { reject: false, stdin: 'ignore', timeout: TIMEOUT_MS });
  const first = String(r.stdout ?? '')
    .trim()
    .split('\n')[0]
    ?.trim();
  return first && /^[a-z-]{1,32}$/.test(first) ? first : null;
}

/** systemd's view of nftables.service and nftsentry.service; nothing asked when systemd is not the init system. */
export async function readSystemdFacts(runDir = '/run/systemd/system'): Promise<SystemdFacts> {
  if (!existsSync(runDir)) return { booted: false, nftablesEnabled: null, unitActive: null, unitEnabled: null };
  const [nftablesEnabled, unitActive, unitEnabled] = await Promise.all([
    systemctl(['is-enabled', 'nftables.service']),
    systemctl(['is-active', 'nftsentry.service']),
    systemctl(['is-enabled', 'nftsentry.service']),
  ]);
  return { booted: true, nftablesEnabled, unitActive, unitEnabled };
}
