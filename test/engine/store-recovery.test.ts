/**
 * A store that cannot be used at start (garbage bytes; a valid SQLite file with another schema),
 * with the engine in-process on the fake nft: the file is moved aside, a fresh store is created,
 * the bans the kernel holds are adopted and listed, status and the log say what happened, and
 * the next start is an ordinary one. test/engine/daemon-store.test.ts does it with the real daemon.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Daemon } from '../../src/cli/commands/daemon.ts';
import { parseConfigText } from '../../src/config/config.ts';
import type { StoreStatus } from '../../src/engine/ban-operations.ts';
import type { Logger } from '../../src/log.ts';
import { parseIp, parsePrefix } from '../../src/net/ip.ts';
import { interfaceAddress } from '../../src/net/subnet.ts';
import { FakeNft } from '../../src/nft/fake.ts';
import { readSet } from '../../src/nft/state.ts';
import { memoryLog } from './store-fault-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'nftsentry-store-recovery-'));
const daemons: Daemon[] = [];
let now = Date.UTC(2026, 11, 1, 8, 0, 0);
let nft = new FakeNft({ clock: () => now });

async function daemon(path: string, log: Logger): Promise<Daemon> {
  const config = parseConfigText(`home_networks: [10.0.0.0/8]
store: { path: ${path} }
engine: { heal_poll_ms: 60000, kernel_scan_poll_ms: 60000 }
`);
  const d = new Daemon(config, {
    log,
    nft,
    clock: () => now,
    readOwnAddresses: async () => [interfaceAddress(parseIp('198.18.0.1')!, 24)],
  });
  daemons.push(d);
  await d.start();
  await d.sync.reconciled;
  return d;
}

/** A first daemon leaves these bans in the (fake) kernel, then the store file is spoiled. */
const BANS = ['192.0.2.10', '198.51.100.0/24', '2001:db8:5::/64'];

async function kernelWithBans(path: string): Promise<void> {
  const d = await daemon(path, memoryLog().log);
  for (const b of BANS) await d.operations.ban({ address: parsePrefix(b)!, durationSec: 3600, reason: 'first run' });
  await d.stop();
  now += 60_000;
}

afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop().catch(() => undefined);
  nft = new FakeNft({ clock: () => now });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a store that cannot be used at start', () => {
  it.each([
    ['garbage bytes', 'SQLITE_NOTADB', (p: string) => writeFileSync(p, Buffer.alloc(64 * 1024, 0x37))],
    [
      'a valid SQLite file with another schema',
      'E_STORE_UNUSABLE',
      (p: string) => {
        const db = new DatabaseSync(p);
        db.exec("CREATE TABLE bans (id INTEGER PRIMARY KEY, ip TEXT); INSERT INTO bans (ip) VALUES ('192.0.2.10')");
        db.close();
      },
    ],
  ])('%s: moved aside, the kernel bans adopted and listed, the next start clean', async (what, code, spoil) => {
    const sub = join(dir, code);
    const path = join(sub, 'state.db');
    await kernelWithBans(path);
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
    spoil(path);
    const spoiled = readFileSync(path);

    const { log, lines } = memoryLog();
    const d = await daemon(path, log);
    const status = (await d.operations.status()).store as StoreStatus;
    const movedTo = `${path}.corrupt-${new Date(now)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z')}`;
    expect(status).toMatchObject({ degraded: false, recoveredFrom: { movedTo, code } });
    expect(readFileSync(movedTo)).toEqual(spoiled);
    const logged = lines.find((l) => l.movedTo === movedTo);
    expect(logged, what).toMatchObject({ level: 50, path, code });
    // Every ban the kernel holds is in the fresh store, listed as adopted.
    const listed = d.operations.listBans({ limit: 100, offset: 0 });
    expect(listed.items.map((b) => b.address).sort()).toEqual([...BANS].sort());
    expect(new Set(listed.items.map((b) => b.reason))).toEqual(new Set(['adopted from kernel']));
    expect((await readSet(nft, 'ban4')).map((e) => e.key)).toEqual(['192.0.2.10']);
    await d.stop();

    const again = memoryLog();
    const d2 = await daemon(path, again.log);
    expect(((await d2.operations.status()).store as StoreStatus).recoveredFrom).toBeNull();
    expect(again.lines.some((l) => l.level === 50)).toBe(false);
    expect(d2.operations.listBans({ limit: 100, offset: 0 }).total).toBe(BANS.length);
    expect(readdirSync(sub).filter((f) => f.includes('.corrupt-') && !/-(wal|shm)$/.test(f))).toEqual([
      movedTo.slice(sub.length + 1),
    ]);
    expect(existsSync(path)).toBe(true);
  });
});
