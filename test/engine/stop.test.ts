/**
 * SIGTERM with 200,000 bans, 12 times in a row, at different moments of the start (while the
 * store's bans are sent, during the start-up reconcile, idle): the daemon exits every time with
 * code 0, starts no nft process after the signal, and leaves every ban in the kernel. The time
 * from SIGTERM to exit is printed per run (the goal is under 5 s; the process also ends itself
 * at 4.5 s whatever it holds).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLabTopology, type LabTopology } from '../../src/lab/topology.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { Store } from '../../src/store/store.ts';
import { type Daemon, startDaemon } from './daemon-harness.ts';

const BANS = 200_000;
const RUNS = 12;
let lab: LabTopology;
let nft: NftRunner;
let dir: string;
let cfgPath: string;
const daemons: Daemon[] = [];

/** The daemon's child processes right now (nft co-processes and one-shot nft). */
function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      if (text) out.push(...text.split(' ').map(Number));
    }
  } catch {
    // the process is gone
  }
  return out;
}

/** A process's command line, for the report ('?' once it is gone). */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '?';
  }
}

beforeAll(async () => {
  lab = await createLabTopology();
  nft = new NftRunner({ netns: lab.gw.name });
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-stop-'));
  cfgPath = join(dir, 'nftsentry.yaml');
  writeFileSync(
    cfgPath,
    `home_networks: [10.0.0.0/8]
api: { enabled: false }
store: { path: ${dir}/state.db }
sources: { inputs: [ { type: unix_stream, path: ${dir}/eve.sock } ] }
engine: { heal_poll_ms: 300, kernel_scan_poll_ms: 300, expire_poll_ms: 300, rules_check_ms: 1000 }
policy: { max_active_bans: ${BANS + 50_000} }
`,
  );
  // 200,000 active bans in the store (198.18.0.0/15 holds 131,072 addresses; the rest from 100.64/10).
  const store = new Store(`${dir}/state.db`);
  const now = Date.now();
  const rows = Array.from({ length: BANS }, (_, i) => {
    const n = i < 131_072 ? (198 << 24) + (18 << 16) + i : (100 << 24) + (64 << 16) + (i - 131_072);
    const target = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    return {
      target,
      family: 4 as const,
      set: 'ban4',
      source: 'suricata' as const,
      reason: 'stop test',
      sid: 2001219,
      signature: 'ET SCAN',
      nowMs: now,
      expiresMs: now + 3_600_000,
      durationSec: 3600,
      offences: 1,
    };
  });
  store.recordBans(rows);
  store.close();
}, 120_000);

afterAll(async () => {
  for (const d of daemons) if (!d.done) process.kill(d.pid, 'SIGKILL');
  await lab?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ban4Count = async () => {
  const out = (await nft.run(['-j', 'list', 'set', 'inet', 'nftsentry', 'ban4'])).stdout;
  return (
    (JSON.parse(out) as { nftables: Array<{ set?: { elem?: unknown[] } }> }).nftables.find((o) => o.set)?.set?.elem
      ?.length ?? 0
  );
};

describe('SIGTERM', () => {
  it(`with ${BANS} bans, ${RUNS} times at different moments of the start: exits (code 0), starts no nft after the signal, keeps every ban`, async () => {
    const took: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const d = startDaemon(lab.gw, cfgPath);
      daemons.push(d);
      await d.waitForLog('nftsentry running', 60_000);
      // Runs 0-5 stop during the start-up reconcile (every 150 ms of it), the rest a little or a
      // while after (every 400 ms up to 2 s).
      const delayMs = run < 6 ? run * 150 : (run - 6) * 400;
      await new Promise((r) => setTimeout(r, delayMs));
      const before = new Set(children(d.pid));
      // The co-processes run: the check below sees children at all.
      expect(before.size, `run ${run}: no child processes seen`).toBeGreaterThan(0);
      const signalledAt = performance.now();
      process.kill(d.pid, 'SIGTERM');
      const started: string[] = [];
      const watcher = (async () => {
        while (!d.done) {
          for (const c of children(d.pid)) {
            if (before.has(c) || started.some((s) => s.startsWith(`${c} `))) continue;
            started.push(`${c} ${commandLine(c)}`);
          }
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const exit = await Promise.race([d.exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
      took.push(performance.now() - signalledAt);
      await watcher;
      expect(exit, `run ${run}: the daemon did not exit`).not.toBeNull();
      const lastLogs = JSON.stringify(d.logs.slice(-5));
      expect({ exitCode: exit?.exitCode, signal: exit?.signal }, `run ${run}; last log lines ${lastLogs}`).toEqual({
        exitCode: 0,
        signal: undefined,
      });
      expect(started, `run ${run}: processes started after SIGTERM`).toEqual([]);
    }
    console.log(
      `SIGTERM to exit with ${BANS} bans over ${RUNS} runs: ${took.map((t) => Math.round(t)).join(', ')} ms (max ${Math.round(Math.max(...took))} ms)`,
    );
    expect(await ban4Count()).toBe(BANS);
  }, 600_000);
});
