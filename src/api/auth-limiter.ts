/**
 * Failed authentications counted per client: after `maxFailures` within `windowMs` a client's
 * failing attempts are refused with 429 for `lockoutMs` (the API serves the right token first,
 * whatever this says). A success clears nothing: on a key several clients share (127.0.0.1, the
 * unix socket) one client's successes would otherwise reset another's failures. Bounded memory:
 * at most `maxClients` clients are tracked; the oldest entry is dropped first. Pure: `nowMs` is
 * passed in.
 */
export interface AuthLimiterOptions {
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
  maxClients?: number;
}

interface Entry {
  windowStartMs: number;
  failures: number;
  lockedUntilMs: number;
}

export class AuthLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly options: Required<AuthLimiterOptions>;

  constructor(options: AuthLimiterOptions) {
    this.options = { maxClients: 10_000, ...options };
  }

  /** Milliseconds the client must still wait, or 0 when it may try. */
  lockedForMs(client: string, nowMs: number): number {
    const e = this.entries.get(client);
    if (!e) return 0;
    return Math.max(0, e.lockedUntilMs - nowMs);
  }

  /** Records a failure; returns the lockout in ms when this failure triggered one, else 0. */
  fail(client: string, nowMs: number): number {
    let e = this.entries.get(client);
    if (!e || nowMs - e.windowStartMs >= this.options.windowMs) {
      this.entries.delete(client);
      e = { windowStartMs: nowMs, failures: 0, lockedUntilMs: e?.lockedUntilMs ?? 0 };
      this.entries.set(client, e);
      this.evict();
    }
    e.failures++;
    if (e.failures >= this.options.maxFailures) {
      e.lockedUntilMs = nowMs + this.options.lockoutMs;
      e.failures = 0;
      e.windowStartMs = nowMs;
      return this.options.lockoutMs;
    }
    return 0;
  }

  get trackedClients(): number {
    return this.entries.size;
  }

  private evict(): void {
    while (this.entries.size > this.options.maxClients) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) return;
      this.entries.delete(oldest);
    }
  }
}
