/**
 * The warm-up of the real `nftsentry run` in a network namespace, on real nft: once /readyz
 * answers 200 (after "warm: the alert path is ready"), no ban set holds an element, the store has
 * no ban row and the daemon reports no ban or decision; an alert sent then is banned in the kernel.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netns } from '../../src/lab/netns.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { readSet } from '../../src/nft/state.ts';
import { apiRequest, type Daemon, etScanFrom, pollUntil, sendLines, startDaemon } from './daemon-harness.ts';

let ns: Netns;
let nft: NftRunner;
let dir: string;
let daemon: Daemon | null = null;

beforeAll(async () => {
  ns = await Netns.create('warm');
  nft = new NftRunner({ netns: ns.name });
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-warm-'));
});

afterAll(async () => {
  if (daemon && !daemon.done) process.kill(daemon.pid, 'SIGKILL');
  await ns?.delete();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function readyz(socketPath: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/readyz' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('warm-up on real nft', () => {
  it('leaves no element, row or ban behind, and the daemon bans afterwards', async () => {
    const cfgPath = join(dir, 'nftsentry.yaml');
    writeFileSync(
      cfgPath,
      `home_networks: [10.0.0.0/8]
store: { path: ${dir}/state.db }
api: { socket: { path: ${dir}/api.sock }, token_file: ${dir}/api.token }
sources: { inputs: [ { type: unix_stream, name: suricata, path: ${dir}/eve.sock } ] }
`,
    );
    const d = startDaemon(ns, cfgPath);
    daemon = d;
    const answers: Array<{ status: number; text: string }> = [];
    await pollUntil(
      '/readyz 200',
      async () => {
        const r = await readyz(`${dir}/api.sock`);
        answers.push(r);
        return r.status === 200;
      },
      30_000,
      5,
    );
    // Ready only after the warm-up, and every earlier answer was a 503 with its reason.
    expect(d.logs.some((l) => l.msg === 'warm: the alert path is ready')).toBe(true);
    for (const a of answers.slice(0, -1)) {
      expect(a.status).toBe(503);
      expect(JSON.parse(a.text).error.message).toMatch(/^not ready: /);
    }
    expect(d.logs.filter((l) => l.msg === 'warm-up ended early; the first alerts may be slower')).toEqual([]);
    for (const set of ['ban4', 'ban6', 'ban6net64', 'bannet4', 'bannet6']) expect(await readSet(nft, set)).toEqual([]);
    const db = new DatabaseSync(`${dir}/state.db`, { readOnly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM bans').get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
    const token = readFileSync(`${dir}/api.token`, 'utf8').trim();
    const status = JSON.parse((await apiRequest(`${dir}/api.sock`, token, 'GET', '/v1/status')).text);
    expect(JSON.stringify(status)).not.toMatch(/192\.0\.2\.|198\.51\.100\.|203\.0\.113\.|2001:db8:ffff/);

    await sendLines(`${dir}/eve.sock`, [etScanFrom('198.51.100.77')]);
    await pollUntil('the alert banned in the kernel', async () =>
      (await readSet(nft, 'ban4')).some((e) => e.key === '198.51.100.77'),
    );
    expect((await readSet(nft, 'ban4')).map((e) => e.key)).toEqual(['198.51.100.77']);
    process.kill(d.pid, 'SIGTERM');
    expect((await d.exited).exitCode).toBe(0);
  });
});
