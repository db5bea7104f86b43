/**
 * The benchmark's input: a realistic EVE mix built from the real samples (../shared/samples):
 * 1% alerts, the other 99% drawn from the samples' non-alert events (flow, dns, http, tls, stats,
 * fileinfo...), in a fixed pseudo-random order so every run and every path sees the same bytes.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const samplesDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'samples');

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
}

export interface Mix {
  block: Buffer;
  lines: number;
  alerts: number;
}

export function buildMix(lineCount: number, alertRatio = 0.01): Mix {
  const alerts: string[] = [];
  const others: string[] = [];
  for (const f of walk(samplesDir)) {
    if (!/\.(json|log)$/.test(f) || f.endsWith('schema.json')) continue;
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      let o: { event_type?: unknown };
      try {
        o = JSON.parse(line);
      } catch {
        continue;
      }
      if (typeof o?.event_type !== 'string') continue;
      (o.event_type === 'alert' ? alerts : others).push(line);
    }
  }
  let x = 12345;
  const rand = (): number => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x / 0x80000000;
  };
  const alertBufs = alerts.map((l) => Buffer.from(`${l}\n`));
  const otherBufs = others.map((l) => Buffer.from(`${l}\n`));
  const out: Buffer[] = [];
  let nAlerts = 0;
  for (let i = 0; i < lineCount; i++) {
    if (rand() < alertRatio) {
      out.push(alertBufs[Math.floor(rand() * alertBufs.length)]!);
      nAlerts++;
    } else out.push(otherBufs[Math.floor(rand() * otherBufs.length)]!);
  }
  return { block: Buffer.concat(out), lines: lineCount, alerts: nAlerts };
}

/** The block cut into 64 KiB reads, as a socket or a file read would deliver it. */
export function* chunks(block: Buffer, size = 64 * 1024): Generator<Buffer> {
  for (let i = 0; i < block.length; i += size) yield block.subarray(i, i + size);
}
