/**
 * A dashboard's live-event subscriber for the API benchmark (`--sse`): one GET /v1/events over
 * the API's unix socket, reading every frame and counting the events, as an open browser tab.
 *
 * Run as its own process (as a browser is), so that reading the events never delays the
 * benchmark's own requests and clocks:
 *   node bench/sse-subscriber.ts SOCKET TOKEN    prints `subscribed`, then the count at SIGTERM
 */
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';

export interface SseSubscriber {
  /** Events received so far. */
  events(): number;
  close(): void;
}

export function subscribeEvents(socketPath: string, token: string): Promise<SseSubscriber> {
  let count = 0;
  let partial = '';
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, path: '/v1/events', headers: { authorization: `Bearer ${token}` }, agent: false },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`GET /v1/events: ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const frames = (partial + chunk).split('\n\n');
          partial = frames.pop() ?? '';
          for (const f of frames) if (f.startsWith('data: ')) count++;
        });
        resolve({ events: () => count, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [socketPath, token] = process.argv.slice(2);
  const sub = await subscribeEvents(socketPath ?? '', token ?? '');
  process.stdout.write('subscribed\n');
  process.on('SIGTERM', () => {
    process.stdout.write(`${sub.events()}\n`);
    sub.close();
    process.exit(0);
  });
}
