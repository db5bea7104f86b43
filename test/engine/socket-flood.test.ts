/**
 * The real daemon in a namespace with 1,000 idle clients holding its EVE socket at
 * max_connections: a client that connects then and sends an ET SCAN alert has its source banned
 * (one silent client makes room for it), and the eviction is counted in status. The time from
 * the alert's write to the ban in the kernel is printed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLabTopology, type LabTopology } from '../../src/lab/topology.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { readSet } from '../../src/nft/state.ts';
import { apiRequest, type Daemon, pollUntil, startDaemon, etScanFrom } from './daemon-harness.ts';

const IDLE = 1000;
let lab: LabTopology;
let nft: NftRunner;
let dir: string;
const daemons: Daemon[] = [];
const sockets: Socket[] = [];

const status = async (token: string): Promise<Record<string, unknown>> =>
  JSON.parse((await apiRequest(`${dir}/api.sock`, token, 'GET', '/v1/status')).text) as Record<string, unknown>;

/** Connects, as a client would: EAGAIN (the listen backlog is full until the daemon accepts) is tried again. */
async function open(path: string): Promise<Socket> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(path, () => {
          sockets.push(s);
          resolve(s);
        });
        s.once('error', reject);
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || attempt >= 200) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

beforeAll(async () => {
  lab = await createLabTopology();
  nft = new NftRunner({ netns: lab.gw.name });
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-flood-'));
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  for (const d of daemons) if (!d.done) process.kill(d.pid, 'SIGKILL');
  await lab?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('EVE socket held by idle clients', () => {
  it(`${IDLE} idle clients at max_connections: an alert from a new client is still banned; the eviction counted`, async () => {
    const cfgPath = join(dir, 'nftsentry.yaml');
    writeFileSync(
      cfgPath,
      `home_networks: [10.0.0.0/8]
store: { path: ${dir}/state.db }
api: { socket: { path: ${dir}/api.sock }, token_file: ${dir}/api.token }
sources: { inputs: [ { type: unix_stream, name: suricata, path: ${dir}/eve.sock, max_connections: ${IDLE} } ] }
`,
    );
    const d = startDaemon(lab.gw, cfgPath);
    daemons.push(d);
    await d.waitForLog('nftsentry running');
    const token = readFileSync(`${dir}/api.token`, 'utf8').trim();
    for (let i = 0; i < IDLE; i++) await open(`${dir}/eve.sock`);
    const source = async () => ((await status(token)).sources as Array<Record<string, unknown>>)[0]!;
    await pollUntil('all idle clients accepted', async () => ((await source()).connected === IDLE ? true : undefined));

    const ids = await open(`${dir}/eve.sock`);
    const wroteAt = performance.now();
    ids.write(`${etScanFrom('198.51.100.99')}\n`);
    await pollUntil(
      'banned',
      async () => ((await readSet(nft, 'ban4')).some((e) => e.key === '198.51.100.99') ? true : undefined),
      10_000,
      5,
    );
    console.log(
      `with ${IDLE} idle clients on the socket: alert write to ban in the kernel ${(performance.now() - wroteAt).toFixed(1)} ms`,
    );
    // Status shows the sources as the daemon pushes them to the API (every 500 ms).
    const st = await pollUntil('the eviction in status', async () => {
      const s = await source();
      return (s.connections as { evicted: number }).evicted > 0 ? s : undefined;
    });
    expect(st).toMatchObject({ connected: IDLE, connections: { evicted: 1, refused: 0, idleClosed: 0 } });
    process.kill(d.pid, 'SIGTERM');
    expect((await d.exited).exitCode).toBe(0);
  });
});
