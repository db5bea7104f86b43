/**
 * Help, completion and the man page come from the command table: `nftsentry help COMMAND` for
 * every command; the bash completion, run in a real bash, offers the commands, subcommands and
 * options the table has; the zsh completion is valid zsh naming every command; the man page
 * renders with man --warnings and lists every command.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS, DEFAULT_CONFIG } from '../../src/cli/main.ts';
import { bashCompletion, zshCompletion } from '../../src/cli/completion.ts';
import { manPage } from '../../src/cli/man-page.ts';
import { runCli } from '../helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'nspkg-help-'));
const bashFile = join(dir, 'nftsentry.bash');
writeFileSync(bashFile, bashCompletion(COMMANDS));

/** What bash completion offers for the command line `line` (the cursor at its end). */
async function complete(line: string): Promise<string[]> {
  const words = line.split(' ');
  const script = `source '${bashFile}'
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_nftsentry; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await execa('bash', ['--norc', '--noprofile', '-c', script], { reject: false, cwd: dir });
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean).sort();
}

describe('help', () => {
  it('`nftsentry help COMMAND` shows the usage, summary and options of each command; unknown: exit 2', async () => {
    for (const c of COMMANDS.filter((x) => ['allow', 'ban', 'check'].includes(x.name))) {
      const r = await runCli(['help', c.name]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe(`usage: ${c.usage}`);
      expect(r.stdout).toContain(c.summary);
      for (const o of Object.keys(c.options ?? {})) expect(r.stdout).toContain(`--${o}`);
      expect((await runCli([c.name, '--help'])).stdout).toBe(r.stdout);
    }
    expect((await runCli(['help', 'allow'])).stdout).toMatch(/^subcommands:\n {2}list .*\n {2}add .*\n {2}remove /m);
    const unknown = await runCli(['help', 'nosuch']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('unknown command "nosuch"');
  });
});

describe('bash completion', () => {
  it('offers every command, and help COMMAND', async () => {
    const names = COMMANDS.map((c) => c.name);
    expect(await complete('nftsentry ')).toEqual([...names, 'help'].sort());
    expect(await complete('nftsentry al')).toEqual(['allow']);
    expect(await complete('nftsentry -c /etc/x.yaml --json st')).toEqual(['status']);
    expect(await complete('nftsentry help ')).toEqual([...names].sort());
  });

  it('offers subcommands and each command its own options and the global ones', async () => {
    expect(await complete('nftsentry allow ')).toEqual(['add', 'list', 'remove']);
    expect(await complete('nftsentry allow add 192.0.2.1 --n')).toEqual(['--netns', '--note']);
    expect(await complete('nftsentry ban 192.0.2.1 --f')).toEqual(['--for']);
    expect(await complete('nftsentry run --d')).toEqual(['--dry-run']);
    expect(await complete('nftsentry --v')).toEqual(['--version']);
    // The value of an option is not a command word, and is not completed as one.
    expect(await complete('nftsentry ban --reason ')).toEqual([]);
  });

  it('completes file names for -c and for replay ALERT_FILE', async () => {
    writeFileSync(join(dir, 'eve-test.json'), '');
    expect(await complete('nftsentry -c eve-t')).toEqual(['eve-test.json']);
    expect(await complete('nftsentry replay eve-t')).toEqual(['eve-test.json']);
  });
});

describe('zsh completion and the man page', () => {
  it('the zsh completion is valid zsh and names every command, subcommand and option', async () => {
    const text = zshCompletion(COMMANDS);
    const file = join(dir, '_nftsentry');
    writeFileSync(file, text);
    const r = await execa('zsh', ['-n', file], { reject: false });
    expect({ code: r.exitCode, err: r.stderr }).toEqual({ code: 0, err: '' });
    expect(text.split('\n')[0]).toBe('#compdef nftsentry');
    for (const c of COMMANDS) {
      expect(text).toContain(`'${c.name}:`);
      expect(text).toContain(`(${c.name})`);
      for (const o of Object.keys(c.options ?? {})) expect(text).toContain(`--${o}[`);
      for (const s of c.subcommands ?? []) expect(text).toContain(`'${s.name}:`);
    }
  });

  it('the man page renders without warnings and lists every command', async () => {
    const file = join(dir, 'nftsentry.8');
    writeFileSync(file, manPage(COMMANDS, '1.2.3', '2026-12-03', DEFAULT_CONFIG));
    const r = await execa('man', ['--warnings', '-l', '-Tutf8', file], {
      reject: false,
      env: { MANWIDTH: '80', LC_ALL: 'C.UTF-8' },
    });
    expect(r.stderr).toBe('');
    const text = r.stdout.replace(/.\x08/g, '');
    expect(text).toContain('nftsentry 1.2.3');
    for (const c of COMMANDS) expect(text).toMatch(new RegExp(`^ {7}${c.name}\\b`, 'm'));
  });
});
