/**
 * The benchmark's EVE workload: Suricata alert lines (the shape of a real "ET SCAN Potential SSH
 * Scan", sid 2001219) from chosen sources, stamped with the current time (fail2ban ignores a line
 * older than its findtime), and the distinct source addresses each phase uses.
 */

/** Suricata's timestamp format: 2026-12-03T00:04:01.123456+0000. */
function suricataTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000+0000');
}

let flowId = 1_189_257_252_974_275;

/** One EVE alert line (no newline) with source `src`. */
export function etScanLine(src: string, nowMs = Date.now()): string {
  const v6 = src.includes(':');
  const ts = suricataTime(nowMs);
  return JSON.stringify({
    timestamp: ts,
    flow_id: flowId++,
    in_iface: 'eth0',
    event_type: 'alert',
    src_ip: src,
    src_port: 47687,
    dest_ip: v6 ? '2001:db8:ffff::1' : '198.19.255.254',
    dest_port: 22,
    proto: 'TCP',
    alert: {
      action: 'allowed',
      gid: 1,
      signature_id: 2001219,
      rev: 20,
      signature: 'ET SCAN Potential SSH Scan',
      category: 'Attempted Information Leak',
      severity: 2,
    },
    flow: { pkts_toserver: 1, pkts_toclient: 0, bytes_toserver: 74, bytes_toclient: 0, start: ts },
  });
}

/**
 * Distinct sources, never repeated within one run: `latency` from 198.18.0.0/16 (and
 * 2001:db8:1::/48), `burst` from 198.19.0.0/16 (up to 65,024 addresses, .0 and .255 skipped).
 */
export class Sources {
  private latency = 0;
  private v6 = 0;

  nextV4(): string {
    const n = ++this.latency;
    if (n > 250 * 250) throw new Error('out of latency addresses');
    return `198.18.${Math.floor(n / 250) + 1}.${(n % 250) + 1}`;
  }

  nextV6(): string {
    return `2001:db8:1::${(++this.v6).toString(16)}`;
  }

  static burst(count: number): string[] {
    if (count > 254 * 254) throw new Error('burst too large');
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(`198.19.${Math.floor(i / 254) + 1}.${(i % 254) + 1}`);
    return out;
  }
}
