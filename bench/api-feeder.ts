/**
 * Load for bench/api.ts: EVE alert lines over a unix_stream source at a fixed rate, from its own
 * process (so that the generator never competes with the latency measurement). 99% of the alerts
 * come from a pool of known scanners (already banned after their first alert), 1% from new
 * addresses (new bans keep flowing). Every address is in 198.19.0.0/16 (benchmark range).
 * Bounded: stops after DURATION_MS or on SIGTERM; prints one JSON line with what it sent.
 *
 * usage: node bench/api-feeder.ts SOCKET RATE_PER_SEC DURATION_MS
 */
import { connect } from 'node:net';

const [path, rateText, durationText] = process.argv.slice(2);
const rate = Math.min(Number(rateText ?? 50_000), 500_000);
const durationMs = Math.min(Number(durationText ?? 10_000), 120_000);
const TICK_MS = 10;
const POOL = 5000;

let fresh = 0;
function line(ip: string, i: number, ts: string): string {
  return `{"timestamp":"${ts}","flow_id":${1_000_000 + i},"in_iface":"eth0","event_type":"alert","src_ip":"${ip}","src_port":${40_000 + (i % 20_000)},"dest_ip":"198.18.0.1","dest_port":${1 + (i % 1024)},"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2001219,"rev":20,"signature":"ET SCAN Potential SSH Scan","category":"Attempted Information Leak","severity":2}}\n`;
}
const poolIp = (n: number) => `198.19.${(n >> 8) & 0xff}.${n & 0xff}`;
const freshIp = () => {
  const n = POOL + (fresh++ % 60_000);
  return `198.19.${(n >> 8) & 0xff}.${n & 0xff}`;
};

// The pool's lines are rendered once (the feeder should spend its CPU on writing, not on
// formatting); 1 line in 100 is rendered per tick with a new address.
const RING = 99_000;
const ringTs = new Date().toISOString();
const ring = Buffer.from(Array.from({ length: RING }, (_, i) => line(poolIp(i % POOL), i, ringTs)).join(''));
const offsets: number[] = [0];
for (let i = 0, at = 0; i < RING; i++) {
  at = ring.indexOf(10, at) + 1;
  offsets.push(at);
}
let ringAt = 0;
function nextChunk(count: number): Buffer {
  const parts: Buffer[] = [];
  const freshCount = Math.floor(count / 100);
  let fromRing = count - freshCount;
  while (fromRing > 0) {
    const take = Math.min(fromRing, RING - ringAt);
    parts.push(ring.subarray(offsets[ringAt]!, offsets[ringAt + take]!));
    ringAt = (ringAt + take) % RING;
    fromRing -= take;
  }
  if (freshCount > 0) {
    const ts = new Date().toISOString();
    let text = '';
    for (let k = 0; k < freshCount; k++) text += line(freshIp(), k, ts);
    parts.push(Buffer.from(text));
  }
  return Buffer.concat(parts);
}

const sock = connect({ path: path! });
await new Promise<void>((resolve, reject) => {
  sock.once('connect', resolve);
  sock.once('error', reject);
});
let sent = 0;
let stalls = 0;
let stopping = false;
process.on('SIGTERM', () => (stopping = true));
const started = performance.now();
const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));
let tick = 0;
while (!stopping && performance.now() - started < durationMs) {
  const chunk = nextChunk(perTick);
  sent += perTick;
  if (!sock.write(chunk)) {
    stalls++;
    await new Promise((r) => sock.once('drain', r));
  }
  tick++;
  const wait = started + tick * TICK_MS - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
const seconds = (performance.now() - started) / 1000;
sock.end();
process.stdout.write(`${JSON.stringify({ sent, seconds, ratePerSec: Math.round(sent / seconds), stalls })}\n`);
process.exit(0);
