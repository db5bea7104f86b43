/**
 * Every route through fastify's `inject`, against the in-memory Operations: the answers (200,
 * 201, 400, 401, 403, 404, 409, 413, 415, 429), their stable codes, and what reached the engine.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../src/api/app.ts';
import { apiConfigSchema } from '../../src/api/api-schema.ts';
import { Histogram } from '../../src/api/histogram.ts';
import { MemoryOperations } from './memory-operations.ts';

const TOKEN = 'test-token-0123456789abcdef';
const AUTH = { authorization: `Bearer ${TOKEN}` };

let ops: MemoryOperations;
let app: FastifyInstance;
let nowMs: number;

function make(overrides: Record<string, unknown> = {}, telemetry = {}) {
  ops = new MemoryOperations();
  nowMs = ops.nowMs;
  app = buildApi(ops, {
    token: TOKEN,
    config: apiConfigSchema.parse(overrides),
    clock: () => nowMs,
    version: '9.9.9',
    telemetry,
  });
}

beforeEach(() => make());
afterEach(() => app.close());

const get = (url: string, headers: Record<string, string> = AUTH) => app.inject({ method: 'GET', url, headers });
const post = (url: string, payload: unknown, headers: Record<string, string> = AUTH) =>
  app.inject({ method: 'POST', url, headers, payload: payload as object });
const del = (url: string, headers: Record<string, string> = AUTH) => app.inject({ method: 'DELETE', url, headers });

describe('authentication', () => {
  it.each([
    ['GET', '/v1/bans'],
    ['GET', '/v1/bans/203.0.113.7'],
    ['POST', '/v1/bans'],
    ['DELETE', '/v1/bans/203.0.113.7'],
    ['GET', '/v1/allowlist'],
    ['POST', '/v1/allowlist'],
    ['DELETE', '/v1/allowlist/203.0.113.7'],
    ['GET', '/v1/status'],
  ])('%s %s without a token is 401 and reaches nothing', async (method, url) => {
    const r = await app.inject({
      method: method as 'GET',
      url,
      payload: method === 'POST' ? { address: '203.0.113.7' } : undefined,
    });
    expect(r.statusCode).toBe(401);
    expect(r.json()).toEqual({ error: { code: 'E_UNAUTHORIZED', message: expect.any(String) } });
    expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(ops.calls).toEqual([]);
  });

  it.each([
    ['a wrong token', `Bearer ${TOKEN}x`],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
    ['another scheme', `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`],
    ['no scheme', TOKEN],
    ['an empty bearer', 'Bearer '],
  ])('%s is 401', async (_what, header) => {
    expect((await get('/v1/bans', { authorization: header })).statusCode).toBe(401);
  });

  it.each([
    '/%76%31/bans',
    '/v1/%62ans',
    '/%76%31/status',
    '/v1/bans%2F203.0.113.7',
    '/./v1/bans',
    '/v1//bans',
    '/v1/bans;x',
  ])('a percent-encoded or odd spelling of a /v1 route (%s) still needs the token', async (url) => {
    ops.seed({ address: '203.0.113.7' });
    const r = await get(url, {});
    expect([401, 404]).toContain(r.statusCode);
    expect(r.body).not.toContain('ET SCAN');
    expect(ops.calls).toEqual([]);
  });

  it('accepts the token with any case of "Bearer"', async () => {
    expect((await get('/v1/bans', { authorization: `bearer ${TOKEN}` })).statusCode).toBe(200);
  });

  it("locks a client's failing attempts out with 429 after repeated failures, until the lockout ends", async () => {
    make({ auth_failures: 3, auth_window: 60, auth_lockout: 120 });
    const wrong = { authorization: 'Bearer wrong-wrong-wrong-wrong' };
    for (let i = 0; i < 3; i++) expect((await get('/v1/bans', wrong)).statusCode).toBe(401);
    const locked = await get('/v1/bans', wrong);
    expect(locked.statusCode).toBe(429);
    expect(locked.json().error.code).toBe('E_RATE_LIMITED');
    expect(locked.headers['retry-after']).toBe('120');
    expect((await get('/v1/bans', {})).statusCode).toBe(429);
    nowMs += 121_000;
    expect((await get('/v1/bans', wrong)).statusCode).toBe(401);
  });

  it('health, readiness and metrics need no token', async () => {
    expect((await get('/healthz', {})).json()).toEqual({ status: 'ok' });
    expect((await get('/readyz', {})).statusCode).toBe(200);
    expect((await get('/metrics', {})).statusCode).toBe(200);
  });
});

describe('GET /v1/bans', () => {
  beforeEach(() => {
    ops.seed({ address: '203.0.113.7', source: 'suricata', reason: 'ET SCAN' });
    ops.seed({ address: '198.51.100.0/24', source: 'kernel:scan', reason: 'fast_scan' });
    ops.seed({ address: '2001:db8:5::/64', source: 'snort', reason: 'ET SCAN' });
  });

  it('lists with total, limit, offset and ISO times', async () => {
    const r = await get('/v1/bans');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({ total: 3, limit: 100, offset: 0 });
    expect(body.items[0]).toMatchObject({
      address: '203.0.113.7',
      source: 'suricata',
      remainingSec: 3600,
      offences: 1,
      expires: '2026-11-21T13:00:00.000Z',
    });
  });

  it('filters by source and reason and pages', async () => {
    expect((await get('/v1/bans?source=kernel:scan')).json().items.map((b: { address: string }) => b.address)).toEqual([
      '198.51.100.0/24',
    ]);
    expect((await get('/v1/bans?reason=ET%20SCAN')).json().total).toBe(2);
    expect((await get('/v1/bans?source=fleet')).json().total).toBe(0);
    expect((await get('/v1/bans?source=fleetx')).statusCode).toBe(400);
    const page = (await get('/v1/bans?limit=1&offset=1')).json();
    expect(page).toMatchObject({ total: 3, limit: 1, offset: 1 });
    expect(page.items).toHaveLength(1);
    expect(ops.calls.at(-1)).toEqual({
      op: 'listBans',
      arg: { source: undefined, reason: undefined, limit: 1, offset: 1 },
    });
  });

  it.each([
    ['source=nobody', 'source'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=-1', 'limit'],
    ['offset=1.5', 'offset'],
    ['reason=%7D%3B', 'reason'],
  ])('refuses ?%s with 400', async (qs, key) => {
    const r = await get(`/v1/bans?${qs}`);
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatchObject({ code: 'E_BAD_REQUEST', message: expect.stringContaining(key) });
  });
});

describe('GET /v1/bans/:address', () => {
  beforeEach(() => {
    ops.seed({ address: '203.0.113.7' });
    ops.seed({ address: '198.51.100.0/24' });
    ops.seed({ address: '2001:db8:5::/64' });
  });

  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['203.0.113.7%2F32', '203.0.113.7'],
    ['198.51.100.0%2F24', '198.51.100.0/24'],
    ['198.51.100.0/24', '198.51.100.0/24'],
    ['2001:DB8:5:0::%2F64', '2001:db8:5::/64'],
  ])('finds %s (canonicalised)', async (path, address) => {
    const r = await get(`/v1/bans/${path}`);
    expect(r.statusCode).toBe(200);
    expect(r.json().address).toBe(address);
  });

  it('is 404 with E_NOT_FOUND for an address that is not banned', async () => {
    const r = await get('/v1/bans/192.0.2.1');
    expect(r.statusCode).toBe(404);
    expect(r.json().error.code).toBe('E_NOT_FOUND');
  });

  it('is 400 for host bits set, with the suggestion', async () => {
    const r = await get('/v1/bans/198.51.100.7%2F24');
    expect(r.statusCode).toBe(400);
    expect(r.json().error.message).toContain('did you mean "198.51.100.0/24"');
  });
});

describe('POST /v1/bans', () => {
  it('bans with a duration string: 201, canonical address, seconds reach the engine', async () => {
    const r = await post('/v1/bans', { address: '2001:DB8::0:7', duration: '1h30m', reason: 'manual test' });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({
      address: '2001:db8::7',
      remainingSec: 5400,
      reason: 'manual test',
      source: 'manual',
    });
    expect(ops.calls.at(-1)).toEqual({
      op: 'ban',
      arg: { address: '2001:db8::7/128', durationSec: 5400, reason: 'manual test' },
    });
  });

  it('takes seconds as a number, the default duration when none is given, and "permanent"', async () => {
    expect((await post('/v1/bans', { address: '203.0.113.8', duration: 90 })).json().remainingSec).toBe(90);
    expect((await post('/v1/bans', { address: '203.0.113.9' })).json().remainingSec).toBe(3600);
    expect((await post('/v1/bans', { address: '203.0.113.10', duration: 'permanent' })).json()).toMatchObject({
      expires: null,
      remainingSec: null,
    });
  });

  it('a "__proto__" key in the body is a plain key: it cannot supply the address', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/bans',
      headers: { ...AUTH, 'content-type': 'application/json' },
      payload: '{"__proto__":{"address":"203.0.113.8"}}',
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('E_ADDRESS_INVALID');
  });

  it('a repeated ban answers 200 (refreshed), not 201', async () => {
    expect((await post('/v1/bans', { address: '203.0.113.8' })).statusCode).toBe(201);
    const again = await post('/v1/bans', { address: '203.0.113.8', duration: '2h' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ offences: 2, remainingSec: 7200 });
  });

  it('is 409 E_BAN_REFUSED for an allowlisted address', async () => {
    await post('/v1/allowlist', { address: '203.0.113.0/24' });
    const r = await post('/v1/bans', { address: '203.0.113.8' });
    expect(r.statusCode).toBe(409);
    expect(r.json().error.code).toBe('E_BAN_REFUSED');
  });

  it.each([
    [{ address: '127.0.0.1' }, 'E_ADDRESS_INVALID'],
    [{ address: 'ff02::1' }, 'E_ADDRESS_INVALID'],
    [{ address: '0.0.0.0/0' }, 'E_ADDRESS_INVALID'],
    [{ address: '10.0.0.0/7' }, 'E_ADDRESS_INVALID'],
    [{ address: '2000::/3' }, 'E_ADDRESS_INVALID'],
    [{ address: 7 }, 'E_ADDRESS_INVALID'],
    [{}, 'E_ADDRESS_INVALID'],
    [{ address: '203.0.113.8', duration: 0 }, 'E_DURATION_INVALID'],
    [{ address: '203.0.113.8', duration: 1.5 }, 'E_DURATION_INVALID'],
    [{ address: '203.0.113.8', duration: '1 h' }, 'E_DURATION_INVALID'],
    [{ address: '203.0.113.8', duration: true }, 'E_DURATION_INVALID'],
    [{ address: '203.0.113.8', reason: 42 }, 'E_BAD_REQUEST'],
    [{ address: '203.0.113.8', reason: 'a"b' }, 'E_BAD_REQUEST'],
  ])('refuses %j with 400 %s', async (body, code) => {
    const r = await post('/v1/bans', body);
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe(code);
    expect(ops.calls.filter((c) => c.op === 'ban')).toEqual([]);
  });

  it('refuses a body that is not a JSON object with 400, not JSON with 400, too large with 413, not JSON typed with 415', async () => {
    expect((await post('/v1/bans', ['203.0.113.8'])).statusCode).toBe(400);
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/bans',
      headers: { ...AUTH, 'content-type': 'application/json' },
      payload: '{"address":',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('E_BAD_REQUEST');
    const big = await post('/v1/bans', { address: '203.0.113.8', reason: 'x'.repeat(20_000) });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('E_BODY_TOO_LARGE');
    const text = await app.inject({
      method: 'POST',
      url: '/v1/bans',
      headers: { ...AUTH, 'content-type': 'text/plain' },
      payload: 'address=203.0.113.8',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json().error.code).toBe('E_UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('DELETE /v1/bans/:address', () => {
  it('unbans an address and a URL-encoded prefix, answering the grace period', async () => {
    ops.seed({ address: '203.0.113.7' });
    ops.seed({ address: '198.51.100.0/24' });
    const r = await del('/v1/bans/203.0.113.7');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ address: '203.0.113.7', unbanned: true, graceSec: 600 });
    expect((await del('/v1/bans/198.51.100.0%2F24')).statusCode).toBe(200);
    expect(ops.bans.size).toBe(0);
  });

  it('is 404 when there was no such ban, 400 for garbage', async () => {
    expect((await del('/v1/bans/203.0.113.7')).json().error.code).toBe('E_NOT_FOUND');
    expect((await del('/v1/bans/203.0.113.7')).statusCode).toBe(404);
    expect((await del('/v1/bans/not-an-ip')).statusCode).toBe(400);
  });
});

describe('/v1/allowlist', () => {
  it('adds (201, lifts covered bans), lists, refuses a duplicate with 409, removes, and 404s a missing one', async () => {
    ops.seed({ address: '203.0.113.7' });
    ops.seed({ address: '203.0.113.9' });
    const add = await post('/v1/allowlist', { address: '203.0.113.0/24', note: 'office' });
    expect(add.statusCode).toBe(201);
    expect(add.json()).toMatchObject({
      entry: { prefix: '203.0.113.0/24', origin: 'api', note: 'office' },
      liftedBans: 2,
    });
    expect((await get('/v1/allowlist')).json()).toMatchObject({ total: 1, items: [{ prefix: '203.0.113.0/24' }] });
    const dup = await post('/v1/allowlist', { address: '203.0.113.0/24' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('E_CONFLICT');
    expect((await del('/v1/allowlist/203.0.113.0%2F24')).json()).toEqual({ prefix: '203.0.113.0/24', removed: true });
    expect((await del('/v1/allowlist?address=203.0.113.0/24')).statusCode).toBe(404);
  });

  it('is 403 E_FORBIDDEN for removing a config entry', async () => {
    ops.allow.push({ prefix: '192.0.2.0/24', origin: 'config', note: '', addedMs: 0 });
    const r = await del('/v1/allowlist/192.0.2.0%2F24');
    expect(r.statusCode).toBe(403);
    expect(r.json().error.code).toBe('E_FORBIDDEN');
  });

  it('refuses bad prefixes and notes with 400', async () => {
    expect((await post('/v1/allowlist', { address: '203.0.113.0/33' })).statusCode).toBe(400);
    expect((await post('/v1/allowlist', { address: '::ffff:203.0.113.7' })).statusCode).toBe(400);
    expect((await post('/v1/allowlist', { address: '203.0.113.7', note: 'a\nb' })).statusCode).toBe(400);
    expect((await del('/v1/allowlist')).statusCode).toBe(400);
  });
});

describe('GET /v1/status', () => {
  it('reports version, uptime, bans by source, drops by reason, sources, ruleset and the engine status', async () => {
    make(
      {},
      {
        dropCounters: async () => [
          { name: 'drop_banned', comment: '', packets: 5, bytes: 300 },
          { name: 'drop_scan_trap', comment: '', packets: 1, bytes: 60 },
          { name: 'meter_full', comment: '', packets: 9, bytes: 540 },
        ],
        ruleset: () => ({ applied: true, appliedMs: Date.parse('2026-11-21T11:59:55Z') }),
        sources: () => [
          {
            name: 'eve',
            type: 'unix_stream',
            connected: 1,
            opened: 1,
            lines: 10,
            bytes: 1000,
            alerts: 7,
            nonAlerts: 2,
            blank: 0,
            noAddress: 0,
            bad: {},
            badTotal: 1,
            dropped: 0,
            errors: 0,
            lastEventMs: null,
            lastLagMs: 250,
            lastLineMs: nowMs,
          },
        ],
      },
    );
    ops.seed({ address: '203.0.113.7', source: 'suricata' });
    nowMs += 42_000;
    const r = await get('/v1/status');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({
      version: '9.9.9',
      uptimeSec: 42,
      ruleset: { applied: true, appliedAt: '2026-11-21T11:59:55.000Z' },
      bans: { total: 1, bySource: { suricata: 1, snort: 0, 'kernel:scan': 0, manual: 0 } },
      drops: { banned: { packets: 5, bytes: 300 }, scan_trap: { packets: 1, bytes: 60 } },
      meterFull: 9,
      sources: [{ name: 'eve', connected: 1, lines: 10, alerts: 7, bad: 1, dropped: 0, lagSec: 0.25 }],
      engine: { mode: 'memory', bans: 1 },
    });
  });

  it('still answers when the counters cannot be read (drops: null)', async () => {
    make(
      {},
      {
        dropCounters: async () => {
          throw new Error('nft gone');
        },
      },
    );
    const r = await get('/v1/status');
    expect(r.statusCode).toBe(200);
    expect(r.json().drops).toBeNull();
    expect(r.json().meterFull).toBeNull();
  });

  it("answers with engine: null and drops: null when the engine's status and nft's counters never come (a read that hangs)", async () => {
    make({}, { dropCounters: () => new Promise(() => undefined) });
    ops.status = () => new Promise(() => undefined);
    const r = await get('/v1/status');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ engine: null, drops: null, meterFull: null, version: expect.any(String) });
    expect((await get('/metrics')).statusCode).toBe(200);
  });
});

describe('/metrics, /readyz and unknown routes', () => {
  it('renders Prometheus text with conventional names', async () => {
    const apply = new Histogram([0.01, 0.1]);
    apply.observe(0.005);
    apply.observe(0.05);
    make(
      {},
      {
        alertResults: () => [{ source: 'eve', result: 'banned', count: 3 }],
        nftApplyDurations: () => apply.snapshot(),
        dropCounters: async () => [
          { name: 'drop_banned', comment: '', packets: 5, bytes: 300 },
          { name: 'meter_full', comment: '', packets: 9, bytes: 540 },
        ],
        sources: () => [
          {
            name: 'eve',
            type: 'unix_stream',
            connected: 1,
            opened: 1,
            lines: 10,
            bytes: 1,
            alerts: 7,
            nonAlerts: 0,
            blank: 0,
            noAddress: 0,
            bad: {},
            badTotal: 0,
            dropped: 0,
            errors: 0,
            lastEventMs: null,
            lastLagMs: 1500,
            lastLineMs: nowMs,
          },
        ],
      },
    );
    ops.seed({ address: '203.0.113.7', source: 'snort' });
    await get('/healthz', {});
    const r = await get('/metrics', {});
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = r.body;
    expect(text).toContain(
      '# TYPE nftsentry_bans_active gauge\nnftsentry_bans_active{source="suricata"} 0\nnftsentry_bans_active{source="snort"} 1',
    );
    expect(text).toContain('nftsentry_alerts_total{source="eve",result="banned"} 3');
    expect(text).toContain('# TYPE nftsentry_nft_apply_duration_seconds histogram');
    expect(text).toContain(
      'nftsentry_nft_apply_duration_seconds_bucket{le="0.01"} 1\nnftsentry_nft_apply_duration_seconds_bucket{le="0.1"} 2\nnftsentry_nft_apply_duration_seconds_bucket{le="+Inf"} 2\nnftsentry_nft_apply_duration_seconds_sum 0.055\nnftsentry_nft_apply_duration_seconds_count 2',
    );
    expect(text).toContain('nftsentry_dropped_packets_total{reason="banned"} 5');
    expect(text).not.toContain('reason="meter_full"');
    expect(text).toContain('# TYPE nftsentry_meter_full_packets_total counter\nnftsentry_meter_full_packets_total 9');
    expect(text).toContain('nftsentry_source_lag_seconds{source="eve"} 1.5');
    expect(text).toContain(`nftsentry_source_last_line_timestamp_seconds{source="eve"} ${nowMs / 1000}\n`);
    expect(text).toMatch(/^process_start_time_seconds \d{10}$/m);
    expect(text).toMatch(/^process_resident_memory_bytes [1-9]\d{6,}$/m);
    expect(text).toMatch(/^# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total \d+(\.\d+)?$/m);
    // The HTTP status of earlier requests is the label `code`.
    expect(text).toMatch(/^nftsentry_api_requests_total\{method="GET",route="\/healthz",code="200"\} \d+$/m);
    expect(text).not.toContain('203.0.113.7');
  });

  it('the store: errors by SQLite code (the usual ones from 0), degraded, rows waiting', async () => {
    const store = { degraded: true, pendingRows: 1234, errors: { SQLITE_FULL: 3, SQLITE_IOERR: 1 }, lastError: null };
    make({}, { store: () => store });
    const text = (await get('/metrics', {})).body;
    expect(text).toContain(
      [
        '# TYPE nftsentry_store_errors_total counter',
        'nftsentry_store_errors_total{code="SQLITE_BUSY"} 0',
        'nftsentry_store_errors_total{code="SQLITE_FULL"} 3',
        'nftsentry_store_errors_total{code="SQLITE_IOERR"} 1',
        'nftsentry_store_errors_total{code="SQLITE_READONLY"} 0',
      ].join('\n'),
    );
    expect(text).toContain('# TYPE nftsentry_store_degraded gauge\nnftsentry_store_degraded 1');
    expect(text).toContain('# TYPE nftsentry_store_pending_rows gauge\nnftsentry_store_pending_rows 1234');
    Object.assign(store, { degraded: false, pendingRows: 0 });
    expect((await get('/metrics', {})).body).toContain('nftsentry_store_degraded 0\n');
  });

  it('/readyz is 503 E_NOT_READY with the reason while the daemon says so', async () => {
    let why: string | null = 'warming up the alert path';
    make({}, { notReady: () => why });
    const r = await get('/readyz', {});
    expect(r.statusCode).toBe(503);
    expect(r.json().error.code).toBe('E_NOT_READY');
    expect(r.json().error.message).toBe('not ready: warming up the alert path');
    why = null;
    expect((await get('/readyz', {})).statusCode).toBe(200);
  });

  it('an unknown route is 404 E_ROUTE_NOT_FOUND', async () => {
    expect((await get('/nope', {})).json().error.code).toBe('E_ROUTE_NOT_FOUND');
    expect((await get('/v1/nope', {})).statusCode).toBe(404);
    expect((await get('/v1/nope')).statusCode).toBe(404);
  });

  it('a failing engine call is 500 E_INTERNAL without its message', async () => {
    ops.listBans = () => {
      throw new Error('secret detail');
    };
    const r = await get('/v1/bans');
    expect(r.statusCode).toBe(500);
    expect(r.json()).toEqual({ error: { code: 'E_INTERNAL', message: 'internal error' } });
  });
});
