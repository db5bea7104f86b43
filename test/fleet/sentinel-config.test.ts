/**
 * `fleet.redis.sentinel` as the config checks it (good and bad values, each problem naming its
 * key, never a throw from the schema), the sentinel addresses (`host:port`), and the options the
 * Sentinel client is built with: the data nodes' credentials from the url, the sentinels' own.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/config.ts';
import { isNftsentryError } from '../../src/errors.ts';
import { fleetRedisSchema } from '../../src/fleet/fleet-schema.ts';
import { redisTarget } from '../../src/fleet/redis-connection.ts';
import { sentinelOptions, urlCredentials } from '../../src/fleet/redis-sentinel.ts';
import { parseHostPort } from '../../src/net/host-port.ts';

function problems(redis: string): string[] {
  try {
    parseConfigText(`fleet: { node: gw-a, redis: ${redis} }\n`);
  } catch (err) {
    if (isNftsentryError(err, 'E_CONFIG_INVALID')) return (err.details?.problems as string[]) ?? [];
    throw err;
  }
  return [];
}

const SOCKET = { connectTimeout: 2000, socketTimeout: 4000, reconnectStrategy: () => 100 };

describe('fleet.redis.sentinel in the config', () => {
  it('good: IPv4, bracketed IPv6 and host names; username and password optional', () => {
    const c = parseConfigText(`fleet:
  node: gw-a
  redis:
    url: redis://gw-a:secret@sentinel/2
    sentinel:
      name: nftsentry
      nodes: ["198.18.0.11:26379", "[2001:db8::13]:26379", sentinel-3.example.net:26379]
      password: s3cret
`);
    expect(c.fleet?.redis.sentinel).toEqual({
      name: 'nftsentry',
      nodes: ['198.18.0.11:26379', '[2001:db8::13]:26379', 'sentinel-3.example.net:26379'],
      password: 's3cret',
    });
    expect(
      problems('{ url: "rediss://u:p@x", sentinel: { name: m, nodes: ["h:1"], username: u, password: p } }'),
    ).toEqual([]);
  });

  it('bad values are problems naming the key', () => {
    expect(problems('{ url: "redis://x", sentinel: { name: "a b", nodes: [] } }')).toEqual([
      'fleet.redis.sentinel.name: a name of 1-64 letters, digits, _ . -',
      'fleet.redis.sentinel.nodes: Too small: expected array to have >=1 items',
    ]);
    const bad = [
      '198.18.0.1',
      '198.18.0.1:0',
      '198.18.0.1:65536',
      '2001:db8::1:26379',
      '[198.18.0.1]:1',
      '198.18.0.999:1',
      '-x-:1',
      'a b:1',
    ];
    const p = problems(
      `{ url: "redis://x", sentinel: { name: m, nodes: [${bad.map((b) => JSON.stringify(b)).join(', ')}] } }`,
    );
    expect(p).toHaveLength(bad.length);
    for (const [i, line] of p.entries())
      expect(line).toMatch(new RegExp(`^fleet\\.redis\\.sentinel\\.nodes\\[${i}\\]: host:port`));
    expect(
      problems(`{ url: "redis://x", sentinel: { name: m, nodes: [${Array(17).fill('"h:1"').join(',')}] } }`),
    ).toEqual(['fleet.redis.sentinel.nodes: Too big: expected array to have <=16 items']);
    expect(problems('{ url: "redis://x", sentinel: { name: m, nodes: ["h:1"], username: u } }')).toEqual([
      'fleet.redis.sentinel.username: a sentinel username needs a password (sentinel.password)',
    ]);
    expect(problems('{ url: "redis://x", sentinel: { name: m, nodes: ["h:1"], pasword: p } }')).toEqual([
      'fleet.redis.sentinel.pasword: unknown key',
    ]);
    expect(problems('{ url: /run/redis/redis.sock, sentinel: { name: m, nodes: ["h:1"] } }')).toEqual([
      'fleet.redis.url: with sentinel, a redis:// or rediss:// url (its user, password, db and TLS are used; its host:port are not)',
    ]);
  });

  it('never throws, whatever the value', () => {
    for (const v of [null, 1, 'x', [], { sentinel: 1 }, { url: 'redis://x', sentinel: { nodes: [1, null, {}] } }])
      expect(fleetRedisSchema.safeParse(v).success).toBe(false);
  });
});

describe('sentinel addresses and client options', () => {
  it('host:port', () => {
    expect(parseHostPort('198.18.0.11:26379')).toEqual({ host: '198.18.0.11', port: 26379 });
    expect(parseHostPort('[2001:DB8:0::13]:1')).toEqual({ host: '2001:db8::13', port: 1 });
    expect(parseHostPort('Sentinel-1.Example.NET.:26379')).toEqual({ host: 'sentinel-1.example.net', port: 26379 });
    for (const bad of ['', ':1', 'h:', 'h:1:2', '[h]:1', '2001:db8::1', 'a..b:1', `${'a'.repeat(64)}:1`, '1.2.3:1'])
      expect(parseHostPort(bad), bad).toBeNull();
  });

  it("the data nodes take the url's user, password and db; the sentinels their own; TLS from rediss://", () => {
    expect(urlCredentials('redis://gw-a:p%40ss@sentinel:6379/3')).toEqual({
      username: 'gw-a',
      password: 'p@ss',
      database: 3,
    });
    expect(urlCredentials('redis://sentinel')).toEqual({});
    const o = sentinelOptions(
      {
        url: 'rediss://gw-a:pw@sentinel',
        connect_timeout_ms: 1500,
        sentinel: { name: 'm', nodes: ['198.18.0.11:26379', '[2001:db8::13]:26380'], password: 'sp' },
      },
      'nftsentry-gw-a',
      SOCKET,
    );
    expect(o.sentinelRootNodes).toEqual([
      { host: '198.18.0.11', port: 26379 },
      { host: '2001:db8::13', port: 26380 },
    ]);
    expect(o).toMatchObject({ name: 'm', masterPoolSize: 1, RESP: 2 });
    expect(o.nodeClientOptions).toMatchObject({ username: 'gw-a', password: 'pw', name: 'nftsentry-gw-a' });
    expect(o.nodeClientOptions.socket).toMatchObject({ tls: true, socketTimeout: 4000 });
    expect(o.sentinelClientOptions).toEqual({ password: 'sp', socket: { connectTimeout: 1500, tls: true } });
  });

  it('logs name the sentinels, never a password', () => {
    const s = { name: 'm', nodes: ['198.18.0.11:26379'], password: 'sp' };
    expect(redisTarget({ url: 'redis://u:pw@x', sentinel: s })).toBe('sentinel:m@198.18.0.11:26379');
    expect(redisTarget({ url: 'redis://u:pw@x:6379' })).toBe('redis://u:***@x:6379');
  });
});
