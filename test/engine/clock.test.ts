/**
 * A step of the wall clock by an hour, forward and back, under the real daemon in a namespace
 * (libfaketime from Debian's `faketime`, its offset changed while the daemon runs; the monotonic
 * clock left alone): bans end when the kernel ends them, not when the wall clock says, an unban
 * of a ban the kernel holds works, and a source whose kernel ban ended is banned again.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLabTopology, type LabTopology } from '../../src/lab/topology.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { readSet } from '../../src/nft/state.ts';
import { apiRequest, type Daemon, etScanFrom, pollUntil, sendLines, startDaemon } from './daemon-harness.ts';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
let lab: LabTopology;
let nft: NftRunner;
let dir: string;
const daemons: Daemon[] = [];

const ban4 = async () => (await readSet(nft, 'ban4')).map((e) => e.key);

const api = async (method: string, path: string, token: string, body?: unknown) =>
  (await apiRequest(`${dir}/api.sock`, token, method, path, body)).status;

beforeAll(async () => {
  lab = await createLabTopology();
  nft = new NftRunner({ netns: lab.gw.name });
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-clock-'));
});

afterAll(async () => {
  for (const d of daemons) if (!d.done) process.kill(d.pid, 'SIGKILL');
  await lab?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('wall-clock steps', () => {
  it('+1 h and -1 h: bans end when the kernel says, unban works, an ended ban can be decided again', async () => {
    expect(existsSync(LIBFAKETIME), `${LIBFAKETIME} (Debian's faketime; scripts/setup.sh installs it)`).toBe(true);
    const cfgPath = join(dir, 'nftsentry.yaml');
    const offset = join(dir, 'faketime');
    writeFileSync(offset, '+0\n');
    writeFileSync(
      cfgPath,
      `home_networks: [10.0.0.0/8]
store: { path: ${dir}/state.db }
sources: { inputs: [ { type: unix_stream, path: ${dir}/eve.sock } ] }
api: { socket: { path: ${dir}/api.sock }, token_file: ${dir}/api.token, unban_grace: 1 }
engine: { expire_poll_ms: 100 }
policy: { rules: [ { name: et-scan, match: { signature_prefix: [ET SCAN] }, ban: 6 } ] }
`,
    );
    const d = startDaemon(lab.gw, cfgPath, [], {
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: offset,
      FAKETIME_NO_CACHE: '1',
      DONT_FAKE_MONOTONIC: '1',
    });
    daemons.push(d);
    await d.waitForLog('nftsentry running');
    const token = readFileSync(`${dir}/api.token`, 'utf8').trim();
    const A = '198.51.100.31';
    const B = '198.51.100.32';

    // A: banned for 6 s by an alert; B: banned for an hour by hand.
    await sendLines(`${dir}/eve.sock`, [etScanFrom(A)]);
    await pollUntil('A banned', async () => ((await ban4()).includes(A) ? true : undefined));
    const bannedAt = performance.now();
    expect(await api('POST', '/v1/bans', token, { address: B, duration: '1h' })).toBe(201);

    // The wall clock jumps an hour ahead: A is still banned, in the daemon as in the kernel.
    writeFileSync(offset, '+1h\n');
    await new Promise((r) => setTimeout(r, 500));
    expect(await api('GET', `/v1/bans/${A}`, token)).toBe(200);
    expect(await ban4()).toContain(A);
    // An unban of a ban the kernel holds works after the step.
    expect(await api('DELETE', `/v1/bans/${B}`, token)).toBe(200);
    expect(await ban4()).not.toContain(B);

    // Back an hour behind: when the kernel ends A's ban, the daemon ends it too, and a new alert
    // from A bans it again (not skipped as already banned).
    writeFileSync(offset, '-1h\n');
    await pollUntil('the kernel ends A', async () => ((await ban4()).includes(A) ? undefined : true), 15_000);
    const endedAfterMs = performance.now() - bannedAt;
    await pollUntil(
      'the daemon ends A',
      async () => ((await api('GET', `/v1/bans/${A}`, token)) === 404 ? true : undefined),
      5000,
    );
    await sendLines(`${dir}/eve.sock`, [etScanFrom(A)]);
    await pollUntil('A banned again', async () => ((await ban4()).includes(A) ? true : undefined));
    console.log(
      `a 6 s ban across +1 h and -1 h wall-clock steps ended in the kernel after ${Math.round(endedAfterMs)} ms`,
    );
    process.kill(d.pid, 'SIGTERM');
    expect((await d.exited).exitCode).toBe(0);
  });
});
