/**
 * The daemon's engine on the in-memory nft, without root: start applies the ruleset, bans and unbans reach
 * the sets through the `nft -i` sessions, and self-healing puts the rules and the bans back after
 * `flush table` and `flush ruleset`. What the engine's own tests can build on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeNft } from '../../src/nft/fake.ts';
import { Daemon } from '../../src/cli/commands/daemon.ts';
import { parseConfigText } from '../../src/config/config.ts';
import { silentLogger } from '../../src/log.ts';
import { parsePrefix } from '../../src/net/ip.ts';
import { readSet } from '../../src/nft/state.ts';
import { waitFor } from '../helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'nftsentry-fake-engine-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const P = (t: string) => parsePrefix(t)!;

describe('the daemon on FakeNft', () => {
  it('bans, heals after flush table and flush ruleset, unbans', async () => {
    const nft = new FakeNft();
    const config = parseConfigText(
      `home_networks: [10.0.0.0/8]\nstore: { path: ${dir}/state.db }\napi: { enabled: false }\nengine: { heal_poll_ms: 100, rules_check_ms: 100 }\n`,
    );
    const e = new Daemon(config, { log: silentLogger(), nft, readOwnAddresses: async () => [] });
    try {
      await e.start();
      await e.operations.ban({ address: P('198.51.100.7'), durationSec: 600, reason: 'manual' });
      await e.operations.ban({ address: P('198.51.0.0/16'), durationSec: 600, reason: 'manual' });
      expect((await readSet(nft, 'ban4')).map((x) => [x.key, x.timeoutSec])).toEqual([['198.51.100.7', 600]]);
      expect((await readSet(nft, 'bannet4')).map((x) => x.key)).toEqual(['198.51.0.0/16 . 0-255']);

      await nft.run(['flush', 'table', 'inet', 'nftsentry']);
      await waitFor(async () => (e.healer.stats.heals >= 1 ? true : undefined), 5000, 'a heal after flush table');
      expect(JSON.stringify(await nft.json(['list', 'chain', 'inet', 'nftsentry', 'prerouting']))).toContain('"@ban4"');

      await nft.run(['flush', 'ruleset']);
      await waitFor(async () => (e.healer.stats.heals >= 2 ? true : undefined), 5000, 'a heal after flush ruleset');
      expect((await readSet(nft, 'ban4')).map((x) => x.key)).toEqual(['198.51.100.7']);

      expect(await e.operations.unban(P('198.51.100.7'))).toBe(true);
      expect(await readSet(nft, 'ban4')).toEqual([]);
    } finally {
      await e.stop();
    }
  });
});
