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
 *
 * With `sentinel` the same interface runs over node-redis's Sentinel client (redis-sentinel.ts):
 * `onReady` fires at the first connection and again once the client follows a failover (or
 * rebuilt its master connection), and a command given up is also aborted, since the Sentinel
 * client would otherwise hold it through a failover and send it to the new master later.
 */
import { readFileSync } from 'node:fs';
import { createClient } from 'redis';
import { type Logger, RateLimitedLog } from '../log.ts';
import type { SentinelConfig } from './fleet-schema.ts';
import { newSentinel, type SentinelClient, sentinelOptions, sentinelTarget } from './redis-sentinel.ts';
import { withinMs } from '../deadline.ts';

export interface RedisEndpoint {
  url: string;
  tls_ca?: string | undefined;
  connect_timeout_ms: number;
  command_timeout_ms: number;
  sentinel?: SentinelConfig | undefined;
}

/** The longest block of a blocking read here (ms): a socket is idle at most this plus the command timeout. */
export const BLOCK_MARGIN_MS = 1500;

/** How long a Sentinel client that gave up its first connection waits before the next (ms). */
const SENTINEL_RETRY_MS = 1000;

/** Socket options of an endpoint's data connections (timeouts, reconnection backoff). */
function socketOptions(ep: RedisEndpoint, idleMs: number) {
  return {
    connectTimeout: ep.connect_timeout_ms,
    socketTimeout: ep.command_timeout_ms + Math.max(BLOCK_MARGIN_MS, idleMs + 500),
    reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 5), 1000),
  };
}

/** Client options of an endpoint: a bare absolute path is a unix socket. */
function clientOptions(ep: RedisEndpoint, name: string, idleMs: number) {
  const socketCommon = socketOptions(ep, idleMs);
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

/** Where an endpoint leads, for logs: the url without its password, or the sentinels. */
export function redisTarget(ep: Pick<RedisEndpoint, 'url' | 'sentinel'>): string {
  return ep.sentinel ? sentinelTarget(ep.sentinel) : redactedUrl(ep.url);
}

export class RedisConnection {
  /** Exactly one of the two: a plain client, or a Sentinel client (endpoint with `sentinel`). */
  private readonly client: ReturnType<typeof createClient> | null = null;
  private readonly sentinel: SentinelClient | null = null;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private readonly target: string;
  private readonly errLog = new RateLimitedLog(1, 10_000);
  private readonly readyListeners = new Set<() => void>();
  private closed = false;
  /** Errors of the connection since start (connect refused, reset, timeouts). */
  errors = 0;

  /** `idleMs`: the longest its owner leaves it without a command (a periodic check). */
  constructor(ep: RedisEndpoint, name: string, log: Logger, idleMs = 0) {
    this.timeoutMs = ep.command_timeout_ms;
    this.log = log;
    this.target = redisTarget(ep);
    const ready = () => {
      for (const l of this.readyListeners) l();
    };
    if (ep.sentinel) {
      const options = sentinelOptions({ ...ep, sentinel: ep.sentinel }, name, socketOptions(ep, idleMs));
      this.sentinel = newSentinel(options);
      // The Sentinel client emits strings as well as Errors.
      this.sentinel.on('error', (err: unknown) => this.onError(err));
      this.sentinel.on('ready', ready);
      this.sentinel.on('topology-change', (e: { type: string; node?: { host: string; port: number } }) => {
        if (e.type === 'MASTER_CHANGE' && e.node && !this.closed)
          log.info(
            { master: `${e.node.host}:${e.node.port}`, redis: this.target, conn: name },
            'redis sentinel: master',
          );
      });
    } else {
      this.client = createClient(clientOptions(ep, name, idleMs) as Parameters<typeof createClient>[0]);
      this.client.on('error', (err: unknown) => this.onError(err));
      this.client.on('ready', ready);
    }
  }

  /** Starts connecting; resolves at once (the connection comes up, and back, by itself). */
  open(): void {
    if (this.client) this.client.connect().catch(() => undefined);
    else void this.connectSentinel();
  }

  get ready(): boolean {
    return (this.client ?? this.sentinel)!.isReady;
  }

  /** Called each time the connection is (again) ready. */
  onReady(fn: () => void): void {
    this.readyListeners.add(fn);
  }

  /** One command; rejects after the command timeout (plus `extraMs` for a blocking one). */
  send<T = unknown>(args: readonly (string | Buffer)[], extraMs = 0): Promise<T> {
    const ms = this.timeoutMs + extraMs;
    const abort = new AbortController();
    const sent = (
      this.client
        ? this.client.sendCommand(args, { timeout: ms })
        : this.sentinel!.sendCommand(false, args as (string | Buffer)[], { timeout: ms, abortSignal: abort.signal })
    ) as Promise<T>;
    // A reply after the timeout settles `sent` unobserved: caught here, never an unhandled rejection.
    sent.catch(() => undefined);
    return withinMs(sent, ms, () => {
      abort.abort();
      return new Error(`redis ${String(args[0])}: no answer in ${ms} ms`);
    });
  }

  /** Closes the connection (a command in flight fails). */
  close(): void {
    this.closed = true;
    try {
      this.client?.destroy();
    } catch {
      // Never connected: nothing to close.
    }
    this.sentinel?.destroy().catch(() => undefined);
  }

  private onError(err: unknown): void {
    this.errors++;
    const shown = this.errLog.take(Date.now());
    if (shown && !this.closed)
      this.log.warn(
        {
          err: err instanceof Error ? err.message : String(err),
          redis: this.target,
          suppressedBefore: shown.suppressedBefore,
        },
        'redis connection error; retrying',
      );
  }

  /**
   * The Sentinel client's connect() gives up after its rediscovery attempts (sentinels or master
   * away at start) and tears itself down: it is started again until this connection is closed.
   * Once connected it follows failovers by itself.
   */
  private async connectSentinel(): Promise<void> {
    while (!this.closed) {
      try {
        await this.sentinel!.connect();
        return;
      } catch (err) {
        this.onError(err);
        await new Promise((r) => setTimeout(r, SENTINEL_RETRY_MS));
      }
    }
  }
}
