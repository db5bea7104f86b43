/**
 * The lab's small real service: HTTP on a dual-stack port, answering "ok". Prints one line
 * `listening PORT` when ready. Run inside the gateway namespace.
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 80);
let served = 0;
const server = createServer((_req, res) => {
  served++;
  res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
  res.end('ok\n');
});
server.listen({ port, host: '::', ipv6Only: false }, () => process.stdout.write(`listening ${port}\n`));
const stop = () => {
  process.stdout.write(`served ${served}\n`);
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
