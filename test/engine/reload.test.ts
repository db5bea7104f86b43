/**
 * SIGHUP as a transaction, against the real daemon in a namespace: a storm of at least 500
 * SIGHUPs while the config file is rewritten non-atomically (truncated, then written in small
 * chunks), cycling through two good configs, a broken one, an empty one, a partial one and one
 * that changes store.path (restart-only). Meanwhile ET SCAN alerts keep coming from an address
 * both good configs allowlist. After the storm: the kernel's allow and home sets, the socket, the
 * API (with the token it had) and the bans are those of the last good config, and the
 * allowlisted address was never banned (not in ban4 at any poll, no row in the store).
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLabTopology, type LabTopology } from '../../src/lab/topology.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { readSet } from '../../src/nft/state.ts';
import { apiRequest, type Daemon, etScanFrom, pollUntil, sendLines, startDaemon } from './daemon-harness.ts';

let lab: LabTopology;
let nft: NftRunner;
let dir: string;
let cfgPath: string;
const daemons: Daemon[] = [];
const ALLOWED = '203.0.113.77';

/** A good config; `home` and the TCP services differ between the two good ones. */
const good = (home: string, tcp: string) => `allowlist: [${ALLOWED}, 2001:db8:77::/48]
store: { path: ${dir}/state.db }
sources: { inputs: [ { type: unix_stream, path: ${dir}/eve.sock } ] }
api: { socket: { path: ${dir}/api.sock }, token_file: ${dir}/api.token }
home_networks: [${home}]
services: { tcp: [${tcp}] }
engine: { heal_poll_ms: 500, kernel_scan_poll_ms: 1000 }
`;

type Kind = 'goodA' | 'goodB' | 'broken' | 'empty' | 'partial' | 'storePath';

function kinds(): Record<Kind, string> {
  const a = good('10.0.0.0/8', '22');
  return {
    goodA: a,
    goodB: good('10.0.0.0/8, 172.16.0.0/12', '22, 443'),
    broken: `${a}policy: { rules: [ { name: x, match: { sids: [1] }, ban: 1h }\n`,
    empty: '',
    partial: `${a.slice(0, a.indexOf('home_networks'))}home_networks: [10.0.`,
    storePath: a.replace(`${dir}/state.db`, `${dir}/other.db`),
  };
}

/** Truncates, then writes the text in chunks, yielding between them (a SIGHUP may land anywhere). */
async function writeSlowly(text: string, onChunk: () => void): Promise<void> {
  truncateSync(cfgPath, 0);
  for (let i = 0; i < text.length; i += 24) {
    appendFileSync(cfgPath, text.slice(i, i + 24));
    onChunk();
    await new Promise((r) => setImmediate(r));
  }
}

const api = async (path: string, token: string) => (await apiRequest(`${dir}/api.sock`, token, 'GET', path)).status;

const keys = async (set: string): Promise<string[]> => (await readSet(nft, set)).map((e) => e.key).sort();

beforeAll(async () => {
  lab = await createLabTopology();
  nft = new NftRunner({ netns: lab.gw.name });
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-reload-'));
  cfgPath = join(dir, 'nftsentry.yaml');
});

afterAll(async () => {
  for (const d of daemons) if (!d.done) process.kill(d.pid, 'SIGKILL');
  await lab?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('SIGHUP storm', () => {
  it('500 SIGHUPs over non-atomic writes of good, broken, empty, partial and store.path configs: the last good one runs, the allowlist held throughout', async () => {
    const k = kinds();
    writeFileSync(cfgPath, k.goodA);
    const d = startDaemon(lab.gw, cfgPath);
    daemons.push(d);
    await d.waitForLog('nftsentry running');
    const token = readFileSync(`${dir}/api.token`, 'utf8').trim();
    expect(await api('/v1/status', token)).toBe(200);

    let signals = 0;
    const hup = () => {
      process.kill(d.pid, 'SIGHUP');
      signals++;
    };
    let storming = true;
    let everBanned = false as boolean;
    const watch = (async () => {
      while (storming) {
        if ((await keys('ban4').catch((): string[] => [])).includes(ALLOWED)) everBanned = true;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const alerts = (async () => {
      let i = 0;
      while (storming) {
        await sendLines(`${dir}/eve.sock`, [etScanFrom(ALLOWED), etScanFrom(`198.51.100.${(i++ % 200) + 1}`)]).catch(
          () => 0,
        );
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const cycle: Kind[] = [
      'goodB',
      'broken',
      'empty',
      'partial',
      'storePath',
      'goodA',
      'partial',
      'empty',
      'broken',
      'storePath',
    ];
    for (let step = 0; signals < 500; step++) {
      const kind = cycle[step % cycle.length] as Kind;
      let chunk = 0;
      await writeSlowly(k[kind], () => {
        if (chunk++ % 4 === 0) hup();
      });
      hup();
      // Every third file stays long enough to settle, so that each kind is read and judged.
      await new Promise((r) => setTimeout(r, step % 3 === 0 ? 300 : 5));
    }
    // The storm ends on good config A, written the same way, and one more SIGHUP.
    const settleFrom = d.logs.length;
    await writeSlowly(k.goodA, () => undefined);
    hup();
    await d.waitForLog('SIGHUP: config applied', 20_000, settleFrom).catch(() => undefined);
    await pollUntil(
      'home4 of config A',
      async () => {
        const home = await keys('home4');
        return home.join() === '10.0.0.0/8 . 0-255' ? true : undefined;
      },
      20_000,
    );
    storming = false;
    await Promise.all([watch, alerts]);
    console.log(
      `SIGHUP storm: ${signals} signals; reloads applied ${d.logs.filter((l) => l.msg === 'SIGHUP: config applied').length}, refused ${d.logs.filter((l) => String(l.msg).startsWith('SIGHUP: config refused')).length}`,
    );

    expect(signals).toBeGreaterThanOrEqual(500);
    expect(d.done).toBe(false);
    expect(await keys('allow4')).toEqual([`${ALLOWED} . 0-255`]);
    expect(await keys('allow6')).toEqual(['2001:db8:77::/48 . 0-255']);
    expect(await keys('services')).toEqual(['tcp . 22']);
    expect(await api('/v1/status', token)).toBe(200);
    expect(await api('/v1/status', 'not-the-token')).toBe(401);
    // The socket is the configured one: a new source is banned through it.
    await sendLines(`${dir}/eve.sock`, [etScanFrom('198.51.100.250')]);
    // A deadline for a machine loaded by the other test files (the 200k-ban and browser files run beside this one).
    await pollUntil(
      'ban through the socket',
      async () => ((await keys('ban4')).includes('198.51.100.250') ? true : undefined),
      30_000,
    );
    expect(everBanned).toBe(false);
    expect(await keys('ban4')).not.toContain(ALLOWED);
    expect(d.logs.some((l) => String(l.msg).includes('change on restart only'))).toBe(true);
    expect(d.logs.some((l) => l.msg === 'SIGHUP: allowlist entry removed')).toBe(false);
    process.kill(d.pid, 'SIGTERM');
    expect((await d.exited).exitCode).toBe(0);
    const db = new DatabaseSync(`${dir}/state.db`, { readOnly: true });
    expect(db.prepare('SELECT target FROM bans WHERE target = ?').get(ALLOWED)).toBeUndefined();
    db.close();
  });
  it('a reload that fails half-way (the new API cannot listen) puts back the sources it already switched; a later good reload still applies', async () => {
    const k = kinds();
    writeFileSync(cfgPath, k.goodA);
    const d = startDaemon(lab.gw, cfgPath);
    daemons.push(d);
    await d.waitForLog('nftsentry running', 60_000);
    const token = readFileSync(`${dir}/api.token`, 'utf8').trim();
    writeFileSync(`${dir}/blocker`, 'a file where the new API socket directory would be\n');
    const failing = k.goodA
      .replace(`${dir}/eve.sock`, `${dir}/eve2.sock`)
      .replace(`${dir}/api.sock`, `${dir}/blocker/api.sock`);
    let n = d.logs.length;
    writeFileSync(cfgPath, failing);
    process.kill(d.pid, 'SIGHUP');
    await d.waitForLog('SIGHUP: reload failed; the previous config runs again', 15_000, n);
    expect(await api('/v1/status', token)).toBe(200);
    await sendLines(`${dir}/eve.sock`, [etScanFrom('198.51.100.240')]);
    await pollUntil('ban through the old socket', async () =>
      (await keys('ban4')).includes('198.51.100.240') ? true : undefined,
    );
    // The next good reload compares against what runs, so it applies (services 22 -> 22, 443).
    n = d.logs.length;
    writeFileSync(cfgPath, k.goodA.replace('services: { tcp: [22] }', 'services: { tcp: [22, 443] }'));
    process.kill(d.pid, 'SIGHUP');
    await d.waitForLog('SIGHUP: config applied', 15_000, n);
    expect(await keys('services')).toEqual(['tcp . 22', 'tcp . 443']);
    expect(await api('/v1/status', token)).toBe(200);
    process.kill(d.pid, 'SIGTERM');
    expect((await d.exited).exitCode).toBe(0);
  });
});
