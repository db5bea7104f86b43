/**
 * `nftsentry run` in a namespace with its API on a unix socket and two named tokens, fed real ET
 * SCAN lines: an alert from an allowlisted address explains itself by the allowlist entry; two of
 * a threshold of three show 2/3 and the window (through the API and the `explain` command); the
 * third bans, and pings from the banned source (a second namespace over a veth pair) show as
 * hits on its element; a manual ban through the API is journalled with the token that did it and the
 * peer's uid; a read-only token may explain but not ban. Addresses: 198.18.0.0/15 only.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAddress, linkVeth, Netns } from '../../src/lab/netns.ts';
import { apiRequest, type Daemon, etScanFrom, pollUntil, sendLines, startDaemon } from './daemon-harness.ts';

let ns: Netns;
/** The scanner's namespace, joined to the daemon's by a veth pair (198.18.0.2 -> 198.18.0.1). */
let peer: Netns;
let dir: string;
let cfgPath: string;
let daemon: Daemon | null = null;
const OPS_TOKEN = 'ops-token-for-the-kernel-test-0001';
const VIEW_TOKEN = 'viewer-token-for-the-kernel-test-01';

const sock = () => join(dir, 'eve.sock');
const apiSock = () => join(dir, 'api.sock');
const adminToken = () => readFileSync(join(dir, 'api.token'), 'utf8').trim();

async function explain(address: string, token = adminToken()): Promise<any> {
  const r = await apiRequest(apiSock(), token, 'GET', `/v1/explain/${address}`);
  if (r.status !== 200) throw new Error(`explain ${address}: ${r.status} ${r.text}`);
  return JSON.parse(r.text);
}

beforeAll(async () => {
  ns = await Netns.create('explain');
  peer = await Netns.create('expeer');
  await linkVeth(ns, 'eth0', peer, 'eth0');
  await addAddress(ns, 'eth0', '198.18.0.1/24');
  await addAddress(peer, 'eth0', '198.18.0.2/24');
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-explain-'));
  chmodSync(dir, 0o700);
  for (const [name, text] of [
    ['ops.token', OPS_TOKEN],
    ['viewer.token', VIEW_TOKEN],
  ]) {
    writeFileSync(join(dir, name!), `${text}\n`, { mode: 0o600 });
  }
  cfgPath = join(dir, 'nftsentry.yaml');
  writeFileSync(
    cfgPath,
    `home_networks: [198.19.0.0/16]
allowlist: [198.18.7.0/24]
services: { tcp: [22] }
store: { path: ${join(dir, 'state.db')} }
sources: { inputs: [ { type: unix_stream, path: ${sock()} } ] }
api:
  socket: { path: ${apiSock()} }
  token_file: ${join(dir, 'api.token')}
  tokens:
    - { name: ops, token_file: ${join(dir, 'ops.token')}, role: read-write }
    - { name: viewer, token_file: ${join(dir, 'viewer.token')}, role: read-only }
engine: { heal_poll: 1s, kernel_scan_poll: 1s }
policy:
  rules:
    - { name: et-scan, match: { signature_prefix: [ET SCAN] }, threshold: { alerts: 3, window: 10m }, ban: 1h }
`,
  );
  daemon = startDaemon(ns, cfgPath);
  await daemon.waitForLog('nftsentry running');
  await daemon.waitForLog('kernel reconciled');
});

afterAll(async () => {
  if (daemon && !daemon.done) {
    process.kill(daemon.pid, 'SIGTERM');
    await daemon.exited;
  }
  await ns?.delete();
  await peer?.delete();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('explain against the real daemon', () => {
  it('an allowlisted alert names the entry; 2/3 below the threshold shows the count and window; the third bans', async () => {
    await sendLines(sock(), [etScanFrom('198.18.7.9')]);
    const allowed = await pollUntil('the allowlisted alert journalled', async () => {
      const x = await explain('198.18.7.9');
      return x.history.length > 0 ? x : undefined;
    });
    expect(allowed).toMatchObject({ banned: false, why: { code: 'allowlisted', detail: { entry: '198.18.7.0/24' } } });
    expect(allowed.history[0]).toMatchObject({
      kind: 'alert',
      code: 'allowlisted',
      detail: { entry: '198.18.7.0/24' },
    });

    const scanner = '198.18.0.2';
    await sendLines(sock(), [etScanFrom(scanner), etScanFrom(scanner)]);
    const below = await pollUntil('two alerts journalled', async () => {
      const x = await explain(scanner);
      return x.history.length >= 2 ? x : undefined;
    });
    expect(below).toMatchObject({
      banned: false,
      why: { code: 'below_threshold', detail: { rule: 'et-scan', alerts: 2, threshold: 3, windowSec: 600 } },
    });
    const cli = await execa(process.execPath, ['src/cli/main.ts', '-c', cfgPath, 'explain', scanner], {
      reject: false,
    });
    expect(cli.exitCode).toBe(0);
    expect(cli.stdout).toContain('below threshold: 2/3 alerts within 600s (rule et-scan)');
    const bad = await execa(process.execPath, ['src/cli/main.ts', '-c', cfgPath, 'explain', '198.18.0.300'], {
      reject: false,
    });
    expect(bad.exitCode).toBe(2);

    await sendLines(sock(), [etScanFrom(scanner)]);
    const banned = await pollUntil('the third alert bans', async () => {
      const x = await explain(scanner);
      return x.banned ? x : undefined;
    });
    expect(banned.why).toMatchObject({
      code: 'banned',
      detail: { source: 'suricata', reason: 'et-scan', offences: 1 },
    });
    expect(banned.packets).toBe(0);
    // Packets from the banned source: dropped in prerouting, counted on its element.
    const ping = (n: number) =>
      peer.exec('ping', ['-q', '-c', String(n), '-i', '0.2', '-W', '1', '198.18.0.1'], { timeoutMs: 10_000 });
    await ping(3);
    const hit = await pollUntil('3 packets counted', async () => {
      const x = await explain(scanner);
      return x.packets >= 3 ? x : undefined;
    });
    expect(hit.packets).toBe(3);
    expect(hit.bytes).toBe(3 * 84);
    await ping(2);
    expect((await explain(scanner)).packets).toBe(5);
    const one = await apiRequest(apiSock(), adminToken(), 'GET', `/v1/bans/${scanner}?hits=1`);
    expect(JSON.parse(one.text)).toMatchObject({ address: scanner, packets: 5, bytes: 5 * 84 });
    const bans = await execa(process.execPath, ['src/cli/main.ts', '-c', cfgPath, 'bans', scanner], { reject: false });
    expect(bans.stdout).toContain('dropped 5 packets, 420 bytes');
    // A refresh (a ban of an address already banned: a new timeout) keeps the hits: on this
    // kernel it is one re-add, which updates the timeout and keeps the element's counter.
    const rebanned = await apiRequest(apiSock(), adminToken(), 'POST', '/v1/bans', {
      address: scanner,
      duration: '2d',
      reason: 'refresh',
    });
    expect(rebanned.status).toBeLessThan(300);
    const refreshed = await explain(scanner);
    expect(refreshed.packets).toBe(5);
    expect(refreshed.bytes).toBe(5 * 84);
    const set = await ns.run('nft', ['list', 'set', 'inet', 'nftsentry', 'ban4']);
    expect(set).toMatch(new RegExp(`${scanner.replaceAll('.', '\\.')} counter packets 5 bytes 420 timeout 2d `));
    const json = await execa(process.execPath, ['src/cli/main.ts', '-c', cfgPath, '--json', 'explain', scanner], {
      reject: false,
    });
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ banned: true, why: { code: 'banned' } });
  });

  it('a manual ban through the API: the journal names the token and the peer; a read-only token may not ban', async () => {
    const refused = await apiRequest(apiSock(), VIEW_TOKEN, 'POST', '/v1/bans', { address: '198.18.9.9' });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.text).error.code).toBe('E_READ_ONLY_TOKEN');
    // From inside the daemon's namespace, as the CLI runs beside it: the peer's uid is found
    // through sock_diag, which sees the sockets of its own network namespace only.
    const status = await ns.run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--unix-socket',
      apiSock(),
      '-H',
      `Authorization: Bearer ${OPS_TOKEN}`,
      '-H',
      'content-type: application/json',
      '-d',
      JSON.stringify({ address: '198.18.9.9', reason: 'ticket 42' }),
      'http://nftsentry/v1/bans',
    ]);
    expect(status).toBe('201');
    const x = await explain('198.18.9.9', VIEW_TOKEN);
    expect(x.banned).toBe(true);
    const manual = x.history.find((h: { kind: string }) => h.kind === 'manual');
    expect(manual).toMatchObject({
      code: 'ban',
      actor: `ops@uid:${process.getuid!()}`,
      detail: { reason: 'ticket 42' },
    });
  });
});
