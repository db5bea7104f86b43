/**
 * The pure parts of `apply --confirm` on the CLI side: the pending file's validation, the confirm
 * command printed with the same -c, the message, the SSH client of SSH_CONNECTION; and the
 * pending file's hand-over (a real directory): the first to take it owns it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { confirmCommandLine, confirmInstructions, shellWord } from '../../src/cli/confirm-apply.ts';
import { claimPending, parsePending, readPending, writePending } from '../../src/cli/pending-confirm.ts';
import { statusText } from '../../src/cli/commands/status.ts';
import { sshClientPrefix } from '../../src/cli/session-allow.ts';

const PENDING = {
  id: 'a1b2c3',
  deadlineMs: 2_000,
  createdMs: 1_000,
  netns: null,
  snapshot: 'table inet nftsentry {\n}\n',
  helperPid: 42,
};

describe('parsePending', () => {
  it('takes a whole pending file', () => {
    expect(parsePending(JSON.stringify(PENDING))).toEqual(PENDING);
    expect(parsePending(JSON.stringify({ ...PENDING, snapshot: null, helperPid: null, netns: 'gw' }))).not.toBeNull();
  });

  it.each([
    ['not JSON', '{"id":'],
    ['an array', '[]'],
    ['an id with a path in it', JSON.stringify({ ...PENDING, id: '../x' })],
    ['a fractional deadline', JSON.stringify({ ...PENDING, deadlineMs: 1.5 })],
    ['a snapshot that is not text', JSON.stringify({ ...PENDING, snapshot: 7 })],
    ['a pid of 0 (the whole group)', JSON.stringify({ ...PENDING, helperPid: 0 })],
    ['a negative pid', JSON.stringify({ ...PENDING, helperPid: -5 })],
  ])('refuses %s', (_, text) => {
    expect(parsePending(text)).toBeNull();
  });
});

describe('the pending file hand-over', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nftsentry-pending-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('goes to the first taker only', () => {
    writePending(dir, PENDING);
    expect(readPending(dir)).toEqual(PENDING);
    expect(claimPending(dir, 'confirm')).toEqual(PENDING);
    expect(claimPending(dir, 'rollback')).toBeNull();
    expect(readPending(dir)).toBeNull();
  });
});

describe('what apply --confirm prints', () => {
  it('quotes only what the shell would split', () => {
    expect(shellWord('/etc/nftsentry/nftsentry.yaml')).toBe('/etc/nftsentry/nftsentry.yaml');
    expect(shellWord("/tmp/my conf's.yaml")).toBe(`'/tmp/my conf'\\''s.yaml'`);
  });

  it('names the same config file (absolute) and namespace', () => {
    expect(confirmCommandLine('/etc/nftsentry/x.yaml', undefined)).toBe('nftsentry -c /etc/nftsentry/x.yaml confirm');
    expect(confirmCommandLine('/etc/n.yaml', 'gw 1')).toBe("nftsentry -c /etc/n.yaml --netns 'gw 1' confirm");
    expect(confirmCommandLine('rel.yaml', undefined)).toBe(`nftsentry -c ${join(process.cwd(), 'rel.yaml')} confirm`);
  });

  it('says the deadline, who holds it, and the command', () => {
    const t = { id: 'ab12', deadlineMs: Date.UTC(2026, 0, 1, 0, 2, 0), heldBy: 'helper' as const };
    expect(confirmInstructions(t, 'nftsentry -c /x confirm', Date.UTC(2026, 0, 1, 0, 0, 0))).toMatchInlineSnapshot(`
      "applied table inet nftsentry; NOT confirmed yet (apply ab12)
      unless confirmed by 2026-01-01T00:02:00.000Z (in 2m), a detached helper puts the previous ruleset back (bans are kept).
      to keep it, run: nftsentry -c /x confirm"
    `);
    expect(confirmInstructions({ ...t, heldBy: 'daemon' }, 'c', t.deadlineMs)).toContain('(in 1s), the daemon puts');
  });
});

describe('sshClientPrefix', () => {
  it.each([
    ['198.18.1.2 51234 198.18.1.1 22', '198.18.1.2'],
    ['2001:db8:1::2 51234 2001:db8:1::1 22', '2001:db8:1::2'],
    ['::ffff:198.18.1.2 51234 ::ffff:198.18.1.1 22', '198.18.1.2'],
  ])('%s -> the client as a host prefix', (env, address) => {
    const p = sshClientPrefix(env)!;
    expect(p.network.text).toBe(address);
    expect(p.length).toBe(p.family === 4 ? 32 : 128);
  });

  it.each([undefined, '', 'garbage 1 2 3', '198.18.1.300 1 2 3'])('%s -> none', (env) => {
    expect(sshClientPrefix(env)).toBeNull();
  });
});

describe('nftsentry status', () => {
  it('says when an apply waits for confirmation, and until when', () => {
    const base = { version: '1', uptimeSec: 3, ruleset: null, bans: null, drops: null, sources: null };
    const pending = { id: 'ab12', deadline: '2026-01-01T00:02:00.000Z', remainingSec: 90 };
    expect(statusText({ ...base, pendingConfirm: pending })).toContain(
      'ruleset: apply ab12 NOT confirmed: rolled back at 2026-01-01T00:02:00.000Z (in 90s) unless `nftsentry confirm`',
    );
    expect(statusText({ ...base, pendingConfirm: null })).not.toContain('NOT confirmed');
  });
});
