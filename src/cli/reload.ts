/**
 * What a SIGHUP may change, decided before anything changes. A config file is read only once it
 * has stopped changing (an editor saving in place, `cp`, config management writing while
 * `systemctl reload` runs), and a reload that would change a key a running daemon cannot take is
 * refused whole. The plan is pure; `readSettled` is the only IO here.
 */
import { stat } from 'node:fs/promises';
import type { Config } from '../config/config.ts';
import { readConfigFileAsync } from '../config/config-file.ts';

/**
 * Keys a running daemon cannot take: the store it has open, dry-run, the shape of its nft lanes
 * and its flusher, the alert queue it was built with, its fleet connection. A restart applies them.
 */
export const RESTART_ONLY_KEYS = [
  'store.path',
  'engine.dry_run',
  'engine.coprocess_max_elements',
  'engine.pipeline',
  'engine.flush_interval_ms',
  'engine.max_batch',
  'engine.burst_batch',
  'engine.burst_wait_ms',
  'sources.queue_capacity',
  'fleet',
] as const;

export interface ReloadPlan {
  /** Restart-only keys whose value differs: the reload is refused when any. */
  refused: string[];
  /** The sources' section differs: they are rebuilt. */
  sources: boolean;
  /** The API's section differs: it is restarted. */
  api: boolean;
  /** Allowlist entries of the config file that the new one no longer has. */
  removedAllow: string[];
  /** Top-level sections that differ. */
  changed: string[];
}

function at(config: Readonly<Config>, path: string): unknown {
  let v: unknown = config;
  for (const k of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[k];
  return v;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function planReload(current: Readonly<Config>, next: Readonly<Config>): ReloadPlan {
  const keys = new Set([...Object.keys(current), ...Object.keys(next)]) as Set<keyof Config>;
  const kept = new Set(next.allowlist.map((p) => p.text));
  return {
    refused: RESTART_ONLY_KEYS.filter((k) => !same(at(current, k), at(next, k))),
    sources: !same(current.sources, next.sources),
    api: !same(current.api, next.api),
    removedAllow: current.allowlist.map((p) => p.text).filter((t) => !kept.has(t)),
    changed: [...keys].filter((k) => !same(current[k], next[k])),
  };
}

/**
 * The file's text once its size, mtime and inode have stayed the same for `settleMs` (at most
 * `maxWaitMs`, then as it is), read as at start (config-file.ts): an empty or whitespace-only
 * file, a file over the size limit or one that is not UTF-8 is an error.
 */
export async function readSettled(path: string, settleMs = 200, maxWaitMs = 5000): Promise<string> {
  const started = performance.now();
  const mark = async () => {
    const s = await stat(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  };
  let last = await mark();
  let stableSince = performance.now();
  while (performance.now() - stableSince < settleMs && performance.now() - started < maxWaitMs) {
    await new Promise((r) => setTimeout(r, Math.min(50, settleMs)));
    const now = await mark();
    if (now !== last) {
      last = now;
      stableSince = performance.now();
    }
  }
  return readConfigFileAsync(path);
}
