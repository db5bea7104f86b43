/** The worker RPC: answers, errors that keep their stable code, unknown operations, timeouts. */
import { describe, it, expect } from 'vitest';
import { MessageChannel } from 'node:worker_threads';
import { answer, RpcClient, type RpcRequest } from '../../src/api/worker/rpc.ts';
import { NftsentryError, ErrorCodes } from '../../src/errors.ts';

function pair(handlers: Record<string, (...a: unknown[]) => unknown>, timeoutMs = 1000) {
  const { port1, port2 } = new MessageChannel();
  const client = new RpcClient(port1, timeoutMs);
  port1.on('message', (m) => client.settle(m));
  port2.on('message', (m: RpcRequest) => void answer(port2, m, handlers));
  return { client, close: () => (port1.close(), port2.close()) };
}

describe('worker RPC', () => {
  it('carries values both ways and NftsentryError codes back', async () => {
    const { client, close } = pair({
      add: (a, b) => Number(a) + Number(b),
      refuse: async () => {
        throw new NftsentryError(ErrorCodes.BAN_REFUSED, '198.18.1.1 may not be banned (own_address)', { details: { why: 'own_address' } });
      },
    });
    try {
      expect(await client.call('add', 2, 3)).toBe(5);
      const err = await client.call('refuse').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NftsentryError);
      expect(err).toMatchObject({ code: 'E_BAN_REFUSED', message: '198.18.1.1 may not be banned (own_address)', details: { why: 'own_address' } });
      await expect(client.call('nope')).rejects.toMatchObject({ code: 'E_INTERNAL' });
      await expect(client.call('__proto__')).rejects.toMatchObject({ code: 'E_INTERNAL' });
    } finally {
      close();
    }
  });

  it('times out when the main thread does not answer, and fails waiting calls on close', async () => {
    const { client, close } = pair({ slow: () => new Promise(() => undefined) }, 100);
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
