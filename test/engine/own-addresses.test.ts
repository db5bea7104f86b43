/**
 * The gateway's own addresses: `ip -j addr show` JSON -> addresses with their subnets (pure), the
 * subnets' network and broadcast addresses, and a failure of `ip` as a coded error. The live read
 * runs in a namespace made here (never the host's interfaces).
 */
import { describe, it, expect, afterAll } from 'vitest';
import { parseIpAddrJson, readOwnAddresses } from '../../src/engine/own-addresses.ts';
import { isNftsentryError, ErrorCodes } from '../../src/errors.ts';
import { Netns } from '../../src/lab/netns.ts';
import { parsePrefix } from '../../src/net/ip.ts';
import { ownSubnetEdges, subnetEdges, type InterfaceAddress } from '../../src/net/subnet.ts';

const made: Netns[] = [];
afterAll(async () => {
  for (const ns of made) await ns.delete();
});

const shown = (list: InterfaceAddress[]) =>
  list.map((a) => `${a.address.text} on ${a.subnet.text}${a.broadcast ? ` brd ${a.broadcast.text}` : ''}`);

describe('own addresses', () => {
  it('parses ip -j addr output: IPv4 and IPv6 with their subnets, canonical, each once; garbage gives none', () => {
    const text = JSON.stringify([
      {
        ifname: 'lo',
        addr_info: [
          { local: '127.0.0.1', prefixlen: 8 },
          { local: '::1', prefixlen: 128 },
        ],
      },
      {
        ifname: 'veth0',
        addr_info: [
          { local: '198.18.0.1', prefixlen: 24, broadcast: '198.18.0.255' },
          { local: '2001:DB8:0:0::1', prefixlen: 64 },
          { local: '198.18.0.1', prefixlen: 24 },
          { local: '198.18.6.1', address: '198.18.7.0', prefixlen: 24 },
          { local: '198.18.8.1' },
          { local: '198.18.9.1', prefixlen: 99 },
        ],
      },
      { ifname: 'weird', addr_info: [{ local: 'not-an-ip' }, {}, { local: 7 }] },
      { ifname: 'no-info', addr_info: 'x' },
      null,
    ]);
    expect(shown(parseIpAddrJson(text))).toEqual([
      '127.0.0.1 on 127.0.0.0/8',
      '::1 on ::1/128',
      '198.18.0.1 on 198.18.0.0/24 brd 198.18.0.255',
      '2001:db8::1 on 2001:db8::/64',
      // A point-to-point address: the prefix is the peer's.
      '198.18.6.1 on 198.18.7.0/24',
      // No or a nonsensical prefix length: no subnet.
      '198.18.8.1 on 198.18.8.1/32',
      '198.18.9.1 on 198.18.9.1/32',
    ]);
    expect(parseIpAddrJson('{')).toEqual([]);
    expect(parseIpAddrJson('{"a":1}')).toEqual([]);
  });

  it.each([
    ['198.18.0.0/24', ['198.18.0.0', '198.18.0.255']],
    ['198.18.0.0/20', ['198.18.0.0', '198.18.15.255']],
    ['198.18.4.0/30', ['198.18.4.0', '198.18.4.3']],
    ['198.18.4.0/31', []],
    ['198.18.4.1/32', []],
    ['198.18.0.0/15', ['198.18.0.0', '198.19.255.255']],
    ['0.0.0.0/0', []],
    ['2001:db8:1::/64', ['2001:db8:1::']],
    ['2001:db8::/48', ['2001:db8::']],
    ['2001:db8::4/126', ['2001:db8::4']],
    ['2001:db8::4/127', []],
    ['2001:db8::4/128', []],
  ])('the addresses of %s that are no host: %j', (subnet, want) => {
    expect(subnetEdges(parsePrefix(subnet)!).map((a) => a.text)).toEqual(want);
  });

  it('every edge of the own addresses once, with a broadcast set by hand (brd)', () => {
    const list = parseIpAddrJson(
      JSON.stringify([
        {
          addr_info: [
            { local: '198.18.0.1', prefixlen: 24 },
            { local: '198.18.0.2', prefixlen: 24 },
            { local: '198.18.9.1', prefixlen: 24, broadcast: '198.18.9.128' },
          ],
        },
      ]),
    );
    expect(ownSubnetEdges(list).map((a) => a.text)).toEqual([
      '198.18.0.0',
      '198.18.0.255',
      '198.18.9.0',
      '198.18.9.255',
      '198.18.9.128',
    ]);
  });

  it('reads the addresses and prefix lengths of a namespace made here', async () => {
    const ns = await Netns.create('own');
    made.push(ns);
    await ns.run('ip', ['link', 'add', 'own0', 'type', 'veth', 'peer', 'name', 'own1']);
    await ns.exec('ip', ['addr', 'add', '198.18.250.1/32', 'dev', 'lo']);
    await ns.run('ip', ['addr', 'add', '198.18.251.1/24', 'dev', 'own0']);
    await ns.run('ip', ['addr', 'add', '2001:db8:251::1/64', 'dev', 'own0', 'nodad']);
    const got = shown(await readOwnAddresses(ns.name));
    expect(got).toContain('198.18.250.1 on 198.18.250.1/32');
    expect(got).toContain('198.18.251.1 on 198.18.251.0/24');
    expect(got).toContain('2001:db8:251::1 on 2001:db8:251::/64');
  });

  it('a failing ip is a coded error (E_OWN_ADDRESSES), not a plain Error', async () => {
    const err = await readOwnAddresses('nfs-no-such-namespace').catch((e: unknown) => e);
    expect(isNftsentryError(err, ErrorCodes.OWN_ADDRESSES)).toBe(true);
    expect((err as Error).message).toMatch(/own addresses/);
  });
});
