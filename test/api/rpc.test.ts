/**
 * The worker RPC: answers, errors that keep their stable code, unknown operations, timeouts; and
 * the daemon's table of calls (daemon-rpc.ts): one handler per op, addresses as text on the wire
 * and parsed again on the main side.
 */
import { describe, it, expect, expectTypeOf } from 'vitest';
import { MessageChannel } from 'node:worker_threads';
import { answer, RpcClient, type RpcHandlers, type RpcRequest, type RpcTable } from '../../src/api/worker/rpc.ts';
import { daemonHandlers, type DaemonOp, type DaemonRpc } from '../../src/api/worker/daemon-rpc.ts';
import { NftsentryError, ErrorCodes } from '../../src/errors.ts';
import type { IpPrefix } from '../../src/net/ip.ts';
import { MemoryOperations, memoryDaemon } from './memory-operations.ts';

function pair<Api extends RpcTable<Api>>(handlers: RpcHandlers<Api>, timeoutMs = 1000) {
  const { port1, port2 } = new MessageChannel();
  const client = new RpcClient<Api>(port1, timeoutMs);
  port1.on('message', (m) => client.settle(m));
  port2.on('message', (m: RpcRequest<Api>) => void answer(port2, m, handlers));
  const close = () => {
    port1.close();
    port2.close();
  };
  return { client, close };
}

interface TestRpc {
  add: (a: number, b: number) => number;
  refuse: () => never;
  slow: () => void;
}

describe('worker RPC', () => {
  it('carries values both ways and NftsentryError codes back', async () => {
    const { client, close } = pair<TestRpc>({
      add: (a, b) => a + b,
      refuse: async () => {
        throw new NftsentryError(ErrorCodes.BAN_REFUSED, '198.18.1.1 may not be banned (own_address)', {
          details: { why: 'own_address' },
        });
      },
      slow: () => undefined,
    });
    try {
      expect(await client.call('add', 2, 3)).toBe(5);
      const err = await client.call('refuse').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NftsentryError);
      expect(err).toMatchObject({
        code: 'E_BAN_REFUSED',
        message: '198.18.1.1 may not be banned (own_address)',
        details: { why: 'own_address' },
      });
      // Another thread may send any op name: those outside the table's own keys are refused.
      const untyped = client as unknown as RpcClient<{ nope: () => void; __proto__: () => void }>;
      await expect(untyped.call('nope')).rejects.toMatchObject({ code: 'E_INTERNAL' });
      await expect(untyped.call('__proto__')).rejects.toMatchObject({ code: 'E_INTERNAL' });
    } finally {
      close();
    }
  });

  it('times out when the main thread does not answer, and fails waiting calls on close', async () => {
    const { client, close } = pair<TestRpc>(
      { add: (a, b) => a + b, refuse: () => Promise.reject(new Error('no')), slow: () => new Promise(() => undefined) },
      100,
    );
    try {
      await expect(client.call('slow')).rejects.toThrow(/did not answer slow within 100 ms/);
      const waiting = client.call('slow');
      client.failAll();
      await expect(waiting).rejects.toThrow(/closing/);
    } finally {
      close();
    }
  });
});

describe("the daemon's calls", () => {
  /** Every op of DaemonRpc: the compiler refuses this object when one is missing or unknown. */
  const EVERY_OP = {
    listBans: true,
    getBan: true,
    ban: true,
    unban: true,
    listAllow: true,
    addAllow: true,
    removeAllow: true,
    status: true,
    applyConfirm: true,
    confirmApply: true,
    dropCounters: true,
    explain: true,
    audit: true,
    hitsOf: true,
    hits: true,
    actorFrom: true,
  } satisfies Record<DaemonOp, true>;

  it('are Operations with addresses as text, plus the drop counters (type level)', () => {
    expectTypeOf<DaemonOp>().toEqualTypeOf<keyof typeof EVERY_OP>();
    expectTypeOf<Parameters<DaemonRpc['getBan']>>().toEqualTypeOf<[address: string]>();
    expectTypeOf<Parameters<DaemonRpc['addAllow']>>().toEqualTypeOf<
      [prefix: string, note: string, actor?: { token: string; from: string; ref?: number | undefined } | undefined]
    >();
    expectTypeOf<Parameters<DaemonRpc['ban']>[0]>().toEqualTypeOf<{
      address: string;
      durationSec: number | null;
      reason: string;
      actor?: { token: string; from: string; ref?: number | undefined } | undefined;
    }>();
    expectTypeOf<Parameters<DaemonRpc['listBans']>[0]>().toEqualTypeOf<{
      source?: 'suricata' | 'snort' | 'kernel:scan' | 'manual' | `fleet:${string}` | 'fleet';
      reason?: string;
      search?: string;
      sort?: 'last_seen' | 'expires' | 'offences' | 'address';
      order?: 'asc' | 'desc';
      limit: number;
      offset: number;
    }>();
    const handlers = daemonHandlers(memoryDaemon(new MemoryOperations()));
    // @ts-expect-error a table without one of the ops is not a handler table
    const missing: RpcHandlers<DaemonRpc> = { ...handlers, status: undefined };
    // @ts-expect-error a handler that takes an IpPrefix where the wire has text does not fit
    const mistyped: RpcHandlers<DaemonRpc> = { ...handlers, getBan: (_address: IpPrefix) => null };
    void missing;
    void mistyped;
  });

  it('have one handler each (runtime)', () => {
    expect(Object.keys(daemonHandlers(memoryDaemon(new MemoryOperations()))).sort()).toEqual(
      Object.keys(EVERY_OP).sort(),
    );
  });

  it('cross the port with text addresses that the main side parses again', async () => {
    const ops = new MemoryOperations();
    ops.seed({ address: '203.0.113.7' });
    const counters = [{ name: 'drop_banned', comment: 'c', packets: 3, bytes: 180 }];
    const { client, close } = pair<DaemonRpc>(
      daemonHandlers(memoryDaemon(ops, { dropCounters: async () => counters })),
    );
    try {
      expect(await client.call('listBans', { limit: 10, offset: 0 })).toMatchObject({
        total: 1,
        items: [{ address: '203.0.113.7' }],
      });
      expect(await client.call('getBan', '203.0.113.7/32')).toMatchObject({ address: '203.0.113.7' });
      expect(await client.call('ban', { address: '198.51.100.4/32', durationSec: 60, reason: 'r' })).toMatchObject({
        address: '198.51.100.4',
        remainingSec: 60,
      });
      expect(await client.call('unban', '198.51.100.4/32')).toBe(true);
      expect(await client.call('addAllow', '192.0.2.0/24', 'lab')).toMatchObject({
        entry: { prefix: '192.0.2.0/24', note: 'lab' },
        liftedBans: 0,
      });
      expect(await client.call('listAllow')).toMatchObject([{ prefix: '192.0.2.0/24' }]);
      expect(await client.call('removeAllow', '192.0.2.0/24')).toBe(true);
      expect(await client.call('status')).toEqual({ mode: 'memory', bans: 1 });
      expect(await client.call('dropCounters')).toEqual(counters);
      expect(ops.calls.map((c) => c.op)).toEqual(['listBans', 'getBan', 'ban', 'unban', 'addAllow', 'removeAllow']);
      expect(ops.calls[1]).toEqual({ op: 'getBan', arg: '203.0.113.7/32' });
      await expect(client.call('getBan', '203.0.113.7; flush ruleset')).rejects.toMatchObject({
        code: 'E_ADDRESS_INVALID',
      });
      expect(ops.calls).toHaveLength(6);
    } finally {
      close();
    }
  });
});
