/**
 * The Suricata side of the latency benchmark, as its own process: connects to the unix socket,
 * writes one real ET SCAN line per millisecond (each from a new source address), and prints the
 * wall-clock send time of each (performance.timeOrigin + performance.now(), ms) as JSON at the end.
 *
 *   node bench/engine-sender.ts SOCKET COUNT FIRST_INDEX
 */
import { connect } from 'node:net';

const [path, countText, firstText] = process.argv.slice(2);
const count = Number(countText);
const first = Number(firstText);
const TEMPLATE =
  '{"timestamp":"2025-08-12T18:29:48.732867+0000","flow_id":1189257252974275,"in_iface":"ens5","event_type":"alert","src_ip":"85.255.233.2","src_port":47687,"dest_ip":"172.31.32.173","dest_port":22,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2001219,"rev":20,"signature":"ET SCAN Potential SSH Scan","category":"Attempted Information Leak","severity":2}}';
const addr = (i: number) => `100.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;
const now = () => performance.timeOrigin + performance.now();

const sock = connect({ path: path! });
await new Promise((r) => sock.once('connect', r));
const sent: Array<[string, number]> = [];
const t0 = performance.now();
let i = 0;
await new Promise<void>((resolve) => {
  const tick = () => {
    const due = Math.min(count, Math.floor(performance.now() - t0) + 1);
    for (; i < due; i++) {
      const a = addr(first + i);
      sent.push([a, now()]);
      sock.write(`${TEMPLATE.replace('85.255.233.2', a)}\n`);
    }
    if (i >= count) resolve();
    else setTimeout(tick, 1);
  };
  tick();
});
sock.end();
process.stdout.write(JSON.stringify({ sent, rate: count / ((performance.now() - t0) / 1000) }));
