/**
 * The warm-up on the in-memory FakeNft: /readyz answers 503 with the reason until the warm-up is
 * done, 200 after; the warm-up sends real transactions through every lane (each adds elements and
 * deletes them again) and leaves no element in the sets, no row in the store, no ban in the
 * ledger and no count in the decision stats; a ban the operator holds on an address the warm-up
 * would use is not touched. The kernel test (warm-up-kernel.test.ts) proves the same on real nft.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { daemonTelemetry } from '../../src/api/daemon-api.ts';
import { buildApi } from '../../src/api/app.ts';
import { Histogram } from '../../src/api/histogram.ts';
import { Daemon } from '../../src/cli/commands/daemon.ts';
import { parseConfigText } from '../../src/config/config.ts';
import { silentLogger } from '../../src/log.ts';
import { parseIp, parsePrefix } from '../../src/net/ip.ts';
import { interfaceAddress } from '../../src/net/subnet.ts';
import { FakeNft } from '../../src/nft/fake.ts';
import { readSet } from '../../src/nft/state.ts';

const dir = mkdtempSync(join(tmpdir(), 'nftsentry-warm-'));
const daemons: Daemon[] = [];
let n = 0;
afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function make(nft: FakeNft, engine = ''): Daemon {
  const config = parseConfigText(`home_networks: [10.0.0.0/8]
store: { path: ${join(dir, `store-${++n}.db`)} }
engine: { heal_poll_ms: 60000, kernel_scan_poll_ms: 60000${engine} }
`);
  const d = new Daemon(config, {
    log: silentLogger(),
    nft,
    readOwnAddresses: async () => [interfaceAddress(parseIp('198.18.0.1')!, 24)],
  });
  daemons.push(d);
  return d;
}

const rows = (path: string): number => {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM bans').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe('warm-up', () => {
  it('/readyz is 503 with the reason until the warm-up is done, then 200', async () => {
    const d = make(new FakeNft());
    const app = buildApi(d.operations, {
      token: 'x'.repeat(43),
      telemetry: daemonTelemetry(d, { log: silentLogger(), sources: () => [] }, new Histogram()),
    });
    const readyz = async () => {
      const r = await app.inject({ method: 'GET', url: '/readyz' });
      return { status: r.statusCode, message: r.statusCode === 200 ? null : r.json().error.message };
    };
    expect(await readyz()).toEqual({ status: 503, message: 'not ready: the ruleset is not applied yet' });
    await d.start();
    expect(await readyz()).toEqual({ status: 503, message: 'not ready: the alert path is not warmed up yet' });
    let during: { status: number; message: string | null } | null = null;
    const warming = d.warmUp.run(d.config, d.allowlist.effective(), () => false);
    during = await readyz();
    await warming;
    expect(during).toEqual({ status: 503, message: 'not ready: warming up the alert path' });
    expect(await readyz()).toEqual({ status: 200, message: null });
    await app.close();
  });

  it('goes through every lane and leaves no element, row, ban or count behind', async () => {
    const nft = new FakeNft();
    const d = make(nft);
    await d.start();
    const before = nft.transactions.length;
    await d.warmUp.run(d.config, d.allowlist.effective(), () => false);
    expect(d.notReady()).toBeNull();
    const sent = nft.transactions.slice(before).flat();
    // Rehearsed: IPv4 and IPv6 documentation addresses (banned as /64s) added with a timeout, then deleted.
    expect(
      sent.some((s) => /^add element inet nftsentry ban4 \{ (192\.0\.2|198\.51\.100|203\.0\.113)\.\d+ timeout/.test(s)),
    ).toBe(true);
    expect(
      sent.some((s) => /^add element inet nftsentry ban6(net64)? \{ 2001:db8:ffff:[0-9a-f]+:: timeout/.test(s)),
    ).toBe(true);
    expect(sent.some((s) => s.startsWith('delete element inet nftsentry ban4'))).toBe(true);
    for (const set of ['ban4', 'ban6', 'ban6net64', 'bannet4', 'bannet6']) expect(await readSet(nft, set)).toEqual([]);
    expect(d.ledger.activeCount).toBe(0);
    expect(d.decisionStats().bansBySource).toEqual({});
    expect(rows(d.store.path)).toBe(0);
    // The daemon still bans for real afterwards.
    await d.operations.ban({ address: parsePrefix('198.51.100.7')!, durationSec: 3600, reason: 'test' });
    expect((await readSet(nft, 'ban4')).map((e) => e.key)).toEqual(['198.51.100.7']);
  });

  it('never uses an address the ledger holds a ban for', async () => {
    const nft = new FakeNft();
    const d = make(nft);
    await d.start();
    // The first IPv4 address the warm-up would pick.
    await d.operations.ban({ address: parsePrefix('192.0.2.0')!, durationSec: 3600, reason: 'test' });
    const before = nft.transactions.length;
    await d.warmUp.run(d.config, d.allowlist.effective(), () => false);
    const sent = nft.transactions.slice(before).flat();
    expect(sent.filter((s) => s.includes(' 192.0.2.0 ') || s.includes('{ 192.0.2.0 '))).toEqual([]);
    expect((await readSet(nft, 'ban4')).map((e) => e.key)).toEqual(['192.0.2.0']);
    expect(rows(d.store.path)).toBe(1);
  });

  it('asked to stop before it starts, sends nothing', async () => {
    const nft = new FakeNft();
    const d = make(nft);
    await d.start();
    const before = nft.transactions.length;
    await d.warmUp.run(d.config, d.allowlist.effective(), () => true);
    expect(nft.transactions.length).toBe(before);
  });

  it('in dry-run mode touches no nft at all', async () => {
    const nft = new FakeNft();
    const d = make(nft, ', dry_run: true');
    await d.start();
    const before = nft.transactions.length;
    await d.warmUp.run(d.config, d.allowlist.effective(), () => false);
    expect(nft.transactions.length).toBe(before);
    expect(d.notReady()).toBeNull();
  });
});
