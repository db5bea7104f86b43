/**
 * Addresses the API refuses, through `inject`: each bad address gets the same status and code from
 * every route that reads it (POST, GET and DELETE of /v1/bans; POST and both DELETEs of
 * /v1/allowlist), a /0 is "too wide" (never "IPv4-mapped"), and an allowlist entry wider than
 * api.allowlist_min_prefix needs "force": true.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApi } from '../../src/api/app.ts';
import { apiConfigSchema } from '../../src/api/api-schema.ts';
import { MemoryOperations } from './memory-operations.ts';

const TOKEN = 'test-token-0123456789abcdef';
const AUTH = { authorization: `Bearer ${TOKEN}` };

let ops: MemoryOperations;
let app: FastifyInstance;

function make(overrides: Record<string, unknown> = {}) {
  ops = new MemoryOperations();
  app = buildApi(ops, { token: TOKEN, config: apiConfigSchema.parse(overrides), clock: () => ops.nowMs });
}

beforeEach(() => make());
afterEach(() => app.close());

const get = (url: string) => app.inject({ method: 'GET', url, headers: AUTH });
const post = (url: string, payload: unknown) =>
  app.inject({ method: 'POST', url, headers: AUTH, payload: payload as object });
const del = (url: string) => app.inject({ method: 'DELETE', url, headers: AUTH });
const seg = encodeURIComponent;
const answer = (r: LightMyRequestResponse) => `${r.statusCode} ${r.json().error?.code ?? 'ok'}`;

describe('/v1/bans: the same bad address, the same answer from POST, GET and DELETE', () => {
  it.each([
    ['0.0.0.0/0', /0\.0\.0\.0\/0 is too wide: it is every IPv4 address/],
    ['::/0', /::\/0 is too wide: it is every IPv6 address/],
    ['10.0.0.0/7', /too wide: a ban prefix is at least \/8 for IPv4/],
    ['2000::/3', /too wide: a ban prefix is at least \/16 for IPv6/],
    ['127.0.0.1', /is loopback: it is never banned/],
    ['ff02::1', /is multicast/],
    ['::/96', /is unspecified/],
    ['::fffe:0:0/95', /wider than the special range ::ffff:0:0\/96/],
    ['::ffff:203.0.113.7', /IPv4-mapped IPv6; use the IPv4 address/],
    ['198.51.100.7/24', /host bits set; did you mean "198.51.100.0\/24"/],
    ['fe80::1%eth0', /zone ids are not accepted/],
    ['not-an-ip', /is not an IPv4 or IPv6 address or CIDR/],
  ])('%s: 400 E_ADDRESS_INVALID everywhere (%s)', async (address, message) => {
    const answers = [
      await post('/v1/bans', { address }),
      await get(`/v1/bans/${seg(address)}`),
      await del(`/v1/bans/${seg(address)}`),
    ];
    expect(answers.map(answer)).toEqual(Array(3).fill('400 E_ADDRESS_INVALID'));
    for (const r of answers) expect(r.json().error.message).toMatch(message);
    expect(ops.calls).toEqual([]);
  });

  it('::/0 is too wide, not IPv4-mapped', async () => {
    const r = await post('/v1/bans', { address: '::/0' });
    expect(r.json().error.message).toContain('too wide');
    expect(r.json().error.message).not.toContain('IPv4-mapped');
  });

  it('a good address that is not banned: 404 from GET and DELETE alike', async () => {
    expect(answer(await get('/v1/bans/198.51.100.0%2F24'))).toBe('404 E_NOT_FOUND');
    expect(answer(await del('/v1/bans/198.51.100.0%2F24'))).toBe('404 E_NOT_FOUND');
  });
});

describe('/v1/allowlist: the same bad address, the same answer from POST and both DELETEs', () => {
  it.each([
    ['0.0.0.0/0', /0\.0\.0\.0\/0 is too wide: it is every IPv4 address, never accepted as an allowlist entry/],
    ['::/0', /::\/0 is too wide: it is every IPv6 address/],
    ['::ffff:203.0.113.7', /IPv4-mapped IPv6/],
    ['198.51.100.7/24', /host bits set/],
    ['fe80::1%eth0', /zone ids/],
    ['not-an-ip', /not an IPv4 or IPv6 address/],
  ])('%s: 400 E_ADDRESS_INVALID everywhere, force or not', async (address, message) => {
    const answers = [
      await post('/v1/allowlist', { address }),
      await post('/v1/allowlist', { address, force: true }),
      await del(`/v1/allowlist/${seg(address)}`),
      await del(`/v1/allowlist?address=${seg(address)}`),
    ];
    expect(answers.map(answer)).toEqual(Array(4).fill('400 E_ADDRESS_INVALID'));
    for (const r of answers) expect(r.json().error.message).toMatch(message);
    expect(ops.calls).toEqual([]);
  });
});

describe('/v1/allowlist: entries wider than api.allowlist_min_prefix need "force": true', () => {
  it.each([
    ['10.0.0.0/7', '/8 for IPv4'],
    ['128.0.0.0/1', '/8 for IPv4'],
    ['2000::/15', '/16 for IPv6'],
    ['::/1', '/16 for IPv6'],
  ])('%s: 400 without force (saying what is wrong), 201 with it, removable', async (address, least) => {
    const refused = await post('/v1/allowlist', { address, note: 'wide' });
    expect(answer(refused)).toBe('400 E_ADDRESS_INVALID');
    expect(refused.json().error.message).toBe(
      `${address} is too wide for the allowlist: entries are at least ${least} (api.allowlist_min_prefix); send "force": true to add it anyway`,
    );
    expect(ops.calls).toEqual([]);
    const forced = await post('/v1/allowlist', { address, note: 'wide', force: true });
    expect(forced.statusCode).toBe(201);
    expect(forced.json().entry).toMatchObject({ prefix: address, origin: 'api' });
    // The width limit guards adding only: a forced entry is removed like any other.
    expect(answer(await del(`/v1/allowlist/${seg(address)}`))).toBe('200 ok');
  });

  it('the minimum itself is taken without force; the limit comes from the config', async () => {
    expect((await post('/v1/allowlist', { address: '10.0.0.0/8' })).statusCode).toBe(201);
    expect((await post('/v1/allowlist', { address: '2001::/16' })).statusCode).toBe(201);
    await app.close();
    make({ allowlist_min_prefix: { ipv4: 16 } });
    expect(answer(await post('/v1/allowlist', { address: '10.0.0.0/8' }))).toBe('400 E_ADDRESS_INVALID');
    expect((await post('/v1/allowlist', { address: '10.1.0.0/16' })).statusCode).toBe(201);
    expect((await post('/v1/allowlist', { address: '2001::/16' })).statusCode).toBe(201);
  });

  it.each([['yes'], [1], [null], [{}]])('"force": %j is 400 E_BAD_REQUEST', async (force) => {
    const r = await post('/v1/allowlist', { address: '10.0.0.0/7', force });
    expect(answer(r)).toBe('400 E_BAD_REQUEST');
    expect(r.json().error.message).toBe('force must be true or false');
  });

  it('"force": false is the same as no force', async () => {
    expect(answer(await post('/v1/allowlist', { address: '10.0.0.0/7', force: false }))).toBe('400 E_ADDRESS_INVALID');
  });

  it('the config refuses a minimum out of range', () => {
    expect(() => apiConfigSchema.parse({ allowlist_min_prefix: { ipv4: 0 } })).toThrow();
    expect(() => apiConfigSchema.parse({ allowlist_min_prefix: { ipv6: 129 } })).toThrow();
    expect(() => apiConfigSchema.parse({ allowlist_min_prefix: { ipv5: 8 } })).toThrow();
    expect(apiConfigSchema.parse({}).allowlist_min_prefix).toEqual({ ipv4: 8, ipv6: 16 });
  });
});
