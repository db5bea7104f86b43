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
function address(i: number): string {
  const n = i % 100 === 0 ? POOL + (fresh++ % 60_000) : i % POOL;
  return `198.19.${(n >> 8) & 0xff}.${n & 0xff}`;
}

function line(i: number, ts: string): string {
  return `{"timestamp":"${ts}","flow_id":${1_000_000 + i},"in_iface":"eth0","event_type":"alert","src_ip":"${address(i)}","src_port":${40_000 + (i % 20_000)},"dest_ip":"198.18.0.1","dest_port":${1 + (i % 1024)},"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2001219,"rev":20,"signature":"ET SCAN Potential SSH Scan","category":"Attempted Information Leak","severity":2}}\n`;
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
  const ts = new Date().toISOString();
  let chunk = '';
  for (let k = 0; k < perTick; k++) chunk += line(sent + k, ts);
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
