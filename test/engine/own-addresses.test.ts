/**
 * The gateway's own addresses: `ip -j addr show` JSON -> addresses (pure), and a failure of `ip`
 * as a coded error. The live read runs in a namespace made here (never the host's interfaces).
 */
import { describe, it, expect, afterAll } from 'vitest';
import { parseIpAddrJson, readOwnAddresses } from '../../src/engine/own-addresses.ts';
import { isNftsentryError, ErrorCodes } from '../../src/errors.ts';
import { Netns } from '../../src/lab/netns.ts';

const made: Netns[] = [];
afterAll(async () => {
  for (const ns of made) await ns.delete();
});

describe('own addresses', () => {
  it('parses ip -j addr output: IPv4 and IPv6, canonical, each once; garbage gives none', () => {
    const text = JSON.stringify([
      { ifname: 'lo', addr_info: [{ local: '127.0.0.1' }, { local: '::1' }] },
      { ifname: 'veth0', addr_info: [{ local: '198.18.0.1' }, { local: '2001:DB8:0:0::1' }, { local: '198.18.0.1' }] },
      { ifname: 'weird', addr_info: [{ local: 'not-an-ip' }, {}] },
    ]);
    expect(parseIpAddrJson(text).map((a) => a.text)).toEqual(['127.0.0.1', '::1', '198.18.0.1', '2001:db8::1']);
    expect(parseIpAddrJson('{')).toEqual([]);
    expect(parseIpAddrJson('{"a":1}')).toEqual([]);
  });

  it('reads the addresses of a namespace made here', async () => {
    const ns = await Netns.create('own');
    made.push(ns);
    await ns.exec('ip', ['addr', 'add', '198.18.250.1/32', 'dev', 'lo']);
    const texts = (await readOwnAddresses(ns.name)).map((a) => a.text);
    expect(texts).toContain('198.18.250.1');
  });

  it('a failing ip is a coded error (E_OWN_ADDRESSES), not a plain Error', async () => {
    const err = await readOwnAddresses('nfs-no-such-namespace').catch((e: unknown) => e);
    expect(isNftsentryError(err, ErrorCodes.OWN_ADDRESSES)).toBe(true);
    expect((err as Error).message).toMatch(/own addresses/);
  });
});
