import { describe, expect, it } from 'vitest';
import {
  parseIp,
  parsePrefix,
  prefixContaining,
  specialAddressKind,
  normalizePrefixes,
  unmapV4,
  prefixContains,
  prefixCovers,
  type IpPrefix,
} from '../../src/net/ip.ts';

describe('parseIp', () => {
  it.each([
    ['198.18.0.1', '198.18.0.1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['ff02:0000:0000:0000:0000:0000:0000:0016', 'ff02::16'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::215:5dff:fea8:993b', 'fe80::215:5dff:fea8:993b'],
    ['::ffff:198.18.0.1', '::ffff:c612:1'],
    ['2001:db8:1:0:0:0:0:0', '2001:db8:1::'],
  ])('%s -> %s', (input, canonical) => {
    expect(parseIp(input)?.text).toBe(canonical);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.4 ',
    'fe80::1%eth0',
    '[::1]',
    '1::2::3',
    '12345::',
    'g::1',
    '1.2.3.4/32',
    ':::',
    '2001:db8:0:0:0:0:0:0:1',
    '}',
    '1.2.3.4;',
    '::1\n',
  ])('refuses %j', (input) => {
    expect(parseIp(input)).toBeNull();
  });

  // The char-code IPv4 parser against an independent reference: the rules written as a regex.
  const V4_REFERENCE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
  it.each([
    '1.2.3.4',
    '0.0.0.0',
    '255.255.255.255',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3',
    '1.2.3.4.5',
    '1..2.3',
    '1.2.3.',
    '.1.2.3',
    '1.2.3.4 ',
    'a.b.c.d',
    '1.2.3.04',
    '10.0.0.255',
    '1234.1.1.1',
    '1.2.3.1000',
    '9.9.9.9',
    '199.200.249.250',
    '00.0.0.0',
    '1.2.3.-4',
  ])('IPv4 %j agrees with the reference rules, bytes and text included', (input) => {
    const a = parseIp(input);
    expect(a !== null).toBe(V4_REFERENCE.test(input));
    if (a) {
      expect([...a.bytes]).toEqual(input.split('.').map(Number));
      expect(a.text).toBe(input);
    }
  });

  it('unmaps IPv4-mapped IPv6', () => {
    expect(unmapV4(parseIp('::ffff:198.18.0.9')!)?.text).toBe('198.18.0.9');
    expect(unmapV4(parseIp('2001:db8::1')!)).toBeNull();
  });
});

describe('prefixes', () => {
  it('parses strictly and masks on request', () => {
    expect(parsePrefix('10.0.0.0/8')?.text).toBe('10.0.0.0/8');
    expect(parsePrefix('10.0.0.1/8')).toBeNull();
    expect(parsePrefix('10.0.0.1/8', { strict: false })?.text).toBe('10.0.0.0/8');
    expect(parsePrefix('2001:db8::/33')?.text).toBe('2001:db8::/33');
    expect(parsePrefix('198.18.0.1')?.text).toBe('198.18.0.1/32');
    expect(parsePrefix('1.2.3.0/33')).toBeNull();
    expect(parsePrefix('1.2.3.0/08')).toBeNull();
  });
  it('takes the /64 of an IPv6 address', () => {
    expect(prefixContaining(parseIp('2001:db8:1:2:3:4:5:6')!, 64).text).toBe('2001:db8:1:2::/64');
    expect(prefixContains(parsePrefix('2001:db8:1:2::/64')!, parseIp('2001:db8:1:2::99')!)).toBe(true);
    expect(prefixContains(parsePrefix('2001:db8:1:2::/64')!, parseIp('2001:db8:1:3::1')!)).toBe(false);
  });
  it('normalises: sorted, covered prefixes removed', () => {
    const list = ['10.1.0.0/16', '10.0.0.0/8', '192.0.2.1', '2001:db8::/32', '2001:db8:5::/48'].map(
      (p) => parsePrefix(p)!,
    );
    expect(normalizePrefixes(list).map((p) => p.text)).toEqual(['10.0.0.0/8', '192.0.2.1/32', '2001:db8::/32']);
  });
  it('normalises as the pairwise definition does, on random nested lists', () => {
    // The definition: keep a prefix unless another one in the list covers it (the first of equal ones).
    const reference = (list: IpPrefix[]) =>
      list
        .filter((p, i) => !list.some((o, j) => (o.text === p.text ? j < i : prefixCovers(o, p))))
        .sort((a, b) => (a.text < b.text ? -1 : 1));
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const list = Array.from({ length: 1 + rand(40) }, () => {
        const v6 = rand(2) === 1;
        const len = v6 ? 100 + rand(29) : 20 + rand(13);
        const addr = v6
          ? `2001:db8::${rand(4).toString(16)}:${rand(65_536).toString(16)}`
          : `10.0.${rand(4)}.${rand(256)}`;
        return prefixContaining(parseIp(addr)!, len);
      });
      const got = normalizePrefixes(list);
      expect([...got].sort((a, b) => (a.text < b.text ? -1 : 1))).toEqual(reference(list));
    }
  });
  it('normalises 131,072 prefixes (the largest allowlist and home networks together) in linear-log time', () => {
    const list = Array.from({ length: 131_072 }, (_, i) => parsePrefix(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`)!);
    list.push(parsePrefix('10.1.0.0/16')!);
    const got = normalizePrefixes(list.reverse());
    expect(got).toHaveLength(65_537);
    expect(got[got.length - 1]!.text).toBe('10.1.0.0/16');
  });
  it.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['::ffff:1.2.3.4', 'ipv4-mapped'],
    ['198.18.0.2', null],
    ['2001:db8::2', null],
  ])('special address %s -> %s', (a, kind) => {
    expect(specialAddressKind(parseIp(a)!)).toBe(kind);
  });
});
