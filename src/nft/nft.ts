/**
 * What the rest of nftsentry asks of nft. The real runner (runner.ts: processes from exec.ts,
 * the `nft -i` protocol from session.ts) and the in-memory fake (fake.ts) both implement it, so
 * the engine, the flusher, reconcile and operations run against either.
 */

export interface NftResult {
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** nft's JSON output: `{ nftables: [ { metainfo }, { table }, { set }, ... ] }`. */
export interface NftJson {
  nftables: Array<Record<string, unknown>>;
}

/** One long-lived transaction session (`nft -i`): each `run` is one kernel transaction. */
export interface NftTransactions {
  /** Runs the statements as one transaction. Errors are NftsentryError with the runner's codes. */
  run(statements: readonly string[]): Promise<NftResult>;
  /** True while the session's process runs (the fake: until closed). */
  readonly running: boolean;
  close(): void;
}

export interface Nft {
  /** The named network namespace nft runs in (`ip netns exec`); undefined: this process's. */
  readonly netns: string | undefined;
  /** `nft ARGS...` (never through a shell). */
  run(args: readonly string[]): Promise<NftResult>;
  /** A script as one atomic transaction (`nft -f`), or only checked (`nft -c -f`). */
  runScript(script: string, options?: { check?: boolean }): Promise<NftResult>;
  /** `nft -j ARGS...`, parsed. */
  json(args: readonly string[]): Promise<NftJson>;
  /** A long-lived `nft -i` for small transactions. */
  openSession(): NftTransactions;
  /** Long-running callers route plain `list` reads through one long-lived `nft -j -i` (true) or not (false). */
  useReadSession(on: boolean): void;
}
