/**
 * `nftsentry run`: the daemon. Sources first (Suricata drops events while nobody listens), then
 * the engine (ruleset, restore, reconcile), then alerts flow from the queue into decisions.
 * SIGHUP reloads the config atomically (a bad file changes nothing; bans are kept); SIGTERM and
 * SIGINT stop cleanly and leave the bans in the kernel.
 */
import type { Config } from '../../config/config.ts';
import { loadConfig } from '../../config/config.ts';
import { AlertQueue, startSources, type IngestHandle } from '../../ingest/index.ts';
import { startDaemonApi } from '../../api/daemon-api.ts';
import { assertNotHostNetns, hostNetnsForbiddenByEnv } from '../../nft/netns-guard.ts';
import { ExitCode, type Command } from '../command.ts';
import { Daemon } from './daemon.ts';

/**
 * Tests start the daemon inside a namespace with the host-namespace guard on (and the host's
 * inode in NFTSENTRY_HOST_NETNS_INODE): if the daemon finds itself in the host's namespace after
 * all, it refuses to start, before it opens a socket.
 */
function refuseHostNetns(netns: string | undefined): void {
  if (hostNetnsForbiddenByEnv() || process.env.NFTSENTRY_HOST_NETNS_INODE) assertNotHostNetns(netns);
}

function withDryRun(config: Readonly<Config>, dryRun: boolean): Readonly<Config> {
  return dryRun ? { ...config, engine: { ...config.engine, dry_run: true } } : config;
}

export const runCommand: Command = {
  name: 'run',
  summary: 'the daemon: sources, decisions, nft and store (SIGHUP reloads, SIGTERM stops)',
  usage: 'nftsentry [-c FILE] [--netns NAME] run [--dry-run]',
  options: { 'dry-run': { type: 'boolean' } },
  async run(ctx, values) {
    refuseHostNetns(ctx.netns);
    const dryRun = Boolean(values['dry-run']);
    let config = withDryRun(loadConfig(ctx.configPath), dryRun);
    const log = ctx.log;
    const queue = new AlertQueue(config.sources.queue_capacity);
    const daemon = new Daemon(config, { log, ...(ctx.netns ? { netns: ctx.netns } : {}) });
    let ingest: IngestHandle = await startSources(config.sources, queue, { log, db: daemon.db });
    daemon.attachSourceStats(() => ingest.stats());
    const apiDeps = { log, sources: () => ingest.stats() };
    let api: Awaited<ReturnType<typeof startDaemonApi>>;
    try {
      await daemon.start();
      api = await startDaemonApi(config, daemon, apiDeps);
    } catch (err) {
      // Do not stay alive on open sockets after a failed start.
      await ingest.stop().catch(() => undefined);
      queue.close();
      await daemon.stop().catch(() => undefined);
      throw err;
    }
    const consumer = (async () => {
      for await (const batch of queue) daemon.handleAlerts(batch);
    })();
    log.info(
      { pid: process.pid, dryRun: daemon.dryRun, sources: ingest.sources.map((s) => s.name) },
      'nftsentry running',
    );

    let busy: Promise<void> = Promise.resolve();
    const serial = (fn: () => Promise<void>) =>
      (busy = busy.then(fn).catch((err) => log.error({ err }, 'signal handler failed')));
    const keepAlive = setInterval(() => undefined, 1 << 30);
    let stopRequested!: () => void;
    const stopping = new Promise<void>((resolve) => (stopRequested = resolve));

    const onHup = () =>
      serial(async () => {
        let next: Readonly<Config>;
        try {
          next = withDryRun(loadConfig(ctx.configPath), dryRun);
        } catch (err) {
          log.error({ err: (err as Error).message }, 'SIGHUP: config refused; keeping the running one');
          return;
        }
        if (JSON.stringify(next.sources) !== JSON.stringify(config.sources)) {
          await ingest.stop();
          ingest = await startSources(next.sources, queue, { log, db: daemon.db });
        }
        await daemon.reload(next);
        if (JSON.stringify(next.api) !== JSON.stringify(config.api)) {
          await api?.close();
          api = await startDaemonApi(next, daemon, apiDeps);
        }
        config = next;
      });
    const onStop = (signal: string) => {
      log.info({ signal }, 'stopping; bans stay in the kernel');
      stopRequested();
    };
    process.on('SIGHUP', onHup);
    process.once('SIGTERM', () => onStop('SIGTERM'));
    process.once('SIGINT', () => onStop('SIGINT'));

    await stopping;
    await busy;
    await api?.close();
    await ingest.stop();
    queue.close();
    await consumer;
    await daemon.stop();
    clearInterval(keepAlive);
    process.off('SIGHUP', onHup);
    log.info('stopped');
    return ExitCode.OK;
  },
};
