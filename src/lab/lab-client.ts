/**
 * The lab's legitimate client: requests the service steadily, a new TCP connection each time,
 * alternating over the given URLs, and counts successes and failures. Bounded: it stops after
 * --duration-ms or on SIGTERM, and then prints one JSON line with its counts.
 *
 * usage: lab-client.ts URL[,URL...] INTERVAL_MS DURATION_MS
 */
import { request } from 'node:http';

const urls = (process.argv[2] ?? '').split(',').filter(Boolean);
const intervalMs = Number(process.argv[3] ?? 50);
const durationMs = Math.min(Number(process.argv[4] ?? 60_000), 600_000);
const result = { ok: 0, fail: 0, errors: {} as Record<string, number>, firstOkMs: 0 };
const started = Date.now();
let stopping = false;

function once(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const k = e.code ?? e.message;
      result.errors[k] = (result.errors[k] ?? 0) + 1;
      resolve(false);
    });
    req.end();
  });
}

function finish() {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
process.on('SIGTERM', () => (stopping = true));
process.on('SIGINT', () => (stopping = true));

let i = 0;
while (!stopping && Date.now() - started < durationMs) {
  const t0 = Date.now();
  const ok = await once(urls[i++ % urls.length]!);
  if (ok) {
    result.ok++;
    if (result.ok === 1) {
      result.firstOkMs = Date.now() - started;
      process.stdout.write('first-ok\n');
    }
  } else result.fail++;
  const wait = intervalMs - (Date.now() - t0);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
finish();
