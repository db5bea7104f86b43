/**
 * Reads the fleet's per-ban keys and tombstones for a resync: one SCAN over both (MATCH
 * `<base>:*ban:*`), their values by MGET in chunks sent several at a time on the one connection
 * (node-redis pipelines them), then Redis's clock. A key gone between SCAN and MGET reads as null
 * and is left out.
 */
import { redisTimeMs } from './fleet-consumer.ts';
import type { fleetKeys } from './fleet-event.ts';
import type { RedisConnection } from './redis-connection.ts';

const SCAN_COUNT = 1000;
const MGET_CHUNK = 500;
/** MGETs in flight at once. */
const MGET_WINDOW = 8;

export interface FleetSnapshot {
  bans: string[];
  tombstones: string[];
  redisNowMs: number;
}

/** Null when Redis's clock did not read (the caller tries again at the next catch-up). */
export async function readSnapshot(
  conn: RedisConnection,
  keys: ReturnType<typeof fleetKeys>,
  stopped: () => boolean,
): Promise<FleetSnapshot | null> {
  const names: string[] = [];
  let cursor = '0';
  do {
    const r = await conn.send<[string, string[]]>([
      'SCAN',
      cursor,
      'MATCH',
      keys.allBansAndUnbans,
      'COUNT',
      String(SCAN_COUNT),
    ]);
    cursor = String(r[0]);
    names.push(...r[1]);
  } while (cursor !== '0' && !stopped());
  const values: unknown[] = [];
  for (let i = 0; i < names.length; i += MGET_CHUNK * MGET_WINDOW) {
    const chunks: Promise<unknown[]>[] = [];
    for (let j = i; j < Math.min(names.length, i + MGET_CHUNK * MGET_WINDOW); j += MGET_CHUNK)
      chunks.push(conn.send<unknown[]>(['MGET', ...names.slice(j, j + MGET_CHUNK)]));
    for (const c of await Promise.all(chunks)) values.push(...c);
  }
  const redisNowMs = redisTimeMs(await conn.send(['TIME']));
  if (redisNowMs === null) return null;
  const bans: string[] = [];
  const tombstones: string[] = [];
  names.forEach((name, i) => {
    const v = values[i];
    if (typeof v !== 'string') return;
    if (name.startsWith(keys.banPrefix)) bans.push(v);
    else if (name.startsWith(keys.unbanPrefix)) tombstones.push(v);
  });
  return { bans, tombstones, redisNowMs };
}
