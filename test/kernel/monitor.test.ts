/**
 * src/nft/monitor.ts against real `nft monitor` (nft 1.0.6) in a namespace made for this file:
 * what it reports for a runner's own transactions and for another process's, that an element
 * running out of time is reported by nothing, that every transaction touching a prefix-ban set is
 * either unclear to the damage reader or ends the process (nft cannot print those elements), that
 * the process comes back after it died or was replaced, with a gap reported each time, that a
 * start starved by steady changes is given up and retried, and that it ends with its parent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netns } from '../../src/lab/netns.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import type { MonitorGeneration, MonitorHandle, MonitorOptions } from '../../src/nft/nft.ts';
import { applyRuleset } from '../../src/nft/apply.ts';
import { readSet } from '../../src/nft/state.ts';
import { parseConfigText } from '../../src/config/config.ts';
import { readDamage } from '../../src/engine/kernel-damage.ts';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { NODE_BIN, REPO, waitFor } from '../helpers.ts';

let ns: Netns;
/** The runner whose monitor it is (the daemon's part). */
let own: NftRunner;
/** Someone else in the same namespace. */
let other: NftRunner;
const monitors: MonitorHandle[] = [];

interface Seen {
  events: string[];
  generations: MonitorGeneration[];
  monitor: MonitorHandle;
}

function watch(options: MonitorOptions = {}): Seen {
  const seen = { events: [] as string[], generations: [] as MonitorGeneration[] } as Seen;
  seen.monitor = own.openMonitor(
    {
      listening: () => seen.events.push('listening'),
      generation: (g) => seen.generations.push(g),
      gap: (why) => seen.events.push(`gap: ${why}`),
    },
    options,
  );
  monitors.push(seen.monitor);
  seen.monitor.start();
  return seen;
}

/** Until the monitor has subscribed (no transaction needed to find out). */
async function untilListening(seen: Seen): Promise<void> {
  await waitFor(async () => (seen.monitor.listening ? true : undefined), 10_000, 'the monitor listening', 10);
}

/** Runs `script` as another process and returns the generation the monitor reported for it. */
async function foreign(seen: Seen, script: string): Promise<MonitorGeneration | null> {
  const from = seen.generations.length;
  const gaps = seen.events.length;
  await other.runScript(script);
  // Ours right after: once its generation is in, everything before it is too.
  const session = own.openSession();
  try {
    await session.run([
      'add element inet nftsentry ban4 { 0.0.0.0 }',
      'delete element inet nftsentry ban4 { 0.0.0.0 }',
    ]);
  } finally {
    session.close();
  }
  await waitFor(
    async () =>
      seen.generations.slice(from).some((g) => g.own) || seen.events.slice(gaps).some((e) => e.startsWith('gap'))
        ? true
        : undefined,
    // A deadline, not a timing: under a loaded machine (the flood test beside it) a monitor
    // restarting after a gap can take long to subscribe again.
    30_000,
    'the probe after it',
    10,
  );
  return seen.generations.slice(from).find((g) => !g.own) ?? null;
}

beforeAll(async () => {
  ns = await Netns.create('monitor');
  own = new NftRunner({ netns: ns.name });
  other = new NftRunner({ netns: ns.name });
  await applyRuleset(parseConfigText('services: { tcp: [22] }\n'), { runner: own });
});

afterAll(async () => {
  for (const m of monitors) m.stop();
  await ns?.delete();
});

describe('nft monitor', () => {
  it("tells the runner's own transactions (no lines kept) from another process's (its lines)", async () => {
    const seen = watch();
    await untilListening(seen);
    expect(seen.events).toEqual(['listening']);
    const g = await foreign(seen, 'add element inet nftsentry ban4 { 198.51.100.7 timeout 1h }\n');
    expect(g).toMatchObject({ own: false, truncated: false });
    expect(g!.lines).toEqual([
      'add element inet nftsentry ban4 { 198.51.100.7 counter packets 0 bytes 0 timeout 1h expires 1h }',
    ]);
    expect(seen.generations.filter((x) => x.own).every((x) => x.lines.length === 0)).toBe(true);
    const flushed = await foreign(seen, 'flush set inet nftsentry ban4\n');
    expect(Object.fromEntries(readDamage(flushed!.lines).removed)).toEqual({ '198.51.100.7': 'ban4' });
    seen.monitor.stop();
  });

  it('reports nothing when an element runs out of time', async () => {
    const seen = watch();
    await untilListening(seen);
    await other.run(['add', 'element', 'inet', 'nftsentry', 'ban4', '{', '198.51.100.9', 'timeout', '1s', '}']);
    await waitFor(
      async () => ((await readSet(own, 'ban4')).some((e) => e.key === '198.51.100.9') ? undefined : true),
      10_000,
      'the element to time out',
      100,
    );
    // Generations come in order: with ours in after the expiry, no line about it came before.
    const g = await foreign(seen, 'add element inet nftsentry ban4 { 198.51.100.10 timeout 1h }\n');
    const lines = seen.generations.flatMap((x) => x.lines);
    expect(lines.filter((l) => l.includes('198.51.100.9'))).toEqual([
      'add element inet nftsentry ban4 { 198.51.100.9 counter packets 0 bytes 0 timeout 1s expires 1s }',
    ]);
    expect(g!.lines).toHaveLength(1);
    seen.monitor.stop();
  });

  it('every transaction on a prefix-ban set is unclear to the damage reader, or ends the process (a gap)', async () => {
    const seen = watch({ restartDelayMs: { min: 10, max: 100 } });
    await untilListening(seen);
    const outcomes: string[] = [];
    for (let i = 0; i < 12; i++) {
      if (!seen.monitor.listening) await untilListening(seen);
      const gaps = seen.events.filter((e) => e.startsWith('gap')).length;
      const op = i % 2 === 0 ? 'add' : 'delete';
      const g = await foreign(
        seen,
        `${op} element inet nftsentry bannet4 { 198.51.${100 + Math.floor(i / 2)}.0/24 . 0-255${op === 'add' ? ' timeout 1h' : ''} }\n`,
      );
      const died = seen.events.filter((e) => e.startsWith('gap')).length > gaps;
      outcomes.push(died ? 'gap' : g && readDamage(g.lines).unclear ? `unclear (${g.lines.length} lines)` : 'MISSED');
    }
    console.log(`bannet4 add/delete as seen through nft monitor: ${outcomes.join(', ')}`);
    expect(outcomes).not.toContain('MISSED');
    seen.monitor.stop();
  }, 300_000);

  it('comes back after it died or was replaced, reporting a gap each time', async () => {
    const seen = watch({ recycleBytes: 600, quietMs: 100, restartDelayMs: { min: 10, max: 100 } });
    await untilListening(seen);
    const pid = (seen.monitor as unknown as { pid: number }).pid;
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => (seen.monitor.listening ? undefined : true), 10_000, 'the monitor gone', 10);
    await untilListening(seen);
    expect(seen.events.slice(0, 3)).toEqual(['listening', 'gap: nft monitor exited (SIGKILL)', 'listening']);
    // 600 bytes of output: a few element lines; once nothing happened for 100 ms, a new process.
    for (let i = 0; i < 10; i++)
      await other.run(['add', 'element', 'inet', 'nftsentry', 'ban4', '{', `198.51.101.${i}`, '}']);
    await waitFor(
      async () => (seen.events.some((e) => e.startsWith('gap: nft monitor replaced after')) ? true : undefined),
      10_000,
      'the monitor replaced',
      10,
    );
    await untilListening(seen);
    expect(seen.monitor.stats).toMatchObject({ exits: 1 });
    expect(seen.monitor.stats.recycles).toBeGreaterThan(0);
    seen.monitor.stop();
  });

  it('a start that cannot subscribe while the ruleset keeps changing is ended and tried again later', async () => {
    // nft reads every element before it subscribes, and reads again when a transaction lands meanwhile.
    const els = Array.from({ length: 50_000 }, (_, i) => `198.19.${i >> 8}.${i & 255} timeout 1h`);
    await other.runScript(`add element inet nftsentry ban4 { ${els.join(', ')} }\n`);
    const seen = watch({ startTimeoutMs: 1500, restartDelayMs: { min: 300, max: 300 } });
    let n = 0;
    const busy = setInterval(
      () => void other.run(['add', 'element', 'inet', 'nftsentry', 'ban6', '{', `2001:db8:9::${++n}`, '}']),
      50,
    );
    try {
      await waitFor(
        async () => (seen.events.some((e) => e.includes('did not subscribe within 1500 ms')) ? true : undefined),
        45_000,
        'the start given up',
        50,
      );
      expect(seen.monitor.listening).toBe(false);
    } finally {
      clearInterval(busy);
    }
    const quietAt = performance.now();
    await waitFor(async () => (seen.monitor.listening ? true : undefined), 20_000, 'the monitor listening', 20);
    console.log(
      `with 50k elements, listening ${Math.round(performance.now() - quietAt)} ms after the changes stopped (a retry included)`,
    );
    seen.monitor.stop();
    await other.run(['flush', 'set', 'inet', 'nftsentry', 'ban4']);
  }, 120_000);

  it('ends when the process that started it dies (kill -9): it would otherwise wait on its socket for good', async () => {
    const code = [
      `import { NftRunner } from ${JSON.stringify(join(REPO, 'src/nft/runner.ts'))};`,
      `const m = new NftRunner({ netns: ${JSON.stringify(ns.name)} }).openMonitor({`,
      "  listening: () => console.log('listening'), generation: () => {}, gap: () => {} });",
      'm.start();',
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const child = execa(NODE_BIN, ['--input-type=module', '-e', code], { reject: false, buffer: false });
    try {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      await waitFor(async () => (out.includes('listening') ? true : undefined), 20_000, 'the monitor listening', 20);
      const monitor = childrenOf(child.pid!).find(
        (p) => readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'nft\0monitor\0',
      );
      expect(monitor).toBeDefined();
      child.kill('SIGKILL');
      await waitFor(async () => (existsSync(`/proc/${monitor}`) ? undefined : true), 10_000, 'the monitor gone', 20);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

/** Pids whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}
