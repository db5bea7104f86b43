/**
 * BanFlusher with recording lane transports (no nft): coalescing, order (unbans in their own
 * transaction, before bans), refresh vs add, a ban cancelled by an unban still pending, the store
 * following the kernel, a failing transport handing over to self-healing, and the lanes
 * (operator beside alerts, pipelining on alerts-overlap, one key never in flight twice).
 */
import { describe, it, expect } from 'vitest';
import { BanFlusher } from '../../src/engine/ban-flusher.ts';
import type { ApplyOutcome, LaneTransport } from '../../src/engine/lane-transport.ts';
import { NftLane, type LaneName } from '../../src/engine/nft-lane.ts';
import { StoreFollower } from '../../src/engine/store-follower.ts';
import type { ElementBatch } from '../../src/nft/elements.ts';
import { elementStatements } from '../../src/nft/elements.ts';
import { Store } from '../../src/store/store.ts';
import { NftsentryError, ErrorCodes } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { banWrite } from './helpers.ts';

/** Records every transaction of every lane, and what the other lanes had in flight when it started. */
class Recorder {
  readonly batches: string[][] = [];
  readonly starts: Array<{ lane: LaneName; first: string; otherInFlight: string[] }> = [];
  private readonly inFlight = new Map<LaneName, string[]>();
  fail: Error | null = null;
  /** Transactions started on a lane that already had one in flight (must stay 0). */
  sameLaneOverlaps = 0;
  /** Extra time per element (a large batch takes long, like nft -f). */
  perElementMs = 0;

  transport(lane: LaneName): LaneTransport {
    const apply = async (batch: ElementBatch): Promise<ApplyOutcome> => {
      const n = (batch.add?.length ?? 0) + (batch.refresh?.length ?? 0) + (batch.remove?.length ?? 0);
      const keys = [...(batch.remove ?? []), ...(batch.refresh ?? []), ...(batch.add ?? [])].map((c) => c.key);
      const others = [...this.inFlight].filter(([l]) => l !== lane).flatMap(([, k]) => k);
      if (this.inFlight.has(lane)) this.sameLaneOverlaps++;
      this.starts.push({ lane, first: keys[0]!, otherInFlight: others });
      this.inFlight.set(lane, keys);
      try {
        await new Promise((r) => setTimeout(r, 2 + n * this.perElementMs));
        if (this.fail) throw this.fail;
        this.batches.push(elementStatements(batch));
        return { transactions: 1, refused: [], durationMs: 2 };
      } finally {
        this.inFlight.delete(lane);
      }
    };
    return {
      apply,
      send: async (b) => void (await apply(b)),
      warm: async () => undefined,
      rehearse: async () => undefined,
      running: true,
      close: () => undefined,
    };
  }
}

function make(onNftError: (err: unknown) => void = () => undefined, pipeline = 1) {
  const backend = new Recorder();
  const store = new Store(':memory:');
  const lanes = {
    alerts: new NftLane('alerts', backend.transport('alerts')),
    overlap: pipeline > 1 ? new NftLane('alerts-overlap', backend.transport('alerts-overlap')) : null,
    operator: new NftLane('operator', backend.transport('operator')),
  };
  const flusher = new BanFlusher(lanes, new StoreFollower(store, silentLogger()), silentLogger(), {
    flushIntervalMs: 0,
    maxBatch: 1000,
    smallBatch: 512,
    burstBatch: 4096,
    burstWaitMs: 20,
    onNftError,
  });
  return { backend, store, flusher };
}

describe('BanFlusher', () => {
  it('decisions made while a transaction is in flight go into the next one; unbans first, in their own', async () => {
    const { backend, store, flusher } = make();
    flusher.queueBan({ set: 'ban4', key: '198.51.100.1', timeoutSec: 3600 }, false, banWrite('198.51.100.1'));
    await new Promise((r) => setImmediate(r)); // the first transaction is now in flight
    for (const ip of ['198.51.100.2', '198.51.100.3'])
      flusher.queueBan({ set: 'ban4', key: ip, timeoutSec: 3600 }, false, banWrite(ip));
    flusher.queueBan({ set: 'ban4', key: '198.51.100.4', timeoutSec: 60 }, true, banWrite('198.51.100.4'));
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
    expect(store.queries.listActive({ limit: 10, offset: 0 }).total).toBe(4);
    expect(flusher.stats.transactions).toBe(3);
  });

  it('an unban queued before its ban was sent cancels it; the same target twice is one element', async () => {
    const { backend, flusher } = make();
    flusher.queueBan({ set: 'ban4', key: '198.51.100.5', timeoutSec: 3600 }, false, banWrite('198.51.100.5'));
    flusher.queueBan({ set: 'ban4', key: '198.51.100.5', timeoutSec: 7200 }, true, banWrite('198.51.100.5'));
    flusher.queueBan({ set: 'ban4', key: '198.51.100.6', timeoutSec: 3600 }, false, banWrite('198.51.100.6'));
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
    flusher.queueBan({ set: 'ban4', key: '198.51.100.7', timeoutSec: 3600 }, false, banWrite('198.51.100.7'));
    await flusher.flushed();
    expect(errors).toHaveLength(1);
    expect(flusher.stats.failures).toBe(1);
    expect(store.queries.get('198.51.100.7')?.active).toBe(1);
  });

  it('an operator ban or removal goes through the operator lane at once, while an alerts transaction is in flight', async () => {
    const { backend, store, flusher } = make();
    backend.perElementMs = 0.05; // a batch of 1,000 takes ~50 ms
    const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    for (let i = 1; i <= 20_000; i++)
      flusher.queueBan({ set: 'ban4', key: ip(i), timeoutSec: 3600 }, false, banWrite(ip(i)));
    await new Promise((r) => setImmediate(r)); // the first alerts transaction is in flight
    await flusher.queueOperatorBan(
      { set: 'ban4', key: '198.51.100.20', timeoutSec: 600 },
      false,
      banWrite('198.51.100.20'),
    );
    // Its own transaction in the operator lane, started while the backlog's first was still in flight,
    // and the store has the row, while most of the backlog still waits.
    const manual = backend.starts.find((t) => t.first === '198.51.100.20')!;
    expect(manual.lane).toBe('operator');
    expect(manual.otherInFlight.length).toBeGreaterThan(0);
    expect(
      backend.batches.some(
        (b) => b.length === 1 && b[0] === 'add element inet nftsentry ban4 { 198.51.100.20 timeout 600s }',
      ),
    ).toBe(true);
    expect(store.queries.get('198.51.100.20')?.active).toBe(1);
    expect(flusher.pending).toBeGreaterThan(15_000);

    // A removal of a backlog element that was not sent yet cancels it and resolves at once too.
    await flusher.queueOperatorRemove({ set: 'ban4', key: ip(20_000) });
    expect(flusher.pending).toBeGreaterThan(10_000);
    // A manual ban cancelled by a removal before it was sent is answered with the removal.
    const cancelled = flusher.queueOperatorBan(
      { set: 'ban4', key: '198.51.100.21', timeoutSec: 600 },
      false,
      banWrite('198.51.100.21'),
    );
    const removed = flusher.queueOperatorRemove({ set: 'ban4', key: '198.51.100.21' });
    await Promise.all([cancelled, removed]);
    expect(flusher.pending).toBeGreaterThan(5_000);

    await flusher.flushed();
    const sent = backend.batches.flat().join('\n');
    expect(sent).not.toContain(`${ip(20_000)} timeout`);
    expect(sent).not.toContain('198.51.100.21 timeout');
    expect(store.queries.listActive({ limit: 1, offset: 0 }).total).toBe(20_000); // 19,999 from the backlog + the manual one
  });

  it('a manual removal of an element the backlog is sending waits for that transaction, then removes it', async () => {
    const { backend, flusher } = make();
    backend.perElementMs = 0.05;
    const ip = (i: number) => `10.9.${(i >> 8) & 255}.${i & 255}`;
    for (let i = 1; i <= 1000; i++)
      flusher.queueBan({ set: 'ban4', key: ip(i), timeoutSec: 3600 }, false, banWrite(ip(i)));
    await new Promise((r) => setImmediate(r)); // in flight, holding ip(500)
    await flusher.queueOperatorRemove({ set: 'ban4', key: ip(500) });
    const removal = backend.starts.find((t) => t.lane === 'operator')!;
    expect(removal.first).toBe(ip(500));
    expect(removal.otherInFlight).toEqual([]); // it did not run beside the transaction holding its key
    const flat = backend.batches.flat();
    expect(flat.findIndex((l) => l.startsWith('delete element inet nftsentry ban4 { 10.9.1.244 }'))).toBeGreaterThan(
      flat.findIndex((l) => l.includes('10.9.1.244 timeout')),
    );
  });

  it('deactivate: a burst row still queued or in flight never lands after an unban deactivated it (no resurrection at the next start)', async () => {
    const { backend, store, flusher } = make();
    backend.perElementMs = 0.05;
    // 600 pending > smallBatch: the store waits for the kernel to have the whole burst.
    const ip = (i: number) => `10.8.${(i >> 8) & 255}.${i & 255}`;
    for (let i = 1; i <= 600; i++)
      flusher.queueBan({ set: 'ban4', key: ip(i), timeoutSec: 3600 }, false, banWrite(ip(i)));
    while (backend.starts.length === 0) await new Promise((r) => setImmediate(r)); // in flight, holding ip(1)
    flusher.deactivate([ip(1)]);
    await flusher.flushed();
    expect(store.queries.get(ip(1))?.active).toBe(0); // its row was written, then deactivated again
    expect(store.queries.get(ip(2))?.active).toBe(1);

    // A row already queued (its transaction done, the store waiting for the rest of the burst) is
    // written at once, before the deactivation.
    const before = backend.starts.length;
    for (let i = 2001; i <= 3500; i++)
      flusher.queueBan({ set: 'ban4', key: ip(i), timeoutSec: 3600 }, false, banWrite(ip(i)));
    while (backend.starts.length < before + 2) await new Promise((r) => setImmediate(r)); // the second batch in flight
    const first = backend.starts[before]!.first;
    expect(store.queries.get(first)).toBeUndefined(); // sent, its row queued
    const recorded: string[] = [];
    const recordBans = store.recordBans.bind(store);
    store.recordBans = (rows) => {
      recorded.push(...rows.map((r) => r.target));
      recordBans(rows);
    };
    flusher.deactivate([first]);
    expect(recorded).toEqual([first]); // its row was written at once, before the deactivation
    await flusher.flushed();
    expect(store.queries.get(first)?.active).toBe(0);
  });

  it('a manual ban resolves even when its transaction fails (self-healing re-applies it)', async () => {
    const errors: unknown[] = [];
    const { backend, store, flusher } = make((err) => errors.push(err));
    backend.fail = new NftsentryError(ErrorCodes.NFT_NOT_FOUND, 'table gone');
    await flusher.queueOperatorBan(
      { set: 'ban4', key: '198.51.100.22', timeoutSec: 600 },
      false,
      banWrite('198.51.100.22'),
    );
    expect(errors).toHaveLength(1);
    expect(store.queries.get('198.51.100.22')?.active).toBe(1);
  });

  describe('pipelined (pipeline: 2)', () => {
    const ban = (f: BanFlusher, ip: string, refresh = false) =>
      f.queueBan({ set: 'ban4', key: ip, timeoutSec: 3600 }, refresh, banWrite(ip));

    it('a ban decided while one is in flight starts at once beside it, on the second co-process', async () => {
      const { backend, store, flusher } = make(undefined, 2);
      ban(flusher, '198.51.100.1');
      await new Promise((r) => setImmediate(r)); // the first transaction is in flight
      ban(flusher, '198.51.100.2');
      await new Promise((r) => setImmediate(r));
      expect(backend.starts.map((s) => [s.lane, s.first, s.otherInFlight])).toEqual([
        ['alerts', '198.51.100.1', []],
        ['alerts-overlap', '198.51.100.2', ['198.51.100.1']],
      ]);
      await flusher.flushed();
      expect(store.queries.listActive({ limit: 10, offset: 0 }).total).toBe(2);
    });

    it('at most two in flight: a third batch waits for a free co-process', async () => {
      const { backend, flusher } = make(undefined, 2);
      for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
        ban(flusher, ip);
        await new Promise((r) => setImmediate(r));
      }
      await flusher.flushed();
      const third = backend.starts[2]!;
      expect(backend.starts).toHaveLength(3);
      expect(third.otherInFlight.length).toBeLessThanOrEqual(1);
    });

    it('the same key never goes out twice at once: a refresh of an element in flight waits for it', async () => {
      const { backend, flusher } = make(undefined, 2);
      ban(flusher, '198.51.100.1');
      await new Promise((r) => setImmediate(r));
      ban(flusher, '198.51.100.1', true);
      await flusher.flushed();
      expect(backend.starts).toHaveLength(2);
      expect(backend.starts[1]!.otherInFlight).toEqual([]);
    });

    it('a batch waiting for a manual transaction keeps its co-process: the next batches take the other one, then wait', async () => {
      const { backend, flusher } = make(undefined, 2);
      backend.perElementMs = 5;
      const manual = flusher.queueOperatorBan(
        { set: 'ban4', key: '198.51.100.1', timeoutSec: 60 },
        false,
        banWrite('198.51.100.1'),
      );
      await Promise.resolve();
      ban(flusher, '198.51.100.1', true); // same key as the manual one in flight: waits for it
      await new Promise((r) => setImmediate(r));
      for (const ip of ['198.51.100.2', '198.51.100.3', '198.51.100.4']) {
        ban(flusher, ip);
        await new Promise((r) => setImmediate(r));
      }
      await manual;
      await flusher.flushed();
      expect(backend.sameLaneOverlaps).toBe(0);
      expect(backend.batches.flat().filter((s) => s.includes('198.51.100.1'))).toHaveLength(4); // the manual add, then the refresh (add, delete, add)
    });

    it('a removal waits until the backlog has nothing in flight, and flushed() waits for every transaction', async () => {
      const { backend, flusher } = make(undefined, 2);
      ban(flusher, '198.51.100.1');
      await new Promise((r) => setImmediate(r));
      ban(flusher, '198.51.100.2');
      await new Promise((r) => setImmediate(r));
      flusher.queueRemove({ set: 'ban4', key: '198.51.100.9' });
      await flusher.flushed();
      expect(backend.batches).toHaveLength(3);
      const removal = backend.starts.find((s) => s.first === '198.51.100.9')!;
      expect(removal.otherInFlight).toEqual([]);
    });

    it('an unban while its ban is in flight on the second co-process: the store ends inactive (no resurrection at restart)', async () => {
      const { store, flusher } = make(undefined, 2);
      ban(flusher, '198.51.100.1');
      await new Promise((r) => setImmediate(r));
      ban(flusher, '198.51.100.2');
      await new Promise((r) => setImmediate(r)); // both in flight
      flusher.deactivate(['198.51.100.2']);
      await flusher.flushed();
      expect(store.queries.get('198.51.100.1')?.active).toBe(1);
      expect(store.queries.get('198.51.100.2')?.active).toBe(0);
    });
  });
});
