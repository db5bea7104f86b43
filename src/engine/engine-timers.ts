/**
 * The engine's periodic work: self-healing probe, kernel scanners poll, expiry sweep, own
 * addresses. Each task runs at most once at a time (a slow nft call never piles up), and every
 * timer is unref'd so that it never keeps the process alive on its own.
 */
import type { Engine } from './engine.ts';

interface Task {
  name: string;
  everyMs: () => number;
  run: () => Promise<void>;
  timer: NodeJS.Timeout | null;
  busy: boolean;
}

export class EngineTimers {
  private readonly engine: Engine;
  private readonly tasks: Task[];
  private started = false;

  constructor(engine: Engine) {
    this.engine = engine;
    const e = () => engine.config.engine;
    const task = (name: string, everyMs: () => number, run: () => Promise<void>): Task => ({ name, everyMs, run, timer: null, busy: false });
    this.tasks = [
      task('heal', () => e().heal_poll_ms, () => engine.heal()),
      task('kernel_scanners', () => e().kernel_scan_poll_ms, () => engine.pollKernelScanners()),
      task('expire', () => e().expire_poll_ms, async () => void engine.expireNow()),
      task('own_addresses', () => e().own_addresses_poll_ms, () => engine.refreshOwnAddresses()),
    ];
  }

  start(): void {
    this.started = true;
    for (const t of this.tasks) this.schedule(t, t.everyMs());
  }

  stop(): void {
    this.started = false;
    for (const t of this.tasks) {
      if (t.timer) clearTimeout(t.timer);
      t.timer = null;
    }
  }

  restart(): void {
    if (!this.started) return;
    this.stop();
    this.start();
  }

  /** Runs the self-healing check at once (after nft said the table or a set is missing). */
  healSoon(): void {
    const t = this.tasks[0]!;
    if (this.started && !t.busy) this.schedule(t, 0);
  }

  private schedule(t: Task, delayMs: number): void {
    if (t.timer) clearTimeout(t.timer);
    t.timer = setTimeout(() => void this.fire(t), delayMs);
    t.timer.unref();
  }

  private async fire(t: Task): Promise<void> {
    t.timer = null;
    if (!this.started || t.busy) return;
    t.busy = true;
    try {
      await t.run();
    } catch (err) {
      this.engine.log.warn({ task: t.name, err: (err as Error).message }, 'periodic task failed');
    } finally {
      t.busy = false;
      if (this.started && !t.timer) this.schedule(t, t.everyMs());
    }
  }
}
