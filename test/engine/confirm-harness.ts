/**
 * The pieces of the `apply --confirm` kernel test: an echo service in the gateway namespace, TCP
 * probes and a held connection from the client namespace, the CLI started in its own process
 * group (so that the test can kill the group the way a dropped SSH session does), and the table's
 * non-ban parts and ban elements read for comparison.
 */
import { statSync } from 'node:fs';
import type { Netns } from '../../src/lab/netns.ts';
import { LAB_ADDR } from '../../src/lab/topology.ts';
import type { NftRunner } from '../../src/nft/runner.ts';
import { BAN_SETS, CONFIG_SETS } from '../../src/nft/objects.ts';
import { readTableListing } from '../../src/nft/table-rollback.ts';
import { parseTableListing } from '../../src/nft/table-snapshot.ts';
import { CLI, NODE_BIN } from '../helpers.ts';
import { pollUntil } from './daemon-harness.ts';

export const SERVICE_PORT = 8080;

const ECHO = `require('node:net').createServer((s) => s.pipe(s)).listen(${SERVICE_PORT}, '0.0.0.0', () => console.log('listening'));`;

/** An echo service on the gateway; resolves once it listens (the namespace's deletion stops it). */
export async function startEcho(gw: Netns): Promise<void> {
  const child = gw.spawn(NODE_BIN, ['-e', ECHO], { buffer: false, stdout: 'pipe' });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    child.then(() => reject(new Error('the echo service ended')), reject);
  });
}

const PROBE = `const s = require('node:net').connect({ host: '${LAB_ADDR.gwClient4}', port: ${SERVICE_PORT} });
s.on('connect', () => process.exit(0)); s.on('error', () => process.exit(1)); setTimeout(() => process.exit(1), 1500);`;

/** A NEW TCP connection from the client: true when it is set up within 1.5 s. */
export async function newConnectionWorks(client: Netns): Promise<boolean> {
  return (await client.exec(NODE_BIN, ['-e', PROBE])).exitCode === 0;
}

const HELD = `const s = require('node:net').connect({ host: '${LAB_ADDR.gwClient4}', port: ${SERVICE_PORT} }, () => console.log('connected'));
s.on('data', (d) => process.stdout.write(d)); s.on('error', (e) => { console.log('error ' + e.message); process.exit(1); });
process.stdin.on('data', (d) => s.write(d));`;

/** One TCP connection held open from the client; `echo` sends a word and waits for it back. */
export async function holdConnection(client: Netns) {
  const child = client.spawn(NODE_BIN, ['-e', HELD], { buffer: false, stdin: 'pipe', stdout: 'pipe' });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await pollUntil('held connection up', () => out.includes('connected'));
  return {
    echo: (word: string) => {
      child.stdin!.write(`${word}\n`);
      return pollUntil(`echo of ${word} over the held connection`, () => out.includes(word), 10_000);
    },
    close: () => child.kill('SIGKILL'),
  };
}

export const testEnv = () => ({
  NFTSENTRY_FORBID_HOST_NETNS: '1',
  NFTSENTRY_HOST_NETNS_INODE: String(statSync('/proc/self/ns/net').ino),
  NFTSENTRY_LOG_LEVEL: 'warn',
});

/** The CLI inside the gateway, in its own process group; its output, and its exit. */
export function startCli(gw: Netns, args: string[], env: Record<string, string> = {}) {
  const child = gw.spawn(NODE_BIN, [CLI, ...args], {
    env: { ...testEnv(), ...env },
    detached: true,
    buffer: false,
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const io = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (io.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (io.stderr += d.toString()));
  return { child, io, pid: child.pid! };
}

/** Hangs up and SIGKILLs the whole process group (a dropped SSH session, then worse). */
export function killGroup(pid: number): void {
  for (const signal of ['SIGHUP', 'SIGKILL'] as const) {
    try {
      process.kill(-pid, signal);
    } catch {
      // Gone already.
    }
  }
}

/** Runs the CLI to its end. */
export async function cli(gw: Netns, args: string[], env: Record<string, string> = {}) {
  const { child, io } = startCli(gw, args, env);
  const r = await child;
  return { exitCode: r.exitCode, ...io };
}

/** The table's chains and config sets as nft lists them (what a rollback puts back). */
export async function nonBanParts(nft: NftRunner): Promise<string[]> {
  const blocks = parseTableListing((await readTableListing(nft)) ?? '') ?? [];
  const config: readonly string[] = CONFIG_SETS;
  return blocks.filter((b) => b.kind === 'chain' || config.includes(b.name)).map((b) => b.text);
}

/** Every ban set's element keys (what a rollback must not change). */
export async function banKeys(nft: NftRunner): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const set of Object.values(BAN_SETS)) {
    const json = await nft.json(['list', 'set', 'inet', 'nftsentry', set]);
    const s = json.nftables.find((o) => o.set)?.set as { elem?: unknown[] } | undefined;
    out[set] = (s?.elem ?? []).map((e) => JSON.stringify((e as { elem?: { val?: unknown } }).elem?.val ?? e)).sort();
  }
  return out;
}
