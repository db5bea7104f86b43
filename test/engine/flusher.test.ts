/**
 * BanFlusher with a recording backend (no nft): coalescing, order (unbans in their own
 * transaction, before bans), refresh vs add, a ban cancelled by an unban still pending, the store
 * following the kernel, and a failing backend handing over to self-healing.
 */
import { describe, it, expect } from 'vitest';
import { BanFlusher } from '../../src/engine/ban-flusher.ts';
import type { BanBackend, ApplyOutcome } from '../../src/engine/ban-backend.ts';
import type { ElementBatch } from '../../src/nft/elements.ts';
import { elementStatements } from '../../src/nft/elements.ts';
import { Store, type BanWrite } from '../../src/store/store.ts';
import { NftsentryError, ErrorCodes } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';

class RecordingBackend implements BanBackend {
  readonly dryRun = false;
  readonly batches: string[][] = [];
  fail: Error | null = null;
  async apply(batch: ElementBatch): Promise<ApplyOutcome> {
    await new Promise((r) => setTimeout(r, 2));
    if (this.fail) throw this.fail;
    this.batches.push(elementStatements(batch));
    return { transactions: 1, refused: [], durationMs: 2 };
  }
  close(): void {}
}

const write = (target: string): BanWrite => ({
  target, family: 4, set: 'ban4', source: 'suricata', reason: 'r', sid: 1, signature: 's', nowMs: 1000, expiresMs: 3_601_000, durationSec: 3600, offences: 1,
});

function make(onNftError: (err: unknown) => void = () => undefined) {
  const backend = new RecordingBackend();
  const store = new Store(':memory:');
  const flusher = new BanFlusher(backend, store, silentLogger(), { flushIntervalMs: 0, maxBatch: 1000, smallBatch: 512, burstBatch: 4096, burstWaitMs: 20, onNftError });
  return { backend, store, flusher };
}

describe('BanFlusher', () => {
  it('decisions made while a transaction is in flight go into the next one; unbans first, in their own', async () => {
    const { backend, store, flusher } = make();
    flusher.queueBan({ set: 'ban4', key: '198.51.100.1', timeoutSec: 3600 }, false, write('198.51.100.1'));
    await new Promise((r) => setImmediate(r)); // the first transaction is now in flight
    for (const ip of ['198.51.100.2', '198.51.100.3']) flusher.queueBan({ set: 'ban4', key: ip, timeoutSec: 3600 }, false, write(ip));
    flusher.queueBan({ set: 'ban4', key: '198.51.100.4', timeoutSec: 60 }, true, write('198.51.100.4'));
    flusher.queueRemove({ set: 'ban4', key: '198.51.100.9' });
    await flusher.flushed();
    expect(backend.batches).toEqual([
      ['add element inet nftsentry ban4 { 198.51.100.1 timeout 3600s }'],
      ['add element inet nftsentry ban4 { 198.51.100.9 }', 'delete element inet nftsentry ban4 { 198.51.100.9 }'],
      [
        'add element inet nftsentry ban4 { 198.51.100.4 timeout 60s }',
        'delete element inet nftsentry ban4 { 198.51.100.4 }',
        'add element inet nftsentry ban4 { 198.51.100.4 timeout 60s }',
        'add element inet nftsentry ban4 { 198.51.100.2 timeout 3600s, 198.51.100.3 timeout 3600s }',
      ],
    ]);
    expect(store.listActive({ limit: 10, offset: 0 }).total).toBe(4);
    expect(flusher.stats.transactions).toBe(3);
  });

  it('an unban queued before its ban was sent cancels it; the same target twice is one element', async () => {
    const { backend, flusher } = make();
    flusher.queueBan({ set: 'ban4', key: '198.51.100.5', timeoutSec: 3600 }, false, write('198.51.100.5'));
    flusher.queueBan({ set: 'ban4', key: '198.51.100.5', timeoutSec: 7200 }, true, write('198.51.100.5'));
    flusher.queueBan({ set: 'ban4', key: '198.51.100.6', timeoutSec: 3600 }, false, write('198.51.100.6'));
    flusher.queueRemove({ set: 'ban4', key: '198.51.100.6' });
    // A scanners-set removal of the same address does not cancel a ban4 element.
    flusher.queueRemove({ set: 'scanners4', key: '198.51.100.5' });
    await flusher.flushed();
    expect(backend.batches.flat()).toEqual([
      'add element inet nftsentry ban4 { 198.51.100.6 }',
      'add element inet nftsentry scanners4 { 198.51.100.5 }',
      'delete element inet nftsentry ban4 { 198.51.100.6 }',
      'delete element inet nftsentry scanners4 { 198.51.100.5 }',
      // still a new element (not a refresh), with the latest timeout
      'add element inet nftsentry ban4 { 198.51.100.5 timeout 7200s }',
    ]);
  });

  it('a failing nft hands over to self-healing; the store still records the bans', async () => {
    const errors: unknown[] = [];
    const { backend, store, flusher } = make((err) => errors.push(err));
    backend.fail = new NftsentryError(ErrorCodes.NFT_NOT_FOUND, 'table gone');
    flusher.queueBan({ set: 'ban4', key: '198.51.100.7', timeoutSec: 3600 }, false, write('198.51.100.7'));
    await flusher.flushed();
    expect(errors).toHaveLength(1);
    expect(flusher.stats.failures).toBe(1);
    expect(store.get('198.51.100.7')?.active).toBe(1);
  });
});
