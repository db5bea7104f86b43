/**
 * nft's named counters through one shared reader (status and metrics). Reading counters makes
 * nft 1.0.6 read every set's elements, so a read happens at most every max(1 s, 10 x the last
 * read's duration) and requests in between get the last answer (cached-reader.ts).
 */
import { cachedReader } from '../cached-reader.ts';
import type { Nft } from './nft.ts';
import { type CounterValue, readCounters } from './state.ts';

export function countersReader(nft: Nft): () => Promise<readonly CounterValue[]> {
  let lastReadMs = 0;
  return cachedReader(
    async () => {
      const started = performance.now();
      try {
        return await readCounters(nft);
      } finally {
        lastReadMs = performance.now() - started;
      }
    },
    () => Math.max(1000, 10 * lastReadMs),
  );
}
