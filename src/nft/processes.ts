/**
 * The nft processes one runner started (exec.ts registers each one-shot command and co-process),
 * so that `nft monitor` can tell the daemon's own transactions from everyone else's: the kernel
 * names the committing process in each `# new generation N by process PID (nft)` line.
 *
 * A process is remembered for `keepMs` after it exited: the monitor prints a transaction's
 * generation line after the kernel committed it, which can be after the process that sent it has
 * already gone (`nft -f` exits as soon as the kernel answered). Pids are allocated in increasing
 * order by Linux, so one reused by another process within that time is not a practical concern.
 */

const KEEP_MS = 60_000;

export class NftProcesses {
  private readonly live = new Set<number>();
  /** Exited processes and when they exited (performance.now()), oldest first. */
  private readonly exited = new Map<number, number>();
  private readonly keepMs: number;

  constructor(keepMs = KEEP_MS) {
    this.keepMs = keepMs;
  }

  started(pid: number | undefined): void {
    if (pid !== undefined) this.live.add(pid);
  }

  ended(pid: number | undefined): void {
    if (pid === undefined || !this.live.delete(pid)) return;
    this.exited.delete(pid);
    this.exited.set(pid, performance.now());
    this.prune();
  }

  /** True for a process this runner started (running, or exited within `keepMs`). */
  owns(pid: number): boolean {
    if (this.live.has(pid)) return true;
    const at = this.exited.get(pid);
    return at !== undefined && performance.now() - at <= this.keepMs;
  }

  /** Running processes (tests, status). */
  get running(): number {
    return this.live.size;
  }

  private prune(): void {
    const cutoff = performance.now() - this.keepMs;
    for (const [pid, at] of this.exited) {
      if (at >= cutoff) break;
      this.exited.delete(pid);
    }
  }
}
