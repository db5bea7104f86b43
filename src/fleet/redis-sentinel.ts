/**
 * node-redis's Sentinel client for a RedisConnection whose endpoint has `sentinel`: the sentinels
 * name the master, the client connects to it and follows a failover (the sentinels' +switch-master
 * message, a command failing on a node that went away or turned replica, and a topology scan every
 * SCAN_INTERVAL_MS as a backstop when the link to the sentinels is lost).
 *
 * The data nodes take their user, password, db and TLS from the endpoint's url (its host:port are
 * not used); the sentinels take `sentinel.username`/`password`, and TLS when the url is rediss://.
 * Every RedisConnection has its own Sentinel client with one master connection (masterPoolSize 1),
 * so a blocking read holds only its own.
 */
import { readFileSync } from 'node:fs';
import { createSentinel } from 'redis';
import { parseHostPort } from '../net/host-port.ts';
import type { SentinelConfig } from './fleet-schema.ts';

/** How often the topology is read from the sentinels even without a message from them (ms). */
export const SCAN_INTERVAL_MS = 5000;

export interface SentinelEndpoint {
  url: string;
  tls_ca?: string | undefined;
  connect_timeout_ms: number;
  sentinel: SentinelConfig;
}

/** What the data nodes' clients take from the url: user, password, db. */
export function urlCredentials(url: string): { username?: string; password?: string; database?: number } {
  const u = new URL(url);
  const out: { username?: string; password?: string; database?: number } = {};
  if (u.username) out.username = decodeURIComponent(u.username);
  if (u.password) out.password = decodeURIComponent(u.password);
  const db = u.pathname.replace(/^\//, '');
  if (/^\d+$/.test(db)) out.database = Number(db);
  return out;
}

/** The sentinels as a log shows them: `name@host:port,...` (never a password). */
export function sentinelTarget(s: SentinelConfig): string {
  return `sentinel:${s.name}@${s.nodes.join(',')}`;
}

/**
 * The options of createSentinel. `socket` is the data nodes' socket options (timeouts,
 * reconnection) as a plain client of the same endpoint would have them.
 */
export function sentinelOptions(
  ep: SentinelEndpoint,
  name: string,
  socket: { connectTimeout: number; socketTimeout: number; reconnectStrategy: (retries: number) => number },
) {
  const tls = ep.url.startsWith('rediss:');
  const tlsOptions = tls ? { tls: true as const, ...(ep.tls_ca ? { ca: readFileSync(ep.tls_ca) } : {}) } : {};
  const s = ep.sentinel;
  return {
    name: s.name,
    sentinelRootNodes: s.nodes.map((n) => parseHostPort(n)!),
    masterPoolSize: 1,
    scanInterval: SCAN_INTERVAL_MS,
    RESP: 2 as const,
    passthroughClientErrorEvents: true,
    nodeClientOptions: {
      ...urlCredentials(ep.url),
      name,
      disableOfflineQueue: true,
      socket: { ...socket, ...tlsOptions },
    },
    // No socketTimeout: the client subscribed to the sentinels' messages is idle most of the time.
    sentinelClientOptions: {
      ...(s.username ? { username: s.username } : {}),
      ...(s.password ? { password: s.password } : {}),
      socket: { connectTimeout: ep.connect_timeout_ms, ...tlsOptions },
    },
  };
}

export type SentinelClient = ReturnType<typeof createSentinel>;

export function newSentinel(options: ReturnType<typeof sentinelOptions>): SentinelClient {
  return createSentinel(options as Parameters<typeof createSentinel>[0]);
}
