/**
 * Store faults with `nftsentry run` as a real child process in a namespace made for the test,
 * alerts over its unix socket, status and metrics over its API socket:
 * - the store on a 1 MiB tmpfs fills up under 6,000 bans: the daemon keeps banning, status and
 *   /metrics say degraded, the log names SQLITE_FULL; once the tmpfs is given room, store rows =
 *   kernel elements = 6,000 and status says so;
 * - garbage in place of the store at start: the daemon runs, moves the file aside, adopts the
 *   kernel's bans (listed by the API) and says so; the next start is clean.
 * test/engine/store-faults.test.ts has the 40,000-alert case in-process.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netns } from '../../src/lab/netns.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { readSet } from '../../src/nft/state.ts';
import { apiRequest, type Daemon, pollUntil, sendLines, startDaemon, etScanFrom } from './daemon-harness.ts';
import { activeTargets, mountTmpfs, resizeTmpfs, unmountTmpfs } from './store-fault-helpers.ts';

let ns: Netns;
let nft: NftRunner;
let dir: string;
const daemons: Daemon[] = [];

const line = (i: number) => etScanFrom(`100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);

function config(name: string, store: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    `home_networks: [10.0.0.0/8]
store: { path: ${store} }
sources: { inputs: [ { type: unix_stream, path: ${join(dir, `${name}.sock`)} } ] }
api: { socket: { path: ${join(dir, `${name}-api.sock`)} }, token_file: ${join(dir, 'api.token')} }
engine: { heal_poll_ms: 1000, kernel_scan_poll_ms: 1000 }
`,
  );
  return path;
}

async function start(name: string, store: string): Promise<Daemon> {
  const d = startDaemon(ns, config(name, store));
  daemons.push(d);
  await d.waitForLog('nftsentry running');
  await d.waitForLog('kernel reconciled');
  return d;
}

async function stop(d: Daemon): Promise<void> {
  process.kill(d.pid, 'SIGTERM');
  expect((await d.exited).exitCode).toBe(0);
}

/** GET over the daemon's API socket with the token: the body. */
async function apiGet(name: string, path: string): Promise<string> {
  const token = readFileSync(join(dir, 'api.token'), 'utf8').trim();
  return (await apiRequest(join(dir, `${name}-api.sock`), token, 'GET', path)).text;
}

const storeStatus = async (name: string) => JSON.parse(await apiGet(name, '/v1/status')).engine.store;
const ban4 = async () => new Set((await readSet(nft, 'ban4')).map((e) => e.key));

beforeAll(async () => {
  ns = await Netns.create('store');
  nft = new NftRunner({ netns: ns.name });
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-daemon-store-'));
});

afterAll(async () => {
  for (const d of daemons) if (!d.done) process.kill(d.pid, 'SIGKILL');
  for (const d of daemons) await d.exited;
  await ns?.delete();
  if (dir) {
    unmountTmpfs(join(dir, 'fs'));
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('nftsentry run with a failing store', () => {
  it('disk full under 6,000 bans: banning goes on, degraded in status and metrics; once there is room, rows = elements', async () => {
    const fs = join(dir, 'fs');
    mkdirSync(fs);
    mountTmpfs(fs, 1);
    const store = join(fs, 'state.db');
    const d = await start('full', store);
    for (let k = 0; k < 6; k++) {
      await sendLines(
        join(dir, 'full.sock'),
        Array.from({ length: 1000 }, (_, j) => line(k * 1000 + j)),
      );
      await pollUntil(`${(k + 1) * 1000} bans in the kernel`, async () =>
        (await ban4()).size >= (k + 1) * 1000 ? true : undefined,
      );
    }
    const during = await pollUntil('status: degraded', async () => {
      const s = await storeStatus('full');
      return s.degraded ? s : undefined;
    });
    const rowsDuring = activeTargets(store).size;
    console.log(
      `disk full (real daemon): kernel ${(await ban4()).size} elements, store ${rowsDuring} rows, ${during.pendingRows} pending`,
    );
    expect(during).toMatchObject({ lastError: { code: 'SQLITE_FULL', message: 'database or disk is full' } });
    expect(d.logs.find((l) => l.code === 'SQLITE_FULL')).toMatchObject({ level: 50, err: 'database or disk is full' });
    expect(d.logs.some((l) => String(l.err ?? '').includes('cannot rollback'))).toBe(false);
    const metrics = await apiGet('full', '/metrics');
    expect(metrics).toMatch(/^nftsentry_store_errors_total\{code="SQLITE_FULL"\} [1-9]/m);
    expect(metrics).toContain('\nnftsentry_store_degraded 1\n');

    resizeTmpfs(fs, 64);
    const after = await pollUntil(
      'status: not degraded',
      async () => {
        const s = await storeStatus('full');
        return s.degraded ? undefined : s;
      },
      20_000,
      100,
    );
    expect(after).toMatchObject({ degraded: false, pendingRows: 0 });
    const rows = activeTargets(store);
    const kernel = await ban4();
    console.log(`after the space returned (real daemon): store ${rows.size} rows, kernel ${kernel.size} elements`);
    expect(kernel.size).toBe(6000);
    expect(rows).toEqual(kernel);
    expect(await apiGet('full', '/metrics')).toContain('\nnftsentry_store_degraded 0\n');
    await stop(d);
    unmountTmpfs(fs);
  });

  it('garbage in place of the store at start: runs, moves it aside, adopts and lists the kernel bans; the next start is clean', async () => {
    const sub = join(dir, 'corrupt');
    mkdirSync(sub);
    const store = join(sub, 'state.db');
    const first = await start('corrupt', store);
    await sendLines(
      join(dir, 'corrupt.sock'),
      Array.from({ length: 50 }, (_, i) => line(10_000 + i)),
    );
    await pollUntil('50 more bans', async () => ((await ban4()).size >= 6050 ? true : undefined));
    await stop(first);
    const kernel = await ban4();
    for (const suffix of ['', '-wal', '-shm']) rmSync(store + suffix, { force: true });
    writeFileSync(store, Buffer.alloc(32 * 1024, 0x37));

    const d = await start('corrupt', store);
    const moved = d.logs.find((l) => typeof l.movedTo === 'string');
    expect(moved).toMatchObject({ level: 50, path: store, code: 'SQLITE_NOTADB' });
    const status = await storeStatus('corrupt');
    expect(status.recoveredFrom).toMatchObject({ movedTo: moved!.movedTo, code: 'SQLITE_NOTADB' });
    expect(readFileSync(moved!.movedTo as string)).toEqual(Buffer.alloc(32 * 1024, 0x37));
    const listed = JSON.parse(await apiGet('corrupt', '/v1/bans?limit=1'));
    expect(listed.total).toBe(kernel.size);
    expect(activeTargets(store)).toEqual(kernel);
    expect(await ban4()).toEqual(kernel);
    await stop(d);

    const again = await start('corrupt', store);
    expect(again.logs.some((l) => l.level === 50)).toBe(false);
    expect((await storeStatus('corrupt')).recoveredFrom).toBeNull();
    expect(readdirSync(sub).filter((f) => f.includes('.corrupt-') && !/-(wal|shm)$/.test(f))).toHaveLength(1);
    await stop(again);
  });
});
