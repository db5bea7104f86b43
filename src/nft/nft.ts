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

/** One transaction as `nft monitor` printed it. */
export interface MonitorGeneration {
  gen: number;
  /** The committing process; null when nft did not name it. */
  pid: number | null;
  /** Committed by a process this runner started: its lines are not kept. */
  own: boolean;
  lines: string[];
  /** It had more than `maxLines` lines; the others were dropped. */
  truncated: boolean;
  /** Its first lines were handed over early (MonitorEvents.early), before this generation line. */
  early: boolean;
}

export interface MonitorEvents {
  /** A (re)started monitor subscribed: from here on it misses nothing until a `gap`. */
  listening(): void;
  generation(g: MonitorGeneration): void;
  /**
   * The first lines of a large transaction nft is still printing (its generation follows, marked
   * `early`, own or not). The kernel committed it before nft printed anything: what it did is
   * already in the kernel.
   */
  early?(lines: readonly string[]): void;
  /** Changes may have been missed: the process exited (it is restarted) or nft reported lost events. */
  gap(why: string): void;
}

export interface MonitorOptions {
  /** Output after which the process is replaced (its element cache only grows); 8 MiB by default. */
  recycleBytes?: number;
  /** ...once it printed nothing for this long; 2 s by default. */
  quietMs?: number;
  /** A process not subscribed after this long is ended and started again later; 20 s by default. */
  startTimeoutMs?: number;
  /** Delay before a restart, doubled while the process keeps dying young; 100 ms .. 60 s by default. */
  restartDelayMs?: { min: number; max: number };
}

export interface MonitorStats {
  starts: number;
  exits: number;
  recycles: number;
  generations: number;
  foreign: number;
  lostEvents: number;
}

/** A running `nft monitor` (nft/monitor.ts). */
export interface MonitorHandle {
  readonly stats: MonitorStats;
  /** True while the running process is subscribed. */
  readonly listening: boolean;
  start(): void;
  /** Stops it; nothing is restarted and no event follows. */
  stop(): void;
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
  /**
   * `nft -j ARGS...` unparsed, handed to `sink` in pieces as nft prints them (the read session's
   * answer is never held whole): for listings too large to hold (nft/element-scanner.ts). A sink
   * that throws ends the call with its error.
   */
  jsonText(args: readonly string[], sink: (piece: string) => void): Promise<void>;
  /** A long-lived `nft -i` for small transactions. */
  openSession(): NftTransactions;
  /** Long-running callers route plain `list` reads through one long-lived `nft -j -i` (true) or not (false). */
  useReadSession(on: boolean): void;
  /**
   * A long-lived `nft monitor` reporting every transaction to `events` once started, its own
   * (this runner's processes) told apart. Absent where there is no kernel to watch (the fake).
   */
  openMonitor?(events: MonitorEvents, options?: MonitorOptions): MonitorHandle;
}
