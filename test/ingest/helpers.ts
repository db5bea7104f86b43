/** Shared by the ingestion tests: sample paths, temp dirs, polling with a deadline. */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor as pollFor } from '../helpers.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const samplesDir = resolve(repoRoot, '..', 'shared', 'samples');

export function allSampleFiles(dir = samplesDir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...allSampleFiles(p));
    else out.push(p);
  }
  return out;
}

/** A file is NDJSON IDS output when its first non-blank line is a JSON object with event_type or rule. */
export function isIdsNdjson(path: string): boolean {
  const first = readFileSync(path, 'utf8')
    .split('\n')
    .find((l) => l.trim() !== '');
  if (!first) return false;
  try {
    const o = JSON.parse(first) as Record<string, unknown>;
    return typeof o === 'object' && o !== null && ('event_type' in o || 'rule' in o);
  } catch {
    return path.endsWith('.json') && !path.endsWith('schema.json');
  }
}

export function makeTempDir(prefix = 'nftsentry-ingest-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. Never a bare sleep. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  await pollFor(async () => ((await check()) ? true : undefined), timeoutMs, what, 10);
}

/**
 * Every real EVE alert line of the samples that has a flow_id, with flow_id rewritten to a unique
 * sequence number so that "exactly once" can be checked by flow id.
 */
export function uniqueEveAlertLines(count: number): string[] {
  const real: string[] = [];
  for (const f of allSampleFiles()) {
    if (!isIdsNdjson(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (/"event_type":"alert"/.test(line) && /"flow_id":\d+/.test(line)) {
        try {
          JSON.parse(line);
          real.push(line);
        } catch {
          /* a broken sample line: not an alert we expect */
        }
      }
    }
  }
  const out: string[] = [];
  for (let i = 0; i < count; i++)
    out.push(real[i % real.length]!.replace(/"flow_id":\d+/, `"flow_id":${1_000_000 + i}`));
  return out;
}

/** Real non-alert EVE lines of the samples (filler). */
export function nonAlertLines(): string[] {
  const out: string[] = [];
  for (const f of allSampleFiles()) {
    if (!isIdsNdjson(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        if (typeof o.event_type === 'string' && o.event_type !== 'alert') out.push(line);
      } catch {
        /* skip */
      }
    }
  }
  return out;
}
