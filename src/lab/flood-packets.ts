/**
 * Spoofed-source TCP SYN floods for the lab, written as a pcap file that tcpreplay sends
 * (lab/flood.ts). Pure.
 *
 * Every source address is computed here, never drawn by a tool: IPv4 sources are distinct
 * addresses of 198.18.0.0/15, IPv6 sources each in a /64 of its own inside 2001:db8::/32, and
 * every one is checked against those ranges before it is written. The lab's own addresses, the
 * network and broadcast addresses of its /24s and the /48s of its IPv6 links are skipped.
 */

export interface SynPacket {
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
}

const V4_SPACE = 1 << 17; // 198.18.0.0/15
/** Odd: i -> i * V4_STRIDE mod 2^17 is a bijection, which spreads the sources over all /24s. */
const V4_STRIDE = 0x9e37;
/** The lab's /24s (198.18.0-2.0/24): their .0-.2 and .255 are never sources. */
const LAB_V4_SUBNETS = 3;
/** The lab's IPv6 links use 2001:db8:0-2::/48; the first 16 /48s are never sources. */
const LAB_V6_48S = 16;
const V6_NETS = 2 ** 32 - LAB_V6_48S * 65536;
/** A prime that does not divide V6_NETS (2^20 * 4095): i -> i * V6_STRIDE mod V6_NETS is a bijection. */
const V6_STRIDE = 2654435761n;

let v4Order: Uint32Array | null = null;

/** Offsets into 198.18.0.0/15 in flood order, the lab's addresses left out (built once). */
function v4Offsets(): Uint32Array {
  if (v4Order) return v4Order;
  const out: number[] = [];
  for (let k = 0; k < V4_SPACE; k++) {
    const offset = Math.imul(k, V4_STRIDE) & (V4_SPACE - 1);
    const subnet = offset >>> 8;
    const host = offset & 0xff;
    if (subnet < LAB_V4_SUBNETS && (host <= 2 || host === 255)) continue;
    out.push(offset);
  }
  v4Order = Uint32Array.from(out);
  return v4Order;
}

/** How many distinct sources a flood of each family can have. */
export const FLOOD_SOURCES_MAX = { 4: V4_SPACE - LAB_V4_SUBNETS * 4, 6: V6_NETS } as const;

/**
 * Source `i` (0-based) of a flood: distinct for distinct `i`. IPv4: an address of 198.18.0.0/15.
 * IPv6: `2001:db8:X:Y::Z`, the /64 `2001:db8:X:Y::/64` used by no other index.
 */
export function floodSource(family: 4 | 6, i: number): Uint8Array {
  if (!Number.isInteger(i) || i < 0 || i >= FLOOD_SOURCES_MAX[family]) {
    throw new RangeError(`flood source index ${i} (IPv${family}: 0-${FLOOD_SOURCES_MAX[family] - 1})`);
  }
  if (family === 4) {
    const n = (0xc6120000 + v4Offsets()[i]!) >>> 0; // 198.18.0.0 + offset
    return checkedSource(new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]));
  }
  const n64 = LAB_V6_48S * 65536 + Number((BigInt(i) * V6_STRIDE) % BigInt(V6_NETS));
  const b = new Uint8Array(16);
  b.set([0x20, 0x01, 0x0d, 0xb8, n64 >>> 24, (n64 >>> 16) & 0xff, (n64 >>> 8) & 0xff, n64 & 0xff]);
  b[13] = 0x5e;
  b[14] = (i >>> 8) & 0xff;
  b[15] = i & 0xff;
  return checkedSource(b);
}

/** Throws unless the address is inside 198.18.0.0/15 or 2001:db8::/32. */
export function checkedSource(b: Uint8Array): Uint8Array {
  const ok =
    b.length === 4
      ? b[0] === 198 && (b[1] === 18 || b[1] === 19)
      : b.length === 16 && b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8;
  if (!ok) throw new RangeError('flood sources stay inside 198.18.0.0/15 and 2001:db8::/32');
  return b;
}

function macBytes(mac: string): Uint8Array {
  const parts = mac.split(':').map((h) => Number.parseInt(h, 16));
  if (parts.length !== 6 || parts.some((p) => !(p >= 0 && p <= 255))) throw new RangeError(`bad MAC address ${mac}`);
  return Uint8Array.from(parts);
}

/** Ones' complement sum of 16-bit words, folded (the internet checksum before inversion). */
function sum16(buf: Uint8Array, from: number, to: number, start = 0): number {
  let s = start;
  for (let i = from; i < to; i += 2) s += (buf[i]! << 8) | (i + 1 < to ? buf[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

const ETH = 14;
const TCP = 20;

/** One Ethernet frame carrying a bare TCP SYN (no options), checksums filled in. */
export function synFrame(p: SynPacket, srcMac: Uint8Array, dstMac: Uint8Array): Uint8Array {
  const v6 = p.src.length === 16;
  checkedSource(p.src);
  const ipLen = v6 ? 40 : 20;
  const f = new Uint8Array(ETH + ipLen + TCP);
  const dv = new DataView(f.buffer);
  f.set(dstMac, 0);
  f.set(srcMac, 6);
  dv.setUint16(12, v6 ? 0x86dd : 0x0800);
  const ip = ETH;
  if (v6) {
    dv.setUint32(ip, 0x60000000);
    dv.setUint16(ip + 4, TCP);
    f[ip + 6] = 6;
    f[ip + 7] = 64;
    f.set(p.src, ip + 8);
    f.set(p.dst, ip + 24);
  } else {
    f[ip] = 0x45;
    dv.setUint16(ip + 2, 20 + TCP);
    dv.setUint16(ip + 4, p.sport); // an identification that differs per packet
    f[ip + 8] = 64;
    f[ip + 9] = 6;
    f.set(p.src, ip + 12);
    f.set(p.dst, ip + 16);
    dv.setUint16(ip + 10, ~sum16(f, ip, ip + 20) & 0xffff);
  }
  const t = ip + ipLen;
  dv.setUint16(t, p.sport);
  dv.setUint16(t + 2, p.dport);
  dv.setUint32(t + 4, (p.sport * 2654435761) >>> 0);
  f[t + 12] = 5 << 4;
  f[t + 13] = 0x02; // SYN
  dv.setUint16(t + 14, 64240);
  // Pseudo-header: addresses, protocol, TCP length.
  const addr = v6 ? [ip + 8, ip + 40] : [ip + 12, ip + 20];
  const pseudo = sum16(f, addr[0]!, addr[1]!, 6 + TCP);
  dv.setUint16(t + 16, ~sum16(f, t, t + TCP, pseudo) & 0xffff);
  return f;
}

/** A pcap file (microsecond timestamps, Ethernet) holding the frames in order. */
export function pcapFile(frames: readonly Uint8Array[]): Buffer {
  const size = 24 + frames.reduce((n, f) => n + 16 + f.length, 0);
  const out = Buffer.alloc(size);
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(65535, 16);
  out.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  let o = 24;
  frames.forEach((f, i) => {
    out.writeUInt32LE(Math.floor(i / 1_000_000), o);
    out.writeUInt32LE(i % 1_000_000, o + 4);
    out.writeUInt32LE(f.length, o + 8);
    out.writeUInt32LE(f.length, o + 12);
    out.set(f, o + 16);
    o += 16 + f.length;
  });
  return out;
}

export interface FloodPlan {
  /** Distinct IPv4 sources (198.18.0.0/15). */
  v4: number;
  /** Distinct IPv6 sources, each in a /64 of its own (2001:db8::/32). */
  v6: number;
  /** Destination addresses (the gateway's). */
  dst4: Uint8Array;
  dst6: Uint8Array;
  /** Destination ports: source `i` sends to `ports[i % ports.length]`. */
  ports: readonly number[];
  srcMac: string;
  dstMac: string;
}

/** One SYN from each source, the families interleaved, as a pcap file. */
export function floodPcap(plan: FloodPlan): Buffer {
  if (plan.ports.length === 0) throw new RangeError('a flood needs at least one destination port');
  const src = macBytes(plan.srcMac);
  const dst = macBytes(plan.dstMac);
  const frames: Uint8Array[] = [];
  for (let i = 0; i < Math.max(plan.v4, plan.v6); i++) {
    const sport = 1024 + (i % 64000);
    const dport = plan.ports[i % plan.ports.length]!;
    if (i < plan.v4) frames.push(synFrame({ src: floodSource(4, i), dst: plan.dst4, sport, dport }, src, dst));
    if (i < plan.v6) frames.push(synFrame({ src: floodSource(6, i), dst: plan.dst6, sport, dport }, src, dst));
  }
  return pcapFile(frames);
}
