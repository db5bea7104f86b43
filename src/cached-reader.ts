/**
 * Wraps a slow reader (an nft process, the engine's status) so that requests never wait for it
 * once it has answered once: a value younger than `ttlMs` (a number, or a function asked at each
 * call) is served as is; an older one is served too while one refresh runs in the background
 * (stale-while-revalidate), up to STALE_FACTOR x ttl old: a call after a longer quiet (a one-off
 * `nftsentry status` after an hour) waits for a fresh read rather than get an hour-old answer.
 * Callers wait only at the first call, after a failed refresh, and after such a quiet. At
 * most one read runs at a time.
 */
/** A cached value older than this many ttls is not served: the caller waits for a fresh one. */
export const STALE_FACTOR = 5;

export function cachedReader<T>(
  read: () => Promise<T>,
  ttlMs: number | (() => number),
  nowMs: () => number = Date.now,
): () => Promise<T> {
  const ttl = typeof ttlMs === 'number' ? () => ttlMs : ttlMs;
  let cached: { atMs: number; value: T } | null = null;
  let inflight: Promise<T> | null = null;
  const refresh = (): Promise<T> => {
    inflight ??= read()
      .then((value) => {
        cached = { atMs: nowMs(), value };
        return value;
      })
      .catch((err: unknown) => {
        cached = null;
        throw err;
      })
      .finally(() => {
        inflight = null;
      });
    return inflight;
  };
  return async () => {
    if (!cached) return refresh();
    const age = nowMs() - cached.atMs;
    if (age >= STALE_FACTOR * ttl()) return refresh();
    if (age >= ttl()) refresh().catch(() => undefined);
    return cached.value;
  };
}
