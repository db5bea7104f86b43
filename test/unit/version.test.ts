/** The version: package.json's, in one place (src/version.ts), and printed by `nftsentry --version`. */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VERSION } from '../../src/version.ts';
import { REPO, runCli } from '../helpers.ts';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };

describe('version', () => {
  it("is package.json's", () => {
    expect(VERSION).toBe(pkg.version);
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('nftsentry --version and -V print it and exit 0, before or after a command', async () => {
    for (const args of [['--version'], ['-V'], ['-c', '/nonexistent.yaml', '--version'], ['status', '--version']]) {
      const r = await runCli(args);
      expect({ args, ...r }).toEqual({ args, exitCode: 0, stdout: pkg.version, stderr: '' });
    }
  });

  it('is in the help', async () => {
    const r = await runCli(['--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('-V, --version');
  });
});
