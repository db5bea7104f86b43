/**
 * The hot path's address parser: a dotted quad read by character codes (no regular expression,
 * one allocation), with exactly the rules of net/ip.ts (four parts, 0-255, no leading zeros).
 * Anything else, IPv6 included, goes to `parseIp`. Alerts carry canonical text already, so the
 * input string is kept as the canonical text. Pure.
 */
import { parseIp, type IpAddress } from '../net/ip.ts';

export function parseIpFast(text: string): IpAddress | null {
  const n = text.length;
  if (n < 7 || n > 15) return parseIp(text);
  const bytes = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 46; // a final '.'
    if (c === 46) {
      if (digits === 0 || part > 3) return parseIp(text);
      bytes[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return parseIp(text); // leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return parseIp(text);
    } else {
      return parseIp(text);
    }
  }
  if (part !== 4) return parseIp(text);
  return { family: 4, bytes, text };
}
