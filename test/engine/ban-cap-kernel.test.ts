/**
 * policy.max_active_bans with `nftsentry run` as a real child process in a namespace made for the
 * test, real nft: a cap of 200, five operator bans over the API, then 400 distinct sources over
 * the EVE socket (twice what fits). The cap holds in memory (status), store (rows by source) and
 * kernel (the ban sets read back, each declared with size = cap + 1000); the operator bans
 * survive; the bans are aggregated to /24s where automatic bans are inside and refused where not;
 * /metrics and the log say so. test/engine/ban-cap.test.ts has the cases on the fake nft.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netns } from '../../src/lab/netns.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { readSet } from '../../src/nft/state.ts';
import { apiRequest, type Daemon, etScanFrom, pollUntil, sendLines, startDaemon } from './daemon-harness.ts';

let ns: Netns;
let nft: NftRunner;
let dir: string;
let d: Daemon | undefined;

beforeAll(async () => {
  ns = await Netns.create('maxcap');
  nft = new NftRunner({ netns: ns.name });
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-cap-kernel-'));
});

afterAll(async () => {
  if (d && !d.done) process.kill(d.pid, 'SIGKILL');
  await d?.exited;
  await ns?.delete();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const api = async (method: string, path: string, body?: unknown) => {
  const token = readFileSync(join(dir, 'api.token'), 'utf8').trim();
  return apiRequest(join(dir, 'api.sock'), token, method, path, body);
};

describe('nftsentry run at policy.max_active_bans', () => {
  it('400 distinct sources with a cap of 200: memory, store and kernel hold 200; operator bans survive', async () => {
    const config = join(dir, 'cap.yaml');
    writeFileSync(
      config,
      `home_networks: [10.0.0.0/8]
store: { path: ${join(dir, 'state.db')} }
sources: { inputs: [ { type: unix_stream, path: ${join(dir, 'eve.sock')} } ] }
api: { socket: { path: ${join(dir, 'api.sock')} }, token_file: ${join(dir, 'api.token')} }
policy: { max_active_bans: 200 }
engine: { kernel_scan_poll_ms: 1000 }
`,
    );
    d = startDaemon(ns, config);
    await d.waitForLog('nftsentry running', 30_000);
    await d.waitForLog('kernel reconciled', 30_000);
    for (let i = 1; i <= 5; i++) {
      const r = await api('POST', '/v1/bans', { address: `198.19.0.${i}`, reason: 'by hand' });
      expect(r.status).toBe(201);
    }
    // Source i: 198.18.(i % 200).(10 + i / 200): the first 200 one per /24, the next 200 beside them.
    const sources = Array.from({ length: 400 }, (_, i) => `198.18.${i % 200}.${10 + Math.floor(i / 200)}`);
    await sendLines(
      join(dir, 'eve.sock'),
      sources.map((s) => etScanFrom(s)),
    );
    const status = await pollUntil(
      'every alert decided and sent',
      async () => {
        const s = JSON.parse((await api('GET', '/v1/status')).text).engine;
        return s.engine.decisions >= 400 && s.engine.nft.pending === 0 && s.store.pendingRows === 0 ? s : undefined;
      },
      20_000,
      100,
    );
    // 5 operator bans + 195 single bans fill the cap; 5 sources in new /24s refused; the second
    // 200: 195 aggregates replacing the single ban in their /24, 5 refused.
    expect(status.bans.active).toBe(200);
    expect(status.bans.cap).toEqual({ maxActiveBans: 200, kernelSetSize: 1200, aggregated: 195, refused: 10 });
    const rows = await pollUntil('store rows', async () => {
      const by = JSON.parse((await api('GET', '/v1/status')).text).engine.bans.bySource;
      return by.suricata === 195 ? by : undefined;
    });
    expect(rows).toEqual({ manual: 5, suricata: 195 });
    const ban4 = (await readSet(nft, 'ban4')).map((e) => e.key).sort();
    const bannet4 = (await readSet(nft, 'bannet4')).map((e) => e.key);
    expect(ban4).toEqual(['198.19.0.1', '198.19.0.2', '198.19.0.3', '198.19.0.4', '198.19.0.5']);
    expect(bannet4).toHaveLength(195);
    expect(bannet4).toContain('198.18.194.0/24 . 0-255');
    expect(bannet4).not.toContain('198.18.195.0/24 . 0-255');
    const declared = await nft.run(['list', 'set', 'inet', 'nftsentry', 'ban4']);
    expect(declared.stdout).toMatch(/size 1200/);
    const metrics = (await api('GET', '/metrics')).text;
    expect(metrics).toContain('nftsentry_bans_capped_total{action="aggregated"} 195');
    expect(metrics).toContain('nftsentry_bans_capped_total{action="refused"} 10');
    expect(metrics).toContain('nftsentry_bans_max_active 200');
    expect(d.logs.some((l) => l.msg === 'policy.max_active_bans reached: automatic bans aggregated or refused')).toBe(
      true,
    );
    process.kill(d.pid, 'SIGTERM');
    expect((await d.exited).exitCode).toBe(0);
  });
});
