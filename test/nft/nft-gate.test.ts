/**
 * NftGate, the daemon's door to nft: everything goes through until it closes; after closeReads
 * no read goes out but writes do; after close nothing does, and the sessions opened through it
 * are ended. The daemon stops through it: no nft call after stop.
 */
import { describe, expect, it } from 'vitest';
import { NftGate } from '../../src/nft/nft-gate.ts';
import { codeOf, entries, setup } from './fake-helpers.ts';

describe('NftGate', () => {
  it('closes reads first, then everything; sessions opened through it end with it', async () => {
    const { nft } = await setup();
    const gate = new NftGate(nft);
    const session = gate.openSession();
    await session.run(['add element inet nftsentry ban4 { 198.18.0.1 }']);
    expect(await entries(gate as unknown as typeof nft, 'ban4')).toHaveLength(1);
    gate.closeReads();
    expect(await codeOf(gate.json(['list', 'set', 'inet', 'nftsentry', 'ban4']))).toMatchObject({
      code: 'E_NFT_CLOSED',
    });
    await session.run(['add element inet nftsentry ban4 { 198.18.0.2 }']);
    await gate.runScript('add element inet nftsentry ban4 { 198.18.0.3 }\n');
    gate.close();
    expect(session.running).toBe(false);
    for (const call of [
      session.run(['add element inet nftsentry ban4 { 198.18.0.4 }']),
      gate.runScript('add element inet nftsentry ban4 { 198.18.0.5 }\n'),
      gate.run(['list', 'ruleset']),
      gate.openSession().run(['add element inet nftsentry ban4 { 198.18.0.6 }']),
    ]) {
      expect(await codeOf(call)).toMatchObject({ code: 'E_NFT_CLOSED' });
    }
    expect((await entries(nft, 'ban4')).map((e) => e[0])).toEqual(['198.18.0.1', '198.18.0.2', '198.18.0.3']);
    const before = nft.transactions.length;
    gate.useReadSession(true);
    expect(nft.transactions.length).toBe(before);
  });
});
