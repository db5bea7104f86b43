/**
 * The daemon's engine in-process with real nft inside a lab namespace: the co-processes it
 * starts and stops, IPv6 /64 bans in the kernel's ban6net64 (and one an older version left in
 * bannet6 moved there), and kernel detections from a real trap-port touch. The engine logic
 * itself (operations, grace, allowlist, escalation, restore, dry-run) is tested on the fake nft
 * in daemon-logic.test.ts.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText, type Config } from '../../src/config/config.ts';
import { Daemon } from '../../src/cli/commands/daemon.ts';
import { createLabTopology, LAB_ADDR, type LabTopology } from '../../src/lab/topology.ts';
import { silentLogger } from '../../src/log.ts';
import { parsePrefix } from '../../src/net/ip.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { readSet } from '../../src/nft/state.ts';
import { pollUntil } from './daemon-harness.ts';

let lab: LabTopology;
let nft: NftRunner;
let dir: string;
const engines: Daemon[] = [];

function cfg(extra = ''): Readonly<Config> {
  return parseConfigText(`home_networks: [10.0.0.0/8]
allowlist: [192.0.2.0/28]
services: { tcp: [80] }
store: { path: ${dir}/state.db }
api: { unban_grace: 1h }
engine: { heal_poll_ms: 200, kernel_scan_poll_ms: 200 }
${extra}`);
}

async function engine(config = cfg()): Promise<Daemon> {
  const e = new Daemon(config, { log: silentLogger(), nft });
  engines.push(e);
  await e.start();
  return e;
}

const keys = async (set: string) => (await readSet(nft, set)).map((e) => e.key).sort();
const P = (t: string) => parsePrefix(t)!;

beforeAll(async () => {
  lab = await createLabTopology();
  nft = new NftRunner({ netns: lab.gw.name });
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-ops-'));
});

afterEach(async () => {
  // A failed test must not leave an engine healing the ruleset behind the next one.
  for (const e of engines.splice(0)) await e.stop().catch(() => undefined);
});

afterAll(async () => {
  await lab?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Engine as Operations', () => {
  it('start() has the nft -i co-process running before the first alert; stop() ends it', async () => {
    const e = await engine();
    expect(e.flusher.coprocessesRunning).toBe(true);
    await e.stop();
    expect(e.flusher.coprocessesRunning).toBe(false);
  });

  it('an IPv6 /64 ban: its network address in ban6net64, found by any address inside, unbanned; one left in bannet6 by an older version is moved', async () => {
    const e = await engine();
    await e.operations.ban({ address: P('2001:db8:64:1::/64'), durationSec: 600, reason: 'net64' });
    expect(await keys('ban6net64')).toEqual(['2001:db8:64:1::']);
    expect(await keys('bannet6')).toEqual([]);
    expect(e.operations.getBan(P('2001:db8:64:1:ffff::9'))).toMatchObject({
      address: '2001:db8:64:1::/64',
      reason: 'net64',
    });
    expect(await e.operations.unban(P('2001:db8:64:1::/64'))).toBe(true);
    expect(await keys('ban6net64')).toEqual([]);
    // Before ban6net64: a /64 the store knows (set_name bannet6) and one only the kernel holds,
    // both in the interval set.
    await e.operations.ban({ address: P('2001:db8:64:2::/64'), durationSec: 600, reason: 'old' });
    await e.stop();
    const db = new DatabaseSync(join(dir, 'state.db'));
    db.prepare("UPDATE bans SET set_name = 'bannet6' WHERE target = '2001:db8:64:2::/64'").run();
    db.close();
    await nft.runScript(
      [
        'delete element inet nftsentry ban6net64 { 2001:db8:64:2:: }',
        'add element inet nftsentry bannet6 { 2001:db8:64:2::/64 . 0-255 timeout 600s, 2001:db8:64:3::/64 . 0-255 timeout 500s }',
      ].join('\n'),
    );
    const e2 = await engine();
    await e2.sync.reconciled;
    expect(await keys('ban6net64')).toEqual(['2001:db8:64:2::', '2001:db8:64:3::']);
    expect(await keys('bannet6')).toEqual([]);
    expect(e2.operations.getBan(P('2001:db8:64:3::1'))).toMatchObject({
      address: '2001:db8:64:3::/64',
      reason: 'adopted from kernel',
    });
    expect(await e2.operations.unban(P('2001:db8:64:2::/64'))).toBe(true);
    expect(await e2.operations.unban(P('2001:db8:64:3::/64'))).toBe(true);
    expect(await keys('ban6net64')).toEqual([]);
    await e2.stop();
  });

  it("the lab interfaces' subnets, read with the real ip addr: their network and broadcast addresses are refused", async () => {
    const e = await engine();
    // eth-cli is 198.18.1.1/24 and 2001:db8:1::1/64, eth-scan 198.18.0.1/24 (src/lab/topology.ts).
    const refusal = (address: string) =>
      e.operations.ban({ address: P(address), durationSec: 60, reason: 'x' }).then(
        () => 'banned',
        (err: { code?: string; details?: { why?: string } }) => `${err.code} ${err.details?.why}`,
      );
    for (const edge of ['198.18.1.0', '198.18.1.255', '198.18.0.0', '198.18.0.255', '2001:db8:1::'])
      expect(await refusal(edge), edge).toBe('E_BAN_REFUSED own_subnet_edge');
    expect(await refusal(LAB_ADDR.gwClient4)).toBe('E_BAN_REFUSED own_address');
    expect(await refusal('198.18.1.77')).toBe('banned');
    const alertFrom = (ip: string) =>
      e.enforcer.handleAlert({
        ids: 'suricata',
        timeMs: 0,
        src: { ip, port: 40000 },
        dest: { ip: LAB_ADDR.gwScan4, port: 22 },
        proto: 'TCP',
        gid: 1,
        sid: 2001219,
        rev: 20,
        signature: 'ET SCAN Potential SSH Scan',
        category: '',
        severity: 2,
        action: 'allowed',
      });
    expect(alertFrom('198.18.0.255')).toMatchObject({ kind: 'skip', why: 'own_subnet_edge' });
    expect(await keys('ban4')).toEqual(['198.18.1.77']);
    expect(await e.operations.unban(P('198.18.1.77'))).toBe(true);
    await e.stop();
  });

  it('a real trap-port touch: the kernel catches it, the engine records it with its reason (kernel:scan)', async () => {
    const e = await engine(cfg('policy: { kernel_scan_ban: 2h }'));
    // One SYN from the scanner namespace to the gateway's trap port 23 (lab addresses only).
    await lab.scanner.exec('bash', ['-c', `timeout 0.3 bash -c 'echo > /dev/tcp/${LAB_ADDR.gwScan4}/23'`], {
      timeoutMs: 5000,
    });
    expect(await keys('scanners4')).toEqual([LAB_ADDR.scanner4]);
    const view = await pollUntil(
      'kernel scan recorded',
      () => e.operations.getBan(P(LAB_ADDR.scanner4)) ?? undefined,
      5000,
    );
    expect(view).toMatchObject({ source: 'kernel:scan', reason: 'trap_port', offences: 1 });
    expect(view.remainingSec).toBeGreaterThan(7190);
    expect(await keys('ban4')).toEqual([LAB_ADDR.scanner4]);
    // Unban lifts it from the kernel's scanners set too.
    expect(await e.operations.unban(P(LAB_ADDR.scanner4))).toBe(true);
    const left = await keys('scanners4');
    if (left.length)
      console.log(
        'DIAG scanners4 after unban',
        left,
        await nft.run(['list', 'set', 'inet', 'nftsentry', 'scanners4']).then((r) => r.stdout),
        (await nft.run(['list', 'counters'])).stdout.match(/drop_scan_trap[^}]*/)?.[0],
      );
    expect(left).toEqual([]);
    expect(await keys('ban4')).toEqual([]);
    await e.stop();
  });
});
