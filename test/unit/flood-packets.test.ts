/**
 * The lab's flood packets (src/lab/flood-packets.ts): every source distinct and inside
 * 198.18.0.0/15 or 2001:db8::/32 (IPv6: a /64 each), never a lab address; frames with valid IP and
 * TCP checksums (conntrack marks a bad one invalid); the pcap file's layout.
 */
import { describe, expect, it } from 'vitest';
import { checkedSource, FLOOD_SOURCES_MAX, floodPcap, floodSource, synFrame } from '../../src/lab/flood-packets.ts';
import { LAB_ADDR } from '../../src/lab/topology.ts';
import { ipFromBytes, parseIp } from '../../src/net/ip.ts';

/** The internet checksum over `b` (with `start` added): 0xffff when the checksum in it is right. */
function sum16(b: Uint8Array, start = 0): number {
  let s = start;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

describe('flood sources', () => {
  it('IPv4: 100,000 distinct addresses of 198.18.0.0/15 over all its /24s, none of the lab', () => {
    const seen = new Set<string>();
    const subnets = new Set<string>();
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const b = floodSource(4, i);
      if (b[0] !== 198 || (b[1] !== 18 && b[1] !== 19)) outside++;
      seen.add(b.join('.'));
      subnets.add(`${b[1]}.${b[2]}`);
    }
    expect(outside).toBe(0);
    expect(seen.size).toBe(100_000);
    expect(subnets.size).toBe(512);
    for (const a of Object.values(LAB_ADDR).filter((x) => !x.includes(':'))) expect(seen.has(a)).toBe(false);
    expect(FLOOD_SOURCES_MAX[4]).toBe(131_072 - 12);
    expect(() => floodSource(4, FLOOD_SOURCES_MAX[4])).toThrow(RangeError);
    expect(floodSource(4, FLOOD_SOURCES_MAX[4] - 1)[0]).toBe(198);
  });

  it('IPv6: 100,000 sources in 100,000 distinct /64s of 2001:db8::/32, none in the lab links /48s', () => {
    const nets = new Set<string>();
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const b = floodSource(6, i);
      if (b[0] !== 0x20 || b[1] !== 0x01 || b[2] !== 0x0d || b[3] !== 0xb8 || ((b[4]! << 8) | b[5]!) < 16) outside++;
      nets.add(Buffer.from(b.subarray(0, 8)).toString('hex'));
    }
    expect(outside).toBe(0);
    expect(nets.size).toBe(100_000);
    expect(ipFromBytes(floodSource(6, 1)).text).toMatch(/^2001:db8:[0-9a-f]+:[0-9a-f]+::5e:1$/);
  });

  it('refuses an address outside the two ranges', () => {
    expect(() => checkedSource(parseIp('198.20.0.1')!.bytes)).toThrow(RangeError);
    expect(() => checkedSource(parseIp('10.0.0.1')!.bytes)).toThrow(RangeError);
    expect(() => checkedSource(parseIp('2001:db9::1')!.bytes)).toThrow(RangeError);
    expect(() =>
      synFrame(
        { src: parseIp('203.0.113.1')!.bytes, dst: parseIp('198.18.0.1')!.bytes, sport: 1, dport: 2 },
        new Uint8Array(6),
        new Uint8Array(6),
      ),
    ).toThrow(RangeError);
  });
});

describe('frames and the pcap file', () => {
  const mac = new Uint8Array([2, 0, 0, 0, 0, 1]);
  it('IPv4 SYN: header and TCP checksums verify, flags SYN only', () => {
    const f = synFrame(
      { src: parseIp('198.19.7.9')!.bytes, dst: parseIp('198.18.0.1')!.bytes, sport: 40000, dport: 3001 },
      mac,
      mac,
    );
    expect(f.length).toBe(54);
    expect((f[12]! << 8) | f[13]!).toBe(0x0800);
    expect(sum16(f.subarray(14, 34))).toBe(0xffff);
    const pseudo = sum16(f.subarray(26, 34), 6 + 20);
    expect(sum16(f.subarray(34, 54), pseudo)).toBe(0xffff);
    expect(f[34 + 13]).toBe(0x02);
    expect((f[36]! << 8) | f[37]!).toBe(3001);
  });

  it('IPv6 SYN: TCP checksum verifies over the pseudo-header', () => {
    const f = synFrame({ src: floodSource(6, 7), dst: parseIp('2001:db8::1')!.bytes, sport: 1025, dport: 9 }, mac, mac);
    expect(f.length).toBe(74);
    expect((f[12]! << 8) | f[13]!).toBe(0x86dd);
    const pseudo = sum16(f.subarray(22, 54), 6 + 20);
    expect(sum16(f.subarray(54, 74), pseudo)).toBe(0xffff);
  });

  it('a pcap of both families interleaved, one SYN per source, ports in turn', () => {
    const pcap = floodPcap({
      v4: 3,
      v6: 2,
      dst4: parseIp('198.18.0.1')!.bytes,
      dst6: parseIp('2001:db8::1')!.bytes,
      ports: [9, 10],
      srcMac: '02:00:00:00:00:01',
      dstMac: '02:00:00:00:00:02',
    });
    expect(pcap.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(pcap.readUInt32LE(20)).toBe(1);
    const lengths: number[] = [];
    const ports: number[] = [];
    for (let o = 24; o < pcap.length; ) {
      const n = pcap.readUInt32LE(o + 8);
      lengths.push(n);
      const l4 = o + 16 + (n === 54 ? 34 : 54);
      ports.push(pcap.readUInt16BE(l4 + 2));
      o += 16 + n;
    }
    expect(lengths).toEqual([54, 74, 54, 74, 54]);
    expect(ports).toEqual([9, 9, 10, 10, 9]);
  });
});
