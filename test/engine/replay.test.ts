/**
 * `nftsentry replay`: real sample files through the policy with their own times as the clock.
 * No nft is involved (replay never touches nft or the store), so this runs as a plain process.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { SAMPLES } from './daemon-harness.ts';

let dir: string;
let cfg: string;

async function replay(
  file: string,
  extraConfig = '',
  json = true,
): Promise<{ stdout: string; exitCode: number | undefined }> {
  writeFileSync(
    cfg,
    `home_networks: [10.47.0.0/16, 192.168.10.0/24, 172.31.0.0/16, 192.168.1.0/24]\nallowlist: [192.168.50.30]\n${extraConfig}`,
  );
  const r = await execa(
    process.execPath,
    ['src/cli/main.ts', '-c', cfg, ...(json ? ['--json'] : []), 'replay', `${SAMPLES}${file}`],
    {
      reject: false,
      env: { NFTSENTRY_LOG_LEVEL: 'silent' },
    },
  );
  return { stdout: String(r.stdout), exitCode: r.exitCode };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-replay-'));
  cfg = join(dir, 'nftsentry.yaml');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nftsentry replay', () => {
  it('EVE (LandonHare123 nmap scan): one ban, allowlisted scanner and pings not; alert times as the clock', async () => {
    const r = await replay('LandonHare123__Network-Intrusion-Analyzer-A-Database-Backed-IDS-Tool/eve.json');
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout) as {
      bans: Array<{ target: string; durationSec: number; rule: string; timeMs: number }>;
      summary: Record<string, unknown>;
    };
    expect(out.bans.map((b) => `${b.target} ${b.durationSec} ${b.rule}`)).toEqual(['192.168.50.20 3600 et-scan']);
    expect(new Date(out.bans[0]!.timeMs).getUTCFullYear()).toBe(2026);
    expect(out.summary).toMatchObject({
      alerts: 44,
      bans: 1,
      skips: { allowlisted: 13, no_rule: 18, already_banned: 12 },
    });
  });

  it('blames the outside side of replies (bebehack3r eve1), readable output', async () => {
    const r = await replay('bebehack3r__FYP_Dash/eves/eve1.json', '', false);
    expect(r.stdout).toContain('ban #1  10.128.0.215');
    expect(r.stdout).toContain('ban #1  10.128.0.214');
    expect(r.stdout).not.toMatch(/ban #\d+ +10\.47\./);
    expect(r.stdout).toMatch(/20 alerts \(0 bad lines\): 2 bans of 2 targets/);
  });

  it('Snort 3 alert_json (default fields, no message) by sid, with thresholds and escalation over time', async () => {
    const r = await replay(
      'injaneity__CS204-project/alert_json.txt',
      `policy:
  escalation: { factor: 2, max: 1h }
  rules:
    - { name: rlogin-probe, match: { sids: [2000111] }, threshold: { alerts: 10, window: 60 }, ban: 5m }
`,
    );
    const out = JSON.parse(r.stdout) as {
      bans: Array<{ target: string; source: string; offences: number; durationSec: number; refresh: boolean }>;
    };
    expect(out.bans.length).toBeGreaterThan(0);
    expect(new Set(out.bans.map((b) => b.target))).toEqual(new Set(['192.168.0.64']));
    expect(out.bans.every((b) => b.source === 'snort')).toBe(true);
    const fresh = out.bans.filter((b) => !b.refresh);
    // Repeat offences escalate 5m -> 10m -> 20m -> 40m -> capped at 1h.
    expect(fresh.slice(0, 5).map((b) => b.durationSec)).toEqual(
      [300, 600, 1200, 2400, 3600].slice(0, Math.min(5, fresh.length)),
    );
    expect(fresh.map((b) => b.offences)).toEqual(fresh.map((_, i) => i + 1));
  });

  it('a missing file is exit 3; a bad config exit 2', async () => {
    expect((await replay('no/such/file.json')).exitCode).toBe(3);
    expect(
      (await replay('bebehack3r__FYP_Dash/eves/eve1.json', 'policy: { rules: [{ name: "bad name!" }] }')).exitCode,
    ).toBe(2);
  });
});
