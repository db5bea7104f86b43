/**
 * Scanners the kernel caught: the datapath adds them to scanners4/6 (and their reason mark to
 * scan_reason4/6) with no netlink event, so they are read regularly. The join is pure; reading
 * goes through the runner (one `nft -j list` per set).
 */
import type { Nft } from './nft.ts';
import { SCAN_REASONS } from './objects.ts';
import { readSet, type SetElement } from './state.ts';

export interface KernelScanner {
  address: string;
  /** trap_port, fast_scan, slow_scan, fast_scan_bucket, slow_scan_bucket; `kernel_scan` when unknown. */
  reason: string;
  /** The ban's length as the kernel set it (scan_detection.ban_timeout), in seconds. */
  timeoutSec: number | null;
  /** Seconds the kernel still keeps it in the scanners set. */
  expiresSec: number | null;
}

export function joinScanners(scanners: readonly SetElement[], reasons: readonly SetElement[]): KernelScanner[] {
  const why = new Map<string, string>();
  for (const r of reasons) {
    const mark = typeof r.data === 'number' ? r.data : Number(r.data);
    why.set(r.key, SCAN_REASONS[mark] ?? 'kernel_scan');
  }
  return scanners.map((s) => ({
    address: s.key,
    reason: why.get(s.key) ?? 'kernel_scan',
    timeoutSec: s.timeoutSec,
    expiresSec: s.expiresSec,
  }));
}

/**
 * Reads the scanners sets one after the other (each read starts an nft process, and starting a
 * process stalls this thread for a few ms: four at once would stall it for four), and the reason
 * maps only when there is a scanner not in `known`.
 */
export async function readKernelScanners(runner: Nft, known?: ReadonlySet<string>): Promise<KernelScanner[]> {
  const s4 = await readSet(runner, 'scanners4');
  const s6 = await readSet(runner, 'scanners6');
  if (known && [...s4, ...s6].every((s) => known.has(s.key))) return [...joinScanners(s4, []), ...joinScanners(s6, [])];
  const r4 = s4.length > 0 ? await readSet(runner, 'scan_reason4', 'map') : [];
  const r6 = s6.length > 0 ? await readSet(runner, 'scan_reason6', 'map') : [];
  return [...joinScanners(s4, r4), ...joinScanners(s6, r6)];
}
