/**
 * Shared by the FakeNft tests: a fake on a clock the test moves, with the full ruleset applied;
 * element batches through a session; a set's elements as [key, timeout, expires]; an error's code
 * and message.
 */
import { join } from 'node:path';
import { FakeNft } from '../../src/nft/fake.ts';
import { applyRuleset } from '../../src/nft/apply.ts';
import { elementStatements, type ElementBatch } from '../../src/nft/elements.ts';
import { readSet } from '../../src/nft/state.ts';
import { loadConfig } from '../../src/config/config.ts';
import { isNftsentryError } from '../../src/errors.ts';
import { REPO } from '../helpers.ts';

export const FULL = loadConfig(join(REPO, 'test/fixtures/full.yaml'));

/** A fake on a clock the test moves, with the full ruleset applied. */
export async function setup(): Promise<{ nft: FakeNft; advance: (ms: number) => void }> {
  let now = 50_000;
  const nft = new FakeNft({ clock: () => now });
  await applyRuleset(FULL, { runner: nft });
  return { nft, advance: (ms) => (now += ms) };
}

export const send = (nft: FakeNft, batch: ElementBatch) => nft.openSession().run(elementStatements(batch));
export const entries = async (nft: FakeNft, set: string) =>
  (await readSet(nft, set)).map((e) => [e.key, e.timeoutSec, e.expiresSec]);
export async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string } | null> {
  try {
    await p;
    return null;
  } catch (err) {
    if (!isNftsentryError(err)) throw err;
    return { code: err.code, message: err.message };
  }
}
