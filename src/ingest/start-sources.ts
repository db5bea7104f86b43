/**
 * The ingestion entry point: starts every configured source, all writing to one sink.
 *
 *   const queue = new AlertQueue(config.sources.queue_capacity);
 *   const ingest = await startSources(config.sources, queue, { log, db, clock });
 *   for await (const batch of queue) for (const { source, alert } of batch) engine.handle(alert);
 *   ...
 *   await ingest.stop(); queue.close();
 *
 * Sockets are bound first and at once (Suricata drops events while nobody listens); call this
 * before slower start-up work. If any source fails to start, those already started are stopped
 * and the error is thrown.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { Readable } from 'node:stream';
import type { Logger } from '../log.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { AlertSink } from './alert-queue.ts';
import { SourceBookmarks } from './bookmarks.ts';
import { sourceName, type SourceConfig, type SourcesConfig } from './source-schema.ts';
import { LineIntake } from './line-intake.ts';
import type { SourceStatsSnapshot } from './source-stats.ts';
import { startFileFollow } from './sources/file-follow.ts';
import type { WatchFactory } from './sources/file-wakeups.ts';
import type { SourceHandle } from './sources/source-handle.ts';
import { startStdin } from './sources/stdin.ts';
import { startUnixDgram } from './sources/unix-dgram.ts';
import { startUnixStream } from './sources/unix-stream.ts';
import { startRedisSource } from './sources/redis-source.ts';

export type { SourceHandle } from './sources/source-handle.ts';

export interface IngestDeps {
  log: Logger;
  /** The store (node:sqlite, opened by the engine); file sources keep their bookmark there. */
  db?: DatabaseSync;
  clock?: Clock;
  /** Input of `stdin` sources (process.stdin by default; tests and `replay` pass their own). */
  stdin?: Readable;
  /** How file sources watch their files (default `fs.watch`; tests pass one that fails). */
  watch?: WatchFactory;
  /**
   * Resolves once every alert handed over so far is decided and its ban is in the kernel: the
   * redis source drops (list) or acknowledges (stream) its entries only then. Default: at once.
   */
  applied?: () => Promise<void>;
}

export interface IngestHandle {
  readonly sources: readonly SourceHandle[];
  /** One snapshot per source, in config order. */
  stats(): SourceStatsSnapshot[];
  /** Resolves when every `stdin` source has reached end of input (at once when there is none). */
  readonly inputEnded: Promise<void>;
  stop(): Promise<void>;
}

function startOne(
  config: SourceConfig,
  intake: LineIntake,
  deps: IngestDeps,
  bookmarks: SourceBookmarks | null,
  ended: Promise<void>[],
): Promise<SourceHandle> {
  switch (config.type) {
    case 'unix_stream':
      return startUnixStream(config, intake);
    case 'unix_dgram':
      return startUnixDgram(config, intake);
    case 'file':
      return startFileFollow(config, {
        intake,
        bookmarks,
        clock: deps.clock ?? systemClock,
        log: deps.log.child({ source: intake.stats.name }),
        ...(deps.watch ? { watch: deps.watch } : {}),
      });
    case 'redis':
      return Promise.resolve(
        startRedisSource(config, intake, deps.log.child({ source: intake.stats.name }), deps.applied),
      );
    case 'stdin': {
      const h = startStdin(intake, deps.stdin);
      ended.push(h.done);
      return Promise.resolve(h);
    }
  }
}

export async function startSources(config: SourcesConfig, sink: AlertSink, deps: IngestDeps): Promise<IngestHandle> {
  const clock = deps.clock ?? systemClock;
  const needsStore = config.inputs.some((i) => i.type === 'file');
  const bookmarks = needsStore && deps.db ? new SourceBookmarks(deps.db) : null;
  if (needsStore && !bookmarks) deps.log.warn('no store given: file sources will not keep a bookmark across restarts');
  const ended: Promise<void>[] = [];
  const intakes = config.inputs.map(
    (c) =>
      new LineIntake({
        name: sourceName(c),
        type: c.type,
        format: c.format,
        snortZone: c.snort_timezone,
        strict: c.strict_json,
        maxLineBytes: c.max_line_bytes,
        sink,
        canWait: c.type === 'file' || c.type === 'stdin' || (c.type === 'redis' && c.mode !== 'channel'),
        log: deps.log,
        clock,
      }),
  );
  // All at once: no socket waits for a file source's start-up.
  const started: SourceHandle[] = new Array(config.inputs.length);
  const results = await Promise.allSettled(
    config.inputs.map(async (c, i) => (started[i] = await startOne(c, intakes[i]!, deps, bookmarks, ended))),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(started.filter(Boolean).map((h) => h.stop()));
    throw failed.reason;
  }
  for (const h of started) deps.log.info({ source: h.name }, 'source started');
  return {
    sources: started,
    stats: () => started.map((h) => h.stats()),
    inputEnded: Promise.all(ended).then(() => undefined),
    async stop() {
      await Promise.all(started.map((h) => h.stop()));
    },
  };
}
