/**
 * policy.max_active_bans on the whole engine (Daemon on the in-memory FakeNft, a real store file,
 * no root): twice as many distinct sources as the cap, spread so that some aggregate and some
 * cannot; the cap holds in memory, store and the fake kernel; operator bans survive and are never
 * replaced; a protected address keeps its /24 from being aggregated; IPv6 /64s aggregate to their
 * /48; a restart with a lowered cap keeps the operator bans and the newest automatic ones; the
 * reconcile removes kernel elements beyond the cap instead of adopting them; the ban sets' size
 * refuses an element beyond it (the fake, like the kernel). test/engine/ban-cap-kernel.test.ts
 * has the real daemon and nft in a namespace.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { daemonTelemetry } from '../../src/api/daemon-api.ts';
import { Histogram } from '../../src/api/histogram.ts';
import { metricFamilies } from '../../src/api/metric-families.ts';
import { Daemon } from '../../src/cli/commands/daemon.ts';
import { type Config, parseConfigText } from '../../src/config/config.ts';
import { silentLogger } from '../../src/log.ts';
import { parseIp, parsePrefix } from '../../src/net/ip.ts';
import { interfaceAddress } from '../../src/net/subnet.ts';
import { FakeNft } from '../../src/nft/fake.ts';
import { readSet } from '../../src/nft/state.ts';
import { waitFor } from '../helpers.ts';
import { alert } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'nftsentry-cap-'));
const daemons: Daemon[] = [];
let now = Date.UTC(2026, 11, 1);
let nft = new FakeNft({ clock: () => now });

function cfg(store: string, cap: number, policy = ''): Readonly<Config> {
  return parseConfigText(`home_networks: [10.0.0.0/8]
allowlist: [198.18.200.7]
store: { path: ${join(dir, store)} }
engine: { heal_poll_ms: 60000, kernel_scan_poll_ms: 60000, rules_check_ms: 0 }
policy: { max_active_bans: ${cap}${policy} }
`);
}

async function daemon(config: Readonly<Config>): Promise<Daemon> {
  const d = new Daemon(config, {
    log: silentLogger(),
    nft,
    clock: () => now,
    readOwnAddresses: async () => [interfaceAddress(parseIp('10.0.0.1')!, 24)],
  });
  daemons.push(d);
  await d.start();
  await d.sync.reconciled;
  return d;
}

/** Bans from alerts, one source each, a millisecond apart (so "oldest" has a meaning). */
function alerts(d: Daemon, sources: readonly string[]) {
  return sources.map((ip) => d.enforcer.handleAlert(alert({ srcIp: ip }), ++now));
}

const keys = async (set: string) => (await readSet(nft, set)).map((e) => e.key).sort();
const kernelTotal = async () => {
  let n = 0;
  for (const s of ['ban4', 'ban6', 'ban6net64', 'bannet4', 'bannet6']) n += (await readSet(nft, s)).length;
  return n;
};
/** Active rows in the store, once the flusher and the store follower are done. */
async function storeActive(d: Daemon, expected: number): Promise<number> {
  await d.flushed();
  const sum = () => Object.values(d.countActiveBySource()).reduce((a, b) => a + b, 0);
  await waitFor(async () => (sum() === expected ? true : undefined), 5000, `${expected} active rows`).catch(
    () => undefined,
  );
  return sum();
}

afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop().catch(() => undefined);
  nft = new FakeNft({ clock: () => now });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('policy.max_active_bans', () => {
  it('2x the cap in distinct sources: aggregated where bans are inside, refused where not; memory = store = kernel <= cap; operator bans kept', async () => {
    const d = await daemon(cfg('spread.db', 100));
    for (let x = 0; x < 5; x++)
      await d.operations.ban({ address: parsePrefix(`198.18.${x}.5`)!, durationSec: null, reason: 'by hand' });
    // 95 automatic bans, one in each of 95 /24s: the cap (100) is reached.
    alerts(
      d,
      Array.from({ length: 95 }, (_, x) => `198.18.${x}.10`),
    );
    expect(d.ledger.activeCount).toBe(100);
    // 100 more sources: 95 inside a /24 that holds an automatic ban (aggregated), 5 in new /24s (refused).
    const more = alerts(
      d,
      Array.from({ length: 100 }, (_, x) => `198.18.${x}.20`),
    );
    expect(more.filter((m) => m.kind === 'ban' && m.replaces?.length === 1)).toHaveLength(95);
    expect(more.filter((m) => m.kind === 'skip' && m.why === 'ban_cap')).toHaveLength(5);
    expect(d.ledger.activeCount).toBe(100);
    await d.flushed();
    expect(await keys('ban4')).toEqual(['198.18.0.5', '198.18.1.5', '198.18.2.5', '198.18.3.5', '198.18.4.5']);
    expect(await keys('bannet4')).toHaveLength(95);
    expect(await keys('bannet4')).toContain('198.18.94.0/24 . 0-255');
    expect(await kernelTotal()).toBe(100);
    expect(await storeActive(d, 100)).toBe(100);
    expect(d.countActiveBySource()).toEqual({ manual: 5, suricata: 95 });
    // Alerts from inside an aggregate find it banned; nothing grows.
    expect(alerts(d, ['198.18.3.99'])[0]).toMatchObject({ kind: 'skip', why: 'already_banned' });
    const status = (await d.operations.status()) as { bans: { cap: unknown } };
    expect(status.bans.cap).toEqual({ maxActiveBans: 100, kernelSetSize: 1100, aggregated: 95, refused: 5 });
    const telemetry = daemonTelemetry(d, { log: silentLogger(), sources: () => [] }, new Histogram());
    const fams = metricFamilies(
      { telemetry, version: 't', startedMs: 0, requestCounts: new Map(), requestDurations: new Map() } as never,
      { bans: null, drops: null, meterFull: null, sources: null, ruleset: null },
      now,
    );
    expect(fams.find((f) => f.name === 'nftsentry_bans_capped_total')?.samples).toEqual([
      { labels: { action: 'aggregated' }, value: 95 },
      { labels: { action: 'refused' }, value: 5 },
    ]);
    expect(fams.find((f) => f.name === 'nftsentry_bans_max_active')?.samples).toEqual([{ value: 100 }]);
  });

  it('an aggregate lasts as long as the longest ban it replaces; operator bans beyond the cap up to the sets size', async () => {
    const d = await daemon(cfg('long.db', 100));
    await d.operations.ban({ address: parsePrefix('198.18.7.1')!, durationSec: 600, reason: 'by hand' });
    // An automatic ban of a day (a rule with ban: 1d), then 98 more of an hour elsewhere.
    const day = cfg('long.db', 100, ', rules: [ { name: day, match: { signature_prefix: ["ET SCAN"] }, ban: 1d } ]');
    await d.reload(day);
    alerts(d, ['198.18.9.1']);
    await d.reload(cfg('long.db', 100));
    alerts(
      d,
      Array.from({ length: 98 }, (_, i) => `198.19.${i}.1`),
    );
    expect(d.ledger.activeCount).toBe(100);
    const agg = alerts(d, ['198.18.9.2'])[0];
    expect(agg).toMatchObject({ kind: 'ban', target: { text: '198.18.9.0/24' }, replaces: ['198.18.9.1'] });
    expect(agg?.kind === 'ban' && agg.durationSec).toBeGreaterThan(86_000);
    // Not replaced: the operator's ban inside 198.18.7.0/24 is not an automatic member.
    expect(alerts(d, ['198.18.7.2'])[0]).toMatchObject({ kind: 'skip', why: 'ban_cap' });
    // An operator ban is taken at the cap.
    await d.operations.ban({ address: parsePrefix('198.19.200.1')!, durationSec: 600, reason: 'by hand' });
    expect(d.ledger.activeCount).toBe(101);
    await d.flushed();
    expect(await keys('ban4')).toEqual(expect.arrayContaining(['198.18.7.1', '198.19.200.1']));
    expect(await kernelTotal()).toBe(101);
  });

  it('never aggregates over a protected address; IPv6 /64s aggregate to their /48', async () => {
    const d = await daemon(cfg('protect.db', 100));
    alerts(d, ['198.18.200.10']);
    alerts(
      d,
      Array.from({ length: 98 }, (_, i) => `2001:db8:${i + 1}:1::1`),
    );
    alerts(d, ['2001:db8:abcd:1::1']);
    expect(d.ledger.activeCount).toBe(100);
    // 198.18.200.0/24 holds the allowlisted 198.18.200.7: refused, not aggregated.
    expect(alerts(d, ['198.18.200.11'])[0]).toMatchObject({ kind: 'skip', why: 'ban_cap' });
    // 2001:db8:abcd::/48 holds the /64 banned above: the /48 replaces it.
    expect(alerts(d, ['2001:db8:abcd:2::1'])[0]).toMatchObject({
      kind: 'ban',
      target: { text: '2001:db8:abcd::/48', set: 'bannet6' },
      replaces: ['2001:db8:abcd:1::/64'],
    });
    await d.flushed();
    expect(await keys('bannet6')).toEqual(['2001:db8:abcd::/48 . 0-255']);
    // ban6net64 holds a /64 as its network address.
    expect(await keys('ban6net64')).toHaveLength(98);
    expect(await keys('ban6net64')).not.toContain('2001:db8:abcd:1::');
    expect(await keys('ban4')).toEqual(['198.18.200.10']);
    expect(await kernelTotal()).toBe(100);
  });

  it('a restart with a lowered cap keeps every operator ban and the newest automatic ones, in memory, store and kernel', async () => {
    const first = await daemon(cfg('restart.db', 300));
    for (let i = 0; i < 10; i++)
      await first.operations.ban({ address: parsePrefix(`198.19.0.${i + 1}`)!, durationSec: null, reason: 'by hand' });
    const auto = Array.from({ length: 190 }, (_, i) => `198.18.${i}.1`);
    alerts(first, auto);
    expect(await storeActive(first, 200)).toBe(200);
    await first.stop();
    const d = await daemon(cfg('restart.db', 100));
    expect(d.ledger.activeCount).toBe(100);
    const kept = await keys('ban4');
    expect(kept).toHaveLength(100);
    expect(kept).toEqual(expect.arrayContaining(Array.from({ length: 10 }, (_, i) => `198.19.0.${i + 1}`)));
    // The oldest 100 automatic bans ended; the newest 90 stayed.
    expect(kept).toEqual(expect.arrayContaining(auto.slice(100)));
    expect(kept).not.toContain(auto[99]);
    expect(await storeActive(d, 100)).toBe(100);
    expect(d.countActiveBySource()).toEqual({ manual: 10, suricata: 90 });
  });

  it('a reload that lowers the cap ends the oldest automatic bans beyond it, never an operator ban', async () => {
    const d = await daemon(cfg('reload.db', 200));
    await d.operations.ban({ address: parsePrefix('198.19.0.1')!, durationSec: null, reason: 'by hand' });
    const auto = Array.from({ length: 150 }, (_, i) => `198.18.${i}.1`);
    alerts(d, auto);
    await d.operations.ban({ address: parsePrefix('198.19.0.2')!, durationSec: null, reason: 'by hand' });
    await d.reload(cfg('reload.db', 100));
    expect(d.ledger.activeCount).toBe(100);
    await d.flushed();
    const kept = await keys('ban4');
    expect(kept).toHaveLength(100);
    expect(kept).toEqual(expect.arrayContaining(['198.19.0.1', '198.19.0.2', ...auto.slice(52)]));
    expect(kept).not.toContain(auto[51]);
    expect(await storeActive(d, 100)).toBe(100);
  });

  it('kernel elements beyond the cap are removed, not adopted; the set size refuses an element beyond it', async () => {
    const d = await daemon(cfg('adopt.db', 100));
    alerts(
      d,
      Array.from({ length: 100 }, (_, i) => `198.18.${i}.1`),
    );
    await d.flushed();
    // Elements another process (or a crash) left: the reconcile finds them unknown.
    await nft.run(['add', 'element', 'inet', 'nftsentry', 'ban4', '{ 198.19.1.1, 198.19.1.2, 198.19.1.3 }']);
    const plan = await d.sync.reconcileBanSets();
    expect(plan.adopted).toBe(0);
    await d.flushed();
    expect(d.sync.stats.overCapRemoved).toBe(3);
    expect(await keys('ban4')).toHaveLength(100);
    expect(d.ledger.activeCount).toBe(100);
    // size = 100 + 1000: the 1101st element is refused by the set itself.
    const many = Array.from({ length: 1000 }, (_, i) => `198.19.${2 + (i >> 8)}.${i & 255}`);
    await nft.run(['add', 'element', 'inet', 'nftsentry', 'ban4', `{ ${many.join(', ')} }`]);
    await expect(nft.run(['add', 'element', 'inet', 'nftsentry', 'ban4', '{ 198.19.9.9 }'])).rejects.toThrow(
      /Too many open files in system/,
    );
  });
});
