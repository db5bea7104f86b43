/**
 * Periodic tasks (self-healing, the kernel scanners poll, expiry, own addresses...). Each task runs
 * at most once at a time (a slow nft call never piles up), is scheduled again after it finished,
 * and every timer is unref'd so that it never keeps the process alive on its own.
 */
import type { Logger } from '../log.ts';

export interface PeriodicTask {
  name: string;
  /** Read before each scheduling, so a reload's new interval applies from the next run. */
  everyMs: () => number;
  run: () => Promise<void>;
}

interface Slot {
  task: PeriodicTask;
  timer: NodeJS.Timeout | null;
  busy: boolean;
}

export class Timers {
  private readonly slots: Slot[];
  private readonly log: Logger;
  private started = false;

  constructor(tasks: readonly PeriodicTask[], log: Logger) {
    this.slots = tasks.map((task) => ({ task, timer: null, busy: false }));
    this.log = log;
  }

  start(): void {
    this.started = true;
    for (const s of this.slots) this.schedule(s, s.task.everyMs());
  }

  stop(): void {
    this.started = false;
    for (const s of this.slots) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = null;
    }
  }

  restart(): void {
    if (!this.started) return;
    this.stop();
    this.start();
  }

  /** Runs the named task at once (unless it is running now). */
  runSoon(name: string): void {
    const s = this.slots.find((x) => x.task.name === name);
    if (s && this.started && !s.busy) this.schedule(s, 0);
  }

  private schedule(s: Slot, delayMs: number): void {
    if (s.timer) clearTimeout(s.timer);
    s.timer = setTimeout(() => void this.fire(s), delayMs);
    s.timer.unref();
  }

  private async fire(s: Slot): Promise<void> {
    s.timer = null;
    if (!this.started || s.busy) return;
    s.busy = true;
    try {
      await s.task.run();
    } catch (err) {
      this.log.warn({ task: s.task.name, err: (err as Error).message }, 'periodic task failed');
    } finally {
      s.busy = false;
      if (this.started && !s.timer) this.schedule(s, s.task.everyMs());
    }
  }
}
