/**
 * The CLI client commands as real child processes against a real listening API (loopback TCP and
 * a unix socket, both started by startApi): tables, --json, exit codes 0/1/2/3.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApi, type ApiHandle } from '../../src/api/server.ts';
import { apiConfigSchema } from '../../src/api/api-schema.ts';
import { silentLogger } from '../../src/log.ts';
import { VERSION } from '../../src/version.ts';
import { runCli } from '../helpers.ts';
import { MemoryOperations } from './memory-operations.ts';

let dir: string;
let ops: MemoryOperations;
let tcp: ApiHandle;
let unix: ApiHandle;
let tcpConfig: string;
let unixConfig: string;
let socketPath: string;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-cli-'));
  ops = new MemoryOperations(Date.now());
  ops.seed({ address: '203.0.113.7', source: 'suricata', signature: 'ET SCAN Potential SSH Scan' });
  const tokenFile = join(dir, 'api.token');
  const port = await freePort();
  tcp = (await startApi(apiConfigSchema.parse({ port, token_file: tokenFile }), ops, { log: silentLogger() }))!;
  tcpConfig = join(dir, 'tcp.yaml');
  writeFileSync(tcpConfig, `api:\n  port: ${port}\n  token_file: ${tokenFile}\n`);
  socketPath = join(dir, 'api.sock');
  unix = (await startApi(apiConfigSchema.parse({ socket: { path: socketPath }, token_file: tokenFile }), ops, {
    log: silentLogger(),
  }))!;
  unixConfig = join(dir, 'unix.yaml');
  writeFileSync(unixConfig, `api:\n  socket:\n    path: ${socketPath}\n  token_file: ${tokenFile}\n`);
}, 30_000);

afterAll(async () => {
  await tcp?.close();
  await unix?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('startApi', () => {
  it('generated the token file with mode 0600 and made the socket 0660', () => {
    expect(statSync(join(dir, 'api.token')).mode & 0o777).toBe(0o600);
    expect(statSync(socketPath).isSocket()).toBe(true);
    expect(statSync(socketPath).mode & 0o777).toBe(0o660);
    expect(tcp.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('refuses a non-loopback address without allow_remote, even if the config check was bypassed', async () => {
    const config = { ...apiConfigSchema.parse({}), host: '198.18.0.1' };
    await expect(startApi(config, ops, { log: silentLogger() })).rejects.toThrow(/refusing to listen on 198\.18\.0\.1/);
  });

  it('refuses to replace a socket another process listens on', async () => {
    await expect(
      startApi(apiConfigSchema.parse({ socket: { path: socketPath }, token_file: join(dir, 'api.token') }), ops, {
        log: silentLogger(),
      }),
    ).rejects.toThrow(/another process listens/);
  });
});

describe('CLI client', () => {
  it('ban, bans (table and --json), unban over TCP', async () => {
    const ban = await runCli(['-c', tcpConfig, 'ban', '198.51.100.9', '--for', '2h', '--reason', 'cli test']);
    expect(ban).toMatchObject({ exitCode: 0, stdout: 'banned 198.51.100.9 for 2h0m (offence 1): cli test' });
    const table = await runCli(['-c', tcpConfig, 'bans']);
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(/^ADDRESS\s+SOURCE\s+REMAINING\s+OFFENCES\s+LAST SEEN \(UTC\)\s+REASON\n/);
    expect(table.stdout).toMatch(/203\.0\.113\.7\s+suricata\s+1h0m\s+1\s+.*ET SCAN Potential SSH Scan/);
    expect(table.stdout).toContain('1-2 of 2');
    const json = await runCli(['-c', tcpConfig, '--json', 'bans', '--source', 'manual']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      total: 1,
      items: [{ address: '198.51.100.9', reason: 'cli test' }],
    });
    const unban = await runCli(['-c', tcpConfig, 'unban', '198.51.100.9']);
    expect(unban).toMatchObject({
      exitCode: 0,
      stdout: 'unbanned 198.51.100.9 (alerts from it are not acted on for 10m)',
    });
  });

  it('unban --fleet asks the daemon for a fleet-wide unban (DELETE ?fleet=true)', async () => {
    await runCli(['-c', tcpConfig, 'ban', '198.51.100.10']);
    const unban = await runCli(['-c', tcpConfig, 'unban', '--fleet', '198.51.100.10']);
    expect(unban).toMatchObject({
      exitCode: 0,
      stdout: 'unbanned 198.51.100.10 on every gateway of the fleet (alerts from it are not acted on for 10m)',
    });
    expect(ops.calls.filter((c) => c.op === 'unban')).toContainEqual({ op: 'unban', arg: '198.51.100.10/32 fleet' });
  });

  it('exit 3 for unban or lookup of an address that is not banned; 2 for a bad address or usage', async () => {
    expect((await runCli(['-c', tcpConfig, 'unban', '192.0.2.55'])).exitCode).toBe(3);
    const look = await runCli(['-c', tcpConfig, 'bans', '192.0.2.55']);
    expect(look.exitCode).toBe(3);
    expect(look.stderr).toContain('E_NOT_FOUND, HTTP 404');
    const bad = await runCli(['-c', tcpConfig, 'ban', '1.2.3.4;drop']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('E_ADDRESS_INVALID');
    expect((await runCli(['-c', tcpConfig, 'ban'])).exitCode).toBe(2);
    expect((await runCli(['-c', tcpConfig, 'ban', '203.0.113.1', '--for', '-5'])).exitCode).toBe(2);
  });

  it('allow, allow --list, allow --remove and status over the unix socket', async () => {
    const add = await runCli(['-c', unixConfig, 'allow', '203.0.113.0/24', '--note', 'office']);
    expect(add).toMatchObject({ exitCode: 0, stdout: 'allowlisted 203.0.113.0/24; 1 ban(s) lifted' });
    const again = await runCli(['-c', unixConfig, 'allow', '203.0.113.0/24']);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain('E_CONFLICT, HTTP 409');
    expect((await runCli(['-c', unixConfig, 'allow', '--list'])).stdout).toMatch(
      /^PREFIX\s+ORIGIN\s+ADDED \(UTC\)\s+NOTE\n203\.0\.113\.0\/24\s+api\s+.*office$/,
    );
    expect((await runCli(['-c', unixConfig, 'allow', '--remove', '203.0.113.0/24'])).exitCode).toBe(0);
    const status = await runCli(['-c', unixConfig, 'status']);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toMatch(/^nftsentry \S+, up \d+ s\nbans: \d+/);
    expect(status.stdout.startsWith(`nftsentry ${VERSION}, `)).toBe(true);
    expect(JSON.parse((await runCli(['-c', unixConfig, '--json', 'status'])).stdout)).toMatchObject({
      version: VERSION,
      engine: { mode: 'memory' },
    });
  });

  it('allow list|add|remove do what the flags do; a stray or missing ADDRESS is a usage error', async () => {
    const add = await runCli(['-c', unixConfig, 'allow', 'add', '198.51.100.0/24', '--note', 'lab']);
    expect(add).toMatchObject({ exitCode: 0, stdout: 'allowlisted 198.51.100.0/24; 0 ban(s) lifted' });
    const list = await runCli(['-c', unixConfig, 'allow', 'list']);
    expect(list.stdout).toMatch(/^198\.51\.100\.0\/24\s+api\s+.*lab$/m);
    expect(list.stdout).toBe((await runCli(['-c', unixConfig, 'allow', '--list'])).stdout);
    expect(await runCli(['-c', unixConfig, 'allow', 'remove', '198.51.100.0/24'])).toMatchObject({
      exitCode: 0,
      stdout: 'removed 198.51.100.0/24 from the allowlist',
    });
    expect((await runCli(['-c', unixConfig, 'allow', 'list'])).stdout).not.toContain('198.51.100.0/24');
    for (const args of [['allow', 'list', '192.0.2.1'], ['allow', 'add'], ['allow', 'remove'], ['allow']]) {
      const r = await runCli(['-c', unixConfig, ...args]);
      expect({ args, code: r.exitCode }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain('usage: nftsentry');
    }
  });

  it('exit 1 with a clear message when the API is not running; 1 when the token is wrong', async () => {
    const cfg = join(dir, 'down.yaml');
    writeFileSync(cfg, `api:\n  port: ${await freePort()}\n  token_file: ${join(dir, 'api.token')}\n`);
    const down = await runCli(['-c', cfg, 'bans']);
    expect(down.exitCode).toBe(1);
    expect(down.stderr).toMatch(/cannot reach the nftsentry API at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    const other = join(dir, 'other.token');
    writeFileSync(other, 'some-other-token-0123456789\n', { mode: 0o600 });
    const wrong = join(dir, 'wrong.yaml');
    writeFileSync(wrong, `api:\n  socket:\n    path: ${socketPath}\n  token_file: ${other}\n`);
    const r = await runCli(['-c', wrong, 'bans']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('E_UNAUTHORIZED, HTTP 401');
  });

  it('exit 1 naming the fix when the token file is open to others (the rules of the daemon)', async () => {
    const open = join(dir, 'open.token');
    writeFileSync(open, 'some-other-token-0123456789\n', { mode: 0o644 });
    chmodSync(open, 0o644);
    const cfg = join(dir, 'open.yaml');
    writeFileSync(cfg, `api:\n  socket:\n    path: ${socketPath}\n  token_file: ${open}\n`);
    const r = await runCli(['-c', cfg, 'bans']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      `API token file ${open} has mode 0644; group and others must have no permission on it: chmod 600 ${open}`,
    );
  });

  it('allow refuses a prefix wider than the minimum (exit 2) unless --force', async () => {
    const wide = await runCli(['-c', unixConfig, 'allow', '10.0.0.0/7']);
    expect(wide.exitCode).toBe(2);
    expect(wide.stderr).toContain('send "force": true');
    expect(await runCli(['-c', unixConfig, 'allow', '10.0.0.0/7', '--force'])).toMatchObject({
      exitCode: 0,
      stdout: 'allowlisted 10.0.0.0/7; 0 ban(s) lifted',
    });
    expect((await runCli(['-c', unixConfig, 'allow', '--remove', '10.0.0.0/7'])).exitCode).toBe(0);
  });
});
