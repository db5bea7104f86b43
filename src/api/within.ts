/**
 * A deadline for the slow parts of an answer (the engine's status, nft's counters): past it the
 * route answers without that part rather than hang an operator's `nftsentry status` or a
 * Prometheus scrape. The read itself goes on (its cached reader keeps the value for the next call).
 */
export const PART_WAIT_MS = 3000;

export function withinMs<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
