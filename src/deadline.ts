/**
 * `p`, unless `ms` pass first: then `late()` runs (the caller's clean-up: end a co-process, abort a
 * command) and its error rejects the answer. A settlement of `p` after that is ignored.
 */
export function withinMs<T>(p: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}
