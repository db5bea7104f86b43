/** POST /v1/ruleset/apply and /v1/ruleset/confirm through fastify's `inject`: validation and what reaches the engine. */
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiConfigSchema } from '../../src/api/api-schema.ts';
import { buildApi } from '../../src/api/app.ts';
import { MemoryOperations } from './memory-operations.ts';

const TOKEN = 'test-token-0123456789abcdef';
let ops: MemoryOperations;
let app: FastifyInstance;

beforeEach(() => {
  ops = new MemoryOperations();
  app = buildApi(ops, { token: TOKEN, config: apiConfigSchema.parse({}) });
});
afterEach(() => app.close());

const post = (url: string, payload: unknown, token = TOKEN) =>
  app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}` }, payload: payload as object });

describe('/v1/ruleset', () => {
  it('apply takes a duration and the config path; answers the deadline', async () => {
    const r = await post('/v1/ruleset/apply', { confirm: '2m', configPath: '/etc/nftsentry/nftsentry.yaml' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ id: 'a1', heldBy: 'daemon', deadline: expect.any(String) });
    expect(ops.calls).toContainEqual({ op: 'applyConfirm', arg: '120 /etc/nftsentry/nftsentry.yaml' });
  });

  it.each([
    [{ configPath: '/x.yaml' }, 'E_DURATION_INVALID'],
    [{ confirm: 'soon', configPath: '/x.yaml' }, 'E_DURATION_INVALID'],
    [{ confirm: 'permanent', configPath: '/x.yaml' }, 'E_DURATION_INVALID'],
    [{ confirm: 60 }, 'E_BAD_REQUEST'],
    [{ confirm: 60, configPath: 'x'.repeat(5000) }, 'E_BAD_REQUEST'],
    [{ confirm: 60, configPath: '/x\u0000.yaml' }, 'E_BAD_REQUEST'],
    [[1], 'E_BAD_REQUEST'],
  ])('apply refuses %j (400 %s) and reaches nothing', async (body, code) => {
    const r = await post('/v1/ruleset/apply', body);
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe(code);
    expect(ops.calls.filter((c) => c.op === 'applyConfirm')).toEqual([]);
  });

  it('confirm answers what the engine says', async () => {
    const r = await post('/v1/ruleset/confirm', {});
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ confirmed: true, message: 'confirmed apply a1' });
  });

  it('both need the token', async () => {
    expect(
      (await post('/v1/ruleset/apply', { confirm: 60, configPath: '/x' }, 'wrong-token-0123456789ab')).statusCode,
    ).toBe(401);
    expect((await post('/v1/ruleset/confirm', {}, 'wrong-token-0123456789ab')).statusCode).toBe(401);
    expect(ops.calls).toEqual([]);
  });
});
