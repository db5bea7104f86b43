/**
 * What a SIGHUP may change (src/cli/reload.ts): the plan names the restart-only keys that
 * differ, the parts to rebuild and the allowlist entries a new file drops; a file is read once
 * it has settled, and an empty one is refused by `run`, `check` and reload alike.
 */
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText, loadConfig } from '../../src/config/config.ts';
import { planReload, readSettled, RESTART_ONLY_KEYS } from '../../src/cli/reload.ts';
import { runCli } from '../helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'nftsentry-reload-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = `allowlist: [203.0.113.7, 198.51.100.0/24]\nstore: { path: ${dir}/a.db }\n`;

describe('planReload', () => {
  it('nothing changed: nothing to do', () => {
    const c = parseConfigText(base);
    expect(planReload(c, parseConfigText(base))).toEqual({
      refused: [],
      sources: false,
      api: false,
      removedAllow: [],
      changed: [],
    });
  });

  it('restart-only keys refuse the reload and are named; live keys are planned', () => {
    const c = parseConfigText(base);
    const next = parseConfigText(`${base.replace('a.db', 'b.db')}engine: { pipeline: 1 }\napi: { port: 9999 }\n`);
    const plan = planReload(c, next);
    expect(plan.refused).toEqual(['store.path', 'engine.pipeline']);
    expect(plan.api).toBe(true);
    expect(plan.sources).toBe(false);
    expect(plan.changed.sort()).toEqual(['api', 'engine', 'store']);
    for (const k of RESTART_ONLY_KEYS) expect(k).toMatch(/^((store|engine|sources)\.|fleet$)/);
  });

  it('allowlist entries the new file drops are listed', () => {
    const c = parseConfigText(base);
    const plan = planReload(c, parseConfigText(base.replace(', 198.51.100.0/24', '')));
    expect(plan.removedAllow).toEqual(['198.51.100.0/24']);
    expect(plan.refused).toEqual([]);
  });
});

describe('reading the file', () => {
  it('waits until a file being written has settled, then reads it whole', async () => {
    const path = join(dir, 'slow.yaml');
    writeFileSync(path, 'allowlist: [');
    const writer = (async () => {
      for (const part of ['203.0.113.7', ', 198.51.100.0/24', ']\n']) {
        await new Promise((r) => setTimeout(r, 60));
        appendFileSync(path, part);
      }
    })();
    const text = await readSettled(path, 150);
    await writer;
    expect(text).toBe('allowlist: [203.0.113.7, 198.51.100.0/24]\n');
  });

  it('an empty or whitespace-only file is refused, by loadConfig, readSettled and `check`', async () => {
    const path = join(dir, 'empty.yaml');
    writeFileSync(path, ' \n\t\n');
    expect(() => loadConfig(path)).toThrow(/is empty/);
    await expect(readSettled(path, 10)).rejects.toThrow(/is empty/);
    const r = await runCli(['-c', path, 'check']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/is empty/);
  });
});
