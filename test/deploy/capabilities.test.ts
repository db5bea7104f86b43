/**
 * The unit's capability set, tried on the real daemon: `nftsentry run` in a test namespace with
 * umask 077 under `setpriv --bounding-set` with exactly CAP_NET_ADMIN, CAP_SYS_NICE and CAP_CHOWN (the unit's
 * CapabilityBoundingSet) runs the shipped defaults that need privilege: the table loads, the eve
 * socket gets its group, the API worker thread runs at nice -5. Without CAP_SYS_NICE the nice
 * value is refused and a warning says so; without CAP_CHOWN the start fails on the socket's group.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netns } from '../../src/lab/netns.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { readTableShape } from '../../src/nft/table-shape.ts';
import { pollUntil, startDaemon, type Daemon } from '../engine/daemon-harness.ts';

const UNIT_CAPS = ['net_admin', 'sys_nice', 'chown'];
/** Group `adm` (gid 4) stands in for `suricata`: every Debian has it. */
const GROUP_ID = 4;
let ns: Netns;
let dir: string;
const daemons: Daemon[] = [];

/** The unit's UMask=0077 and a bounding set of `caps`. */
function launcher(caps: readonly string[]): string[] {
  const bounding = `-all,${caps.map((c) => `+${c}`).join(',')}`;
  return ['sh', '-c', 'umask 077 && exec "$@"', 'sh', 'setpriv', '--bounding-set', bounding, '--'];
}

function start(name: string, caps: readonly string[]): Daemon {
  const cfg = join(dir, `${name}.yaml`);
  writeFileSync(
    cfg,
    `store: { path: ${dir}/${name}.db }
sources: { inputs: [ { type: unix_stream, path: ${dir}/${name}-eve.sock, mode: "0660", group: ${GROUP_ID} } ] }
api: { socket: { path: ${dir}/${name}-api.sock }, token_file: ${dir}/${name}.token, worker: true, worker_nice: -5 }
`,
  );
  const d = startDaemon(ns, cfg, [], {}, launcher(caps));
  daemons.push(d);
  return d;
}

/** The nice values of a process's threads (field 19 of /proc/PID/task/TID/stat). */
function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

/** CapBnd of a process as capability numbers. */
function boundingSet(pid: number): number[] {
  const hex = /CapBnd:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;
  const bits = BigInt(`0x${hex}`);
  return [...Array(64).keys()].filter((i) => (bits >> BigInt(i)) & 1n);
}

beforeAll(async () => {
  ns = await Netns.create('caps');
  dir = mkdtempSync(join(tmpdir(), 'nssd-caps-'));
});
afterAll(async () => {
  for (const d of daemons) if (!d.done) d.child.kill('SIGKILL');
  await ns?.delete();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the unit capability set on the real daemon', () => {
  it('CAP_NET_ADMIN CAP_SYS_NICE CAP_CHOWN: table loaded, socket group set, API worker at nice -5', async () => {
    const d = start('unit', UNIT_CAPS);
    await d.waitForLog('nftsentry running', 30_000);
    // CAP_CHOWN 0, CAP_NET_ADMIN 12, CAP_SYS_NICE 23: nothing else.
    expect(boundingSet(d.pid)).toEqual([0, 12, 23]);
    expect((await readTableShape(new NftRunner({ netns: ns.name }), false))?.chains.has('input')).toBe(true);
    // The socket's own mode and group decide who connects, whatever the umask.
    const eve = statSync(join(dir, 'unit-eve.sock'));
    expect([eve.gid, eve.mode & 0o777]).toEqual([GROUP_ID, 0o660]);
    await pollUntil('the API worker at nice -5', () => threadNices(d.pid).includes(-5), 10_000);
    expect(d.logs.filter((l) => String(l.msg).includes('cannot set the thread priority'))).toEqual([]);
    d.child.kill('SIGTERM');
    expect((await d.exited).exitCode).toBe(0);
  });

  it('without CAP_SYS_NICE the nice value is refused, with a warning naming it', async () => {
    const d = start('nonice', ['net_admin', 'chown']);
    await d.waitForLog('nftsentry running', 30_000);
    const warning = await pollUntil(
      'the warning',
      () => d.logs.find((l) => String(l.msg).includes('needs CAP_SYS_NICE')),
      10_000,
    );
    expect(warning.level).toBe(40);
    expect(threadNices(d.pid)).not.toContain(-5);
    d.child.kill('SIGTERM');
    expect((await d.exited).exitCode).toBe(0);
  });

  it('without CAP_CHOWN the start fails on the socket group', async () => {
    const d = start('nochown', ['net_admin', 'sys_nice']);
    const exit = await d.exited;
    expect(exit.exitCode).not.toBe(0);
    expect(JSON.stringify(d.logs)).toMatch(/cannot set owner\/mode/);
  });
});
