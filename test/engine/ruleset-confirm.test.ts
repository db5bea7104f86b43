/**
 * The daemon's pending apply (RulesetConfirm) with an explicit clock and a hand-driven timer: the
 * deadline reverts to the config that ran before, a confirm in time keeps the new one, one apply
 * at a time, only the daemon's own config file, a failed rollback reported.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/config.ts';
import { RulesetConfirm } from '../../src/engine/ruleset-confirm.ts';
import { silentLogger } from '../../src/log.ts';

const OLD = { name: 'old' } as unknown as Config;
const NEW = { name: 'new' } as unknown as Config;

let dir: string;
let configPath: string;
let nowMs: number;
let timers: Array<{ fn: () => void; ms: number; cleared: boolean }>;
let running: Config;
let reverts: Config[];
let revertFails: boolean;

function make() {
  return new RulesetConfirm({
    configPath,
    applyFile: async () => {
      const previous = running;
      running = NEW;
      return previous;
    },
    revertTo: async (c) => {
      if (revertFails) throw new Error('nft said no');
      reverts.push(c);
      running = c;
    },
    log: silentLogger(),
    nowMs: () => nowMs,
    setTimer: (fn, ms) => {
      const t = { fn, ms, cleared: false };
      timers.push(t);
      return t;
    },
    clearTimer: (h) => {
      (h as { cleared: boolean }).cleared = true;
    },
  });
}

/** Fires the last timer as the event loop would, and lets the revert finish. */
async function fire(): Promise<void> {
  const t = timers.at(-1)!;
  if (!t.cleared) t.fn();
  await new Promise((r) => setImmediate(r));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-rc-'));
  configPath = join(dir, 'nftsentry.yaml');
  writeFileSync(configPath, 'x');
  nowMs = 1_000_000;
  timers = [];
  running = OLD;
  reverts = [];
  revertFails = false;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('RulesetConfirm', () => {
  it('reverts to the previous config at the deadline; status shows it pending until then', async () => {
    const rc = make();
    const t = await rc.apply({ confirmSec: 5, configPath });
    expect(t).toMatchObject({ heldBy: 'daemon', deadlineMs: 1_005_000 });
    expect(timers[0]!.ms).toBe(5000);
    expect(running).toBe(NEW);
    nowMs += 2000;
    expect(rc.view()).toMatchObject({ id: t.id, remainingSec: 3, deadline: new Date(1_005_000).toISOString() });
    await fire();
    expect(reverts).toEqual([OLD]);
    expect(running).toBe(OLD);
    expect(rc.view()).toBeNull();
    expect(rc.confirm()).toEqual({ confirmed: false, message: expect.stringMatching(/was rolled back at/) });
  });

  it('keeps the new config when confirmed; the timer is cleared and a late firing does nothing', async () => {
    const rc = make();
    const t = await rc.apply({ confirmSec: 5, configPath });
    expect(rc.confirm()).toEqual({ confirmed: true, message: `confirmed apply ${t.id}: the new ruleset stays` });
    expect(timers[0]!.cleared).toBe(true);
    timers[0]!.fn();
    await new Promise((r) => setImmediate(r));
    expect(reverts).toEqual([]);
    expect(running).toBe(NEW);
    expect(rc.confirm().confirmed).toBe(false);
  });

  it('refuses a second apply while one is pending, and another config file', async () => {
    const rc = make();
    await rc.apply({ confirmSec: 5, configPath });
    await expect(rc.apply({ confirmSec: 5, configPath })).rejects.toMatchObject({ code: 'E_CONFLICT' });
    await expect(make().apply({ confirmSec: 5, configPath: join(dir, 'other.yaml') })).rejects.toMatchObject({
      code: 'E_CONFLICT',
    });
  });

  it('takes the same file through a symbolic link', async () => {
    symlinkSync(configPath, join(dir, 'link.yaml'));
    await expect(make().apply({ confirmSec: 1, configPath: join(dir, 'link.yaml') })).resolves.toMatchObject({
      heldBy: 'daemon',
    });
  });

  it('a failed apply leaves nothing pending', async () => {
    const rc = new RulesetConfirm({
      configPath,
      applyFile: async () => {
        throw new Error('config refused');
      },
      revertTo: async () => undefined,
      log: silentLogger(),
    });
    await expect(rc.apply({ confirmSec: 5, configPath })).rejects.toThrow('config refused');
    expect(rc.view()).toBeNull();
  });

  it('reports a rollback that failed', async () => {
    const rc = make();
    await rc.apply({ confirmSec: 5, configPath });
    revertFails = true;
    await fire();
    expect(rc.confirm().message).toMatch(/rollback of apply \w+ failed at .*nft said no/);
  });

  it('stop drops the timer; the ruleset stays', async () => {
    const rc = make();
    await rc.apply({ confirmSec: 5, configPath });
    rc.stop();
    expect(timers[0]!.cleared).toBe(true);
    expect(rc.view()).toBeNull();
    expect(running).toBe(NEW);
  });
});
