import { describe, expect, it } from 'vitest';
import { lockoutWarnings } from '../../src/nft/apply.ts';
import { parseConfigText } from '../../src/config/config.ts';
import { runCli } from '../helpers.ts';

describe('lock-out warnings before apply', () => {
  const ssh = '198.51.100.7 52000 192.0.2.1 22';
  it('warns when the SSH client is not allowlisted; also when its port is not open to it', () => {
    expect(lockoutWarnings(parseConfigText('services: { tcp: [22] }'), ssh)).toEqual([
      expect.stringMatching(/^your SSH client 198\.51\.100\.7 is not in the allowlist/),
    ]);
    expect(lockoutWarnings(parseConfigText('services: { tcp: [80] }'), ssh)).toHaveLength(2);
    expect(
      lockoutWarnings(
        parseConfigText('services: { restricted: [{ proto: tcp, ports: [22], from: [198.51.100.0/24] }] }'),
        ssh,
      ),
    ).toHaveLength(1);
  });
  it('is quiet when the client is allowlisted, or when not over SSH', () => {
    expect(lockoutWarnings(parseConfigText('allowlist: [198.51.100.0/24]'), ssh)).toEqual([]);
    expect(lockoutWarnings(parseConfigText(''), undefined)).toEqual([]);
    expect(
      lockoutWarnings(parseConfigText('allowlist: [198.51.100.7]'), '::ffff:198.51.100.7 52000 ::ffff:192.0.2.1 22'),
    ).toEqual([]);
  });
});

describe('CLI usage', () => {
  it('an unknown command or option exits 2 with the usage', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
    const o = await runCli(['render', '--no-such-option']);
    expect(o.exitCode).toBe(2);
    expect(o.stderr).toContain('usage: nftsentry');
  });
  it('help lists the commands and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.exitCode).toBe(0);
    for (const c of ['render', 'check', 'apply', 'lab']) expect(r.stdout).toContain(`  ${c}`);
  });
});
