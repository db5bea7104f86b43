/**
 * The ledger's event feed on the in-memory FakeNft: a ban is told once the kernel has its element
 * (by alert and by hand, with its source, reason and absolute expiry), an unban once, an expiry
 * with its cause, allowlist changes, and a listener that throws stops neither the others nor the
 * ban.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { Daemon } from '../../src/cli/commands/daemon.ts';
import { parseConfigText } from '../../src/config/config.ts';
import type { BanEvent } from '../../src/engine/ban-events.ts';
import { silentLogger } from '../../src/log.ts';
import { parseIp, parsePrefix } from '../../src/net/ip.ts';
import { interfaceAddress } from '../../src/net/subnet.ts';
import { FakeNft } from '../../src/nft/fake.ts';
import { readSet } from '../../src/nft/state.ts';
import { alert } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'nftsentry-events-'));
let now = Date.UTC(2026, 11, 1);
const nft = new FakeNft({ clock: () => now });
const daemons: Daemon[] = [];
const P = (t: string) => parsePrefix(t)!;

afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop().catch(() => undefined);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('tells bans after the kernel has them, unbans, expiries and allowlist changes', async () => {
  const d = new Daemon(
    parseConfigText(`home_networks: [10.0.0.0/8]
services: { tcp: [80] }
store: { path: ${join(dir, 'events.db')} }
engine: { heal_poll_ms: 60000, kernel_scan_poll_ms: 60000 }
`),
    {
      log: silentLogger(),
      nft,
      clock: () => now,
      readOwnAddresses: async () => [interfaceAddress(parseIp('198.18.0.1')!, 24)],
    },
  );
  daemons.push(d);
  await d.start();
  const seen: BanEvent[] = [];
  d.ledger.events.subscribe(() => {
    throw new Error('a broken listener');
  });
  d.ledger.events.subscribe((e) => seen.push(e));

  d.enforcer.handleAlert(alert({ srcIp: '198.51.100.7' }), now);
  expect(seen).toEqual([]);
  await d.flushed();
  expect(seen).toEqual([
    expect.objectContaining({ type: 'ban', address: '198.51.100.7', source: 'suricata', offences: 1, atMs: now }),
  ]);
  const ban = seen[0] as Extract<BanEvent, { type: 'ban' }>;
  expect(ban.expiresMs).toBe(now + 3_600_000);
  expect((await readSet(nft, 'ban4')).map((e) => e.key)).toEqual(['198.51.100.7']);

  await d.operations.ban({ address: P('198.51.100.8'), durationSec: 60, reason: 'by hand' });
  expect(seen[1]).toMatchObject({ type: 'ban', address: '198.51.100.8', source: 'manual', reason: 'by hand' });

  expect(await d.operations.unban(P('198.51.100.7'))).toBe(true);
  expect(seen.filter((e) => e.type === 'unban')).toEqual([
    { type: 'unban', address: '198.51.100.7', cause: 'lifted', atMs: now },
  ]);

  now += 61_000;
  d.ledger.expire(now);
  expect(seen.at(-1)).toEqual({ type: 'unban', address: '198.51.100.8', cause: 'expired', atMs: now });

  await d.operations.addAllow(P('192.0.2.0/28'), 'lab');
  await d.operations.removeAllow(P('192.0.2.0/28'));
  expect(seen.slice(-2)).toEqual([
    { type: 'allow', address: '192.0.2.0/28', atMs: now },
    { type: 'unallow', address: '192.0.2.0/28', atMs: now },
  ]);
});
