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
  /** Extra time per element (a large batch takes long, like nft -f). */
  perElementMs = 0;
  async apply(batch: ElementBatch): Promise<ApplyOutcome> {
    const n = (batch.add?.length ?? 0) + (batch.refresh?.length ?? 0) + (batch.remove?.length ?? 0);
    await new Promise((r) => setTimeout(r, 2 + n * this.perElementMs));
    if (this.fail) throw this.fail;
    this.batches.push(elementStatements(batch));
    return { transactions: 1, refused: [], durationMs: 2 };
  }
  async warm(): Promise<void> {}
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

  it('a manual ban or removal resolves with its own small transaction while a large backlog is still pending', async () => {
    const { backend, store, flusher } = make();
    backend.perElementMs = 0.05; // a batch of 1,000 takes ~50 ms
    const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    for (let i = 1; i <= 20_000; i++) flusher.queueBan({ set: 'ban4', key: ip(i), timeoutSec: 3600 }, false, write(ip(i)));
    await new Promise((r) => setImmediate(r)); // the first backlog transaction is in flight
    const started = performance.now();
    await flusher.queueManualBan({ set: 'ban4', key: '198.51.100.20', timeoutSec: 600 }, false, write('198.51.100.20'));
    const banMs = performance.now() - started;
    // Applied by nft in a transaction of its own, and the store has the row, while most of the backlog still waits.
    expect(backend.batches.some((b) => b.length === 1 && b[0] === 'add element inet nftsentry ban4 { 198.51.100.20 timeout 600s }')).toBe(true);
    expect(store.get('198.51.100.20')?.active).toBe(1);
    expect(flusher.pending).toBeGreaterThan(15_000);
    expect(banMs).toBeLessThan(500);

    // A removal of a backlog element that was not sent yet cancels it and resolves at once too.
    await flusher.queueManualRemove({ set: 'ban4', key: ip(20_000) });
    expect(flusher.pending).toBeGreaterThan(10_000);
    // A manual ban cancelled by a removal before it was sent is answered with the removal.
    const cancelled = flusher.queueManualBan({ set: 'ban4', key: '198.51.100.21', timeoutSec: 600 }, false, write('198.51.100.21'));
    const removed = flusher.queueManualRemove({ set: 'ban4', key: '198.51.100.21' });
    await Promise.all([cancelled, removed]);
    expect(flusher.pending).toBeGreaterThan(5_000);

    await flusher.flushed();
    const sent = backend.batches.flat().join('\n');
    expect(sent).not.toContain(`${ip(20_000)} timeout`);
    expect(sent).not.toContain('198.51.100.21 timeout');
    expect(store.listActive({ limit: 1, offset: 0 }).total).toBe(20_000); // 19,999 from the backlog + the manual one
  });

  it('a manual ban resolves even when its transaction fails (self-healing re-applies it)', async () => {
    const errors: unknown[] = [];
    const { backend, store, flusher } = make((err) => errors.push(err));
    backend.fail = new NftsentryError(ErrorCodes.NFT_NOT_FOUND, 'table gone');
    await flusher.queueManualBan({ set: 'ban4', key: '198.51.100.22', timeoutSec: 600 }, false, write('198.51.100.22'));
    expect(errors).toHaveLength(1);
    expect(store.get('198.51.100.22')?.active).toBe(1);
  });
});
