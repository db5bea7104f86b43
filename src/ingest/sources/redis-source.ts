/**
 * `redis` source: Suricata's `filetype: redis` eve-log output, read from Redis. Every entry is
 * one EVE line, handed to the same LineIntake (parser, counters) as the other sources.
 *
 * - `list` (Suricata's lpush/rpush): entries are moved (LMOVE, BLMOVE when the list is empty)
 *   into a processing list of this reader, handed over, and dropped from it once the engine has
 *   applied them (`applied`); at start the processing list is read first, so a crash (kill -9)
 *   loses nothing (what was applied just before a crash may be read twice: a ban is idempotent).
 * - `stream` (Suricata 8's xadd): a consumer group; entries are XACKed after the hand-over, and
 *   at start this consumer's pending entries are read first.
 * - `channel` (publish): SUBSCRIBE; what is published while nobody listens is lost (Redis keeps
 *   nothing for a channel).
 *
 * The blocking reads run on their own connection (redis-connection.ts: node-redis has no
 * command timeout of its own, and a blocking read holds its connection).
 */
import { createClient } from 'redis';
import type { Logger } from '../../log.ts';
import { RedisConnection } from '../../fleet/redis-connection.ts';
import type { LineIntake } from '../line-intake.ts';
import type { RedisSourceConfig } from '../source-schema.ts';
import type { SourceHandle } from './source-handle.ts';

const BLOCK_SEC = 1;
const BATCH = 256;

export function startRedisSource(
  config: RedisSourceConfig,
  intake: LineIntake,
  log: Logger,
  applied: () => Promise<void> = async () => undefined,
): SourceHandle {
  const stats = intake.stats;
  const splitter = intake.newSplitter();
  let running = true;
  /** Hands lines over and resolves once the engine has applied what they decided. */
  const hand = async (lines: readonly string[]): Promise<void> => {
    for (const l of lines) intake.push(splitter, Buffer.from(`${l}\n`));
    if (intake.mustWait) await intake.waitForRoom();
    await applied();
  };
  const ep = { ...config, url: config.url };
  const conn = new RedisConnection(ep, `nftsentry-source-${stats.name}`, log);
  conn.onReady(() => {
    stats.connected = 1;
    stats.opened++;
  });
  let loop: Promise<void> = Promise.resolve();
  let subscriber: ReturnType<typeof createClient> | null = null;
  const idle = () => new Promise((r) => setTimeout(r, 100));
  const failed = async (err: unknown, what: string) => {
    if (!running) return;
    stats.connected = conn.ready ? 1 : 0;
    intake.ioError(err, what);
    await idle();
  };

  if (config.mode === 'list') {
    const proc = config.processing_key ?? `${config.key}:nftsentry:${stats.name}`;
    // lpush: the oldest entry is at the right end; rpush: at the left. New ones go to the processing list's left.
    const from = config.push === 'lpush' ? 'RIGHT' : 'LEFT';
    loop = (async () => {
      conn.open();
      let recovered = false;
      while (running) {
        if (!conn.ready) {
          await idle();
          continue;
        }
        try {
          if (!recovered) {
            // Entries a crash left in the processing list, oldest (right end) first.
            const left = await conn.send<string[]>(['LRANGE', proc, '0', '-1']);
            if (left.length > 0) {
              await hand([...left].reverse());
              await conn.send(['LTRIM', proc, '0', String(-left.length - 1)]);
            }
            recovered = true;
          }
          const first = await conn.send<string | null>(
            ['BLMOVE', config.key, proc, from, 'LEFT', String(BLOCK_SEC)],
            BLOCK_SEC * 1000,
          );
          if (first === null) continue;
          const more = await Promise.all(
            Array.from({ length: BATCH - 1 }, () =>
              conn.send<string | null>(['LMOVE', config.key, proc, from, 'LEFT']),
            ),
          );
          const batch = [first, ...more.filter((m): m is string => m !== null)];
          await hand(batch);
          // Handed over: the batch's entries are the rightmost of the processing list.
          await conn.send(['LTRIM', proc, '0', String(-batch.length - 1)]);
        } catch (err) {
          recovered = false;
          await failed(err, 'redis list read');
        }
      }
    })();
  } else if (config.mode === 'stream') {
    loop = (async () => {
      conn.open();
      let grouped = false;
      let pendingFirst = true;
      while (running) {
        if (!conn.ready) {
          await idle();
          continue;
        }
        try {
          if (!grouped) {
            await conn
              .send(['XGROUP', 'CREATE', config.key, config.consumer_group, '0', 'MKSTREAM'])
              .catch((err: Error) => {
                if (!/BUSYGROUP/.test(err.message)) throw err;
              });
            grouped = true;
          }
          const id = pendingFirst ? '0' : '>';
          const reply = await conn.send<unknown>(
            [
              'XREADGROUP',
              'GROUP',
              config.consumer_group,
              config.consumer,
              'COUNT',
              String(BATCH),
              ...(pendingFirst ? [] : ['BLOCK', String(BLOCK_SEC * 1000)]),
              'STREAMS',
              config.key,
              id,
            ],
            BLOCK_SEC * 1000,
          );
          const entries = groupEntries(reply);
          if (pendingFirst && entries.length === 0) pendingFirst = false;
          if (entries.length === 0) continue;
          await hand(entries.map((e) => eventOf(e.fields, config.field)).filter((l): l is string => l !== null));
          const bad = entries.filter((e) => eventOf(e.fields, config.field) === null).length;
          if (bad > 0) intake.ioError(new Error(`${bad} stream entries without a JSON field`), 'redis stream entry');
          await conn.send(['XACK', config.key, config.consumer_group, ...entries.map((e) => e.id)]);
        } catch (err) {
          grouped = false;
          pendingFirst = true;
          await failed(err, 'redis stream read');
        }
      }
    })();
  } else {
    const opts = config.url.startsWith('/') ? { socket: { path: config.url } } : { url: config.url };
    subscriber = createClient({ ...opts, RESP: 2 } as Parameters<typeof createClient>[0]);
    subscriber.on('error', (err: Error) => intake.ioError(err, 'redis subscribe'));
    subscriber.on('ready', () => {
      stats.connected = 1;
      stats.opened++;
    });
    const sub = subscriber;
    loop = (async () => {
      await sub.connect().catch((err: Error) => intake.ioError(err, 'redis connect'));
      await sub
        .subscribe(config.key, (message: string) => {
          intake.push(splitter, Buffer.from(`${message}\n`));
        })
        .catch((err: Error) => intake.ioError(err, 'redis subscribe'));
    })();
  }

  let stopping: Promise<void> | null = null;
  return {
    name: stats.name,
    stats: () => stats.snapshot(),
    stop() {
      stopping ??= (async () => {
        running = false;
        intake.abortWaits();
        conn.close();
        try {
          subscriber?.destroy();
        } catch {
          // Never connected.
        }
        await loop.catch(() => undefined);
        intake.releaseHeld();
        stats.connected = 0;
      })();
      return stopping;
    },
  };
}

/** XREADGROUP's reply (RESP2) -> entries with their field lists. */
function groupEntries(reply: unknown): Array<{ id: string; fields: unknown[] }> {
  if (!Array.isArray(reply) || !Array.isArray(reply[0]) || !Array.isArray(reply[0][1])) return [];
  const out: Array<{ id: string; fields: unknown[] }> = [];
  for (const e of reply[0][1] as unknown[]) {
    if (Array.isArray(e) && typeof e[0] === 'string') out.push({ id: e[0], fields: Array.isArray(e[1]) ? e[1] : [] });
  }
  return out;
}

/** The event's JSON text: the configured field, else the first field whose value is a JSON object. */
function eventOf(fields: readonly unknown[], field: string): string | null {
  let fallback: string | null = null;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const v = fields[i + 1];
    if (typeof v !== 'string') continue;
    if (fields[i] === field) return v;
    if (fallback === null && v.startsWith('{')) fallback = v;
  }
  return fallback;
}
