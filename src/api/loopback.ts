/** Whether a listen address is loopback (127.0.0.0/8, ::1): what the API may serve without TLS. */
import { parseIp } from '../net/ip.ts';

export function isLoopbackHost(host: string): boolean {
  const ip = parseIp(host);
  return ip !== null && (ip.family === 4 ? ip.bytes[0] === 127 : ip.text === '::1');
}
