/**
 * One Redis connection (node-redis), as the fleet and the redis source use it: raw commands with
 * their replies in RESP2 shapes (arrays and strings), a timeout on every command, and
 * reconnection in the background. Never required at start: a Redis that is away is retried
 * (backoff up to 1 s) while the caller goes on without it.
 *
 * node-redis's command timeout only covers the wait before a command is written, not its reply
 * (a Redis that hangs, a peer gone without a FIN): each command here is also given up after its
 * timeout, and the socket is closed after `command_timeout_ms` + BLOCK_MARGIN_MS without any
 * data (node-redis's socketTimeout), which makes node-redis reconnect. A blocking read (XREAD
 * BLOCK, BLMOVE) holds its connection until it returns: each blocking reader gets a connection of
 * its own, blocks at most 1 s, and its timeout is the block time plus the command timeout.
 */
import { readFileSync } from 'node:fs';
import { createClient } from 'redis';
import { type Logger, RateLimitedLog } from '../log.ts';

export interface RedisEndpoint {
  url: string;
  tls_ca?: string | undefined;
  connect_timeout_ms: number;
  command_timeout_ms: number;
}

/** The longest block of a blocking read here (ms): a socket is idle at most this plus the command timeout. */
export const BLOCK_MARGIN_MS = 1500;

/** Client options of an endpoint: a bare absolute path is a unix socket. */
function clientOptions(ep: RedisEndpoint, name: string, idleMs: number) {
  const socketCommon = {
    connectTimeout: ep.connect_timeout_ms,
    socketTimeout: ep.command_timeout_ms + Math.max(BLOCK_MARGIN_MS, idleMs + 500),
    reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 5), 1000),
  };
  const common = { RESP: 2 as const, disableOfflineQueue: true, name };
  if (ep.url.startsWith('/')) return { ...common, socket: { ...socketCommon, path: ep.url } };
  const tls = ep.url.startsWith('rediss:');
  const ca = tls && ep.tls_ca ? { ca: readFileSync(ep.tls_ca) } : {};
  return { ...common, url: ep.url, socket: { ...socketCommon, ...(tls ? { tls: true as const, ...ca } : {}) } };
}

/** The endpoint without its password, for logs. */
export function redactedUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

export class RedisConnection {
  private readonly client: ReturnType<typeof createClient>;
  private readonly timeoutMs: number;
  private readonly errLog = new RateLimitedLog(1, 10_000);
  private readonly readyListeners = new Set<() => void>();
  private closed = false;
  /** Errors of the connection since start (connect refused, reset, timeouts). */
  errors = 0;

  /** `idleMs`: the longest its owner leaves it without a command (a periodic check). */
  constructor(ep: RedisEndpoint, name: string, log: Logger, idleMs = 0) {
    this.timeoutMs = ep.command_timeout_ms;
    this.client = createClient(clientOptions(ep, name, idleMs) as Parameters<typeof createClient>[0]);
    this.client.on('error', (err: Error) => {
      this.errors++;
      const shown = this.errLog.take(Date.now());
      if (shown && !this.closed)
        log.warn(
          { err: err.message, redis: redactedUrl(ep.url), suppressedBefore: shown.suppressedBefore },
          'redis connection error; retrying',
        );
    });
    this.client.on('ready', () => {
      for (const l of this.readyListeners) l();
    });
  }

  /** Starts connecting; resolves at once (the connection comes up, and back, by itself). */
  open(): void {
    this.client.connect().catch(() => undefined);
  }

  get ready(): boolean {
    return this.client.isReady;
  }

  /** Called each time the connection is (again) ready. */
  onReady(fn: () => void): void {
    this.readyListeners.add(fn);
  }

  /** One command; rejects after the command timeout (plus `extraMs` for a blocking one). */
  send<T = unknown>(args: readonly (string | Buffer)[], extraMs = 0): Promise<T> {
    const ms = this.timeoutMs + extraMs;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis ${String(args[0])}: no answer in ${ms} ms`)), ms);
    });
    const sent = this.client.sendCommand(args, { timeout: ms }) as Promise<T>;
    // A reply after the timeout settles `sent` unobserved: caught here, never an unhandled rejection.
    sent.catch(() => undefined);
    return Promise.race([sent, expired]).finally(() => clearTimeout(timer));
  }

  /** Closes the connection (a command in flight fails). */
  close(): void {
    this.closed = true;
    try {
      this.client.destroy();
    } catch {
      // Never connected: nothing to close.
    }
  }
}
