/**
 * Wraps a slow reader (an nft process, the engine's status) so that requests never wait for it
 * once it has answered once: a value younger than `ttlMs` (a number, or a function asked at each
 * call) is served as is; an older one is served too while one refresh runs in the background
 * (stale-while-revalidate). Only the very first call, or a call after a failed refresh, waits.
 * At most one read runs at a time.
 */
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
    if (nowMs() - cached.atMs >= ttl()) refresh().catch(() => undefined);
    return cached.value;
  };
}
