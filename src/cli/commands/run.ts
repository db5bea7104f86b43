/**
 * `nftsentry run`: the daemon. Sources first (Suricata drops events while nobody listens), then
 * the engine (ruleset, restore, reconcile), then alerts flow from the queue into decisions.
 * SIGHUP reloads the config atomically (a bad file changes nothing; bans are kept); SIGTERM and
 * SIGINT stop cleanly and leave the bans in the kernel.
 */
import type { Config } from '../../config/config.ts';
import { loadConfig, parseConfigText } from '../../config/config.ts';
import { AlertQueue, startSources, type IngestHandle } from '../../ingest/index.ts';
import { startDaemonApi } from '../../api/daemon-api.ts';
import { assertNotHostNetns, hostNetnsForbiddenByEnv } from '../../nft/netns-guard.ts';
import { ErrorCodes, NftsentryError } from '../../errors.ts';
import { ExitCode, type Command } from '../command.ts';
import { planReload, readSettled } from '../reload.ts';
import { RulesetConfirm } from '../../engine/ruleset-confirm.ts';
import { startHeapTrim } from '../../engine/heap-trim.ts';
import { createSdNotifier } from '../sd-notify.ts';
import { Daemon } from './daemon.ts';
import { startFleet } from '../../fleet/start-fleet.ts';

/** After SIGTERM the process ends within this, whatever it holds (systemd's stop timeout is longer). */
const STOP_DEADLINE_MS = 4500;

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
    // systemd (Type=notify): READY=1 once the ruleset is applied and every socket is bound.
    const notify = createSdNotifier(log);
    // SIGTERM and SIGINT are handled from the start: one during the start-up lets it finish, then stops.
    let stopRequested!: () => void;
    const stopping = new Promise<void>((resolve) => (stopRequested = resolve));
    let stopped = false;
    let halt: () => void = () => undefined;
    const onStop = (signal: string) => {
      if (stopped) {
        // A stop is under way and ends by its deadline: a repeated SIGTERM does not cut it short.
        log.info({ signal }, 'already stopping');
        return;
      }
      log.info({ signal }, 'stopping; bans stay in the kernel');
      stopped = true;
      notify.stopping();
      halt();
      // Whatever it holds, the process ends within STOP_DEADLINE_MS; the bans stay in the kernel.
      setTimeout(() => {
        log.error(
          { deadlineMs: STOP_DEADLINE_MS },
          'stop did not finish in time; exiting now, bans stay in the kernel',
        );
        process.exit(ExitCode.OK);
      }, STOP_DEADLINE_MS).unref();
      stopRequested();
    };
    const onTerm = () => onStop('SIGTERM');
    process.on('SIGTERM', onTerm);
    process.once('SIGINT', () => onStop('SIGINT'));
    const queue = new AlertQueue(config.sources.queue_capacity);
    const daemon = new Daemon(config, { log, ...(ctx.netns ? { netns: ctx.netns } : {}) });
    halt = () => daemon.halt();
    if (stopped) halt();
    // A source that acknowledges (redis) does so once the queue is drained and nft has the bans.
    const applied = async () => {
      while (queue.length > 0 && !stopped) await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setImmediate(r));
      await daemon.flushed();
    };
    let ingest: IngestHandle = await startSources(config.sources, queue, { log, db: daemon.db, applied });
    daemon.attachSourceStats(() => ingest.stats());
    const apiDeps = { log, sources: () => ingest.stats(), events: daemon.ledger.events };
    let api: Awaited<ReturnType<typeof startDaemonApi>>;
    let fleet: ReturnType<typeof startFleet> = null;
    try {
      await daemon.start();
      fleet = startFleet(config, daemon, log);
      api = await startDaemonApi(config, daemon, apiDeps);
      // /readyz answers 503 until this is done; alerts wait in the queue meanwhile.
      await daemon.warmUp.run(config, daemon.allowlist.effective(), () => stopped);
      api?.refresh?.();
    } catch (err) {
      notify.close();
      // Do not stay alive on open sockets after a failed start.
      await ingest.stop().catch(() => undefined);
      queue.close();
      await fleet?.stop().catch(() => undefined);
      await daemon.stop().catch(() => undefined);
      // A stop asked for during the start ends it; that is a stop, not a failed start.
      if (stopped) return ExitCode.OK;
      throw err;
    }
    const consumer = (async () => {
      for await (const batch of queue) daemon.enforcer.handleAlerts(batch);
    })();
    log.info(
      { pid: process.pid, dryRun: daemon.dryRun, sources: ingest.sources.map((s) => s.name) },
      'nftsentry running',
    );
    notify.ready('running');

    const keepAlive = setInterval(() => undefined, 1 << 30);
    // The heap a burst grew into goes back once alerts stop (engine/heap-trim.ts).
    const heapTrim = startHeapTrim({ log, activity: () => daemon.enforcer.stats.snapshot().decisions });

    const startIngest = (c: Readonly<Config>) => startSources(c.sources, queue, { log, db: daemon.db, applied });
    /**
     * A reload is a transaction: the file is read once it has settled, checked whole, and each
     * part that changes is switched in turn; on any failure every part switched so far goes back
     * to the config that ran before. `config` is always what runs.
     */
    const readConfig = async () =>
      withDryRun(parseConfigText(await readSettled(ctx.configPath), ctx.configPath), dryRun);
    /**
     * Switches to `next`; throws (the previous config running again) when refused or failed. `by`
     * in the log: a SIGHUP, or `apply --confirm` and its rollback.
     */
    const switchTo = async (next: Readonly<Config>, by = 'SIGHUP'): Promise<void> => {
      const plan = planReload(config, next);
      if (plan.refused.length > 0) {
        log.error(
          { keys: plan.refused, by },
          'SIGHUP: config refused whole: these keys change on restart only (a restart applies them)',
        );
        throw new NftsentryError(
          ErrorCodes.CONFLICT,
          `config refused: ${plan.refused.join(', ')} change on restart only`,
        );
      }
      const undo: Array<() => Promise<void>> = [];
      try {
        if (plan.sources) {
          await ingest.stop();
          ingest = await startIngest(next).catch(async (err) => {
            ingest = await startIngest(config);
            throw err;
          });
          undo.push(async () => {
            await ingest.stop();
            ingest = await startIngest(config);
          });
        }
        if (plan.api) {
          await api?.close();
          api = await startDaemonApi(next, daemon, apiDeps).catch(async (err) => {
            api = await startDaemonApi(config, daemon, apiDeps);
            throw err;
          });
          undo.push(async () => {
            await api?.close();
            api = await startDaemonApi(config, daemon, apiDeps);
          });
        }
        await daemon.reload(next).catch(async (err) => {
          await daemon.reload(config);
          throw err;
        });
      } catch (err) {
        for (const u of undo.reverse()) await u().catch((e) => log.error({ err: e }, 'SIGHUP: cannot restore a part'));
        log.error({ err: (err as Error).message, by }, 'SIGHUP: reload failed; the previous config runs again');
        throw err;
      }
      for (const prefix of plan.removedAllow) log.warn({ prefix }, 'SIGHUP: allowlist entry removed');
      config = next;
      log.info({ changed: plan.changed, by }, 'SIGHUP: config applied');
    };
    // One switch at a time: SIGHUP reloads and `apply --confirm` (its apply and its rollback).
    let lane: Promise<unknown> = Promise.resolve();
    const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
      const run = lane.then(fn);
      lane = run.catch(() => undefined);
      return run;
    };
    const reload = async (): Promise<void> => {
      let next: Readonly<Config>;
      try {
        next = await readConfig();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'SIGHUP: config refused; keeping the running one');
        return;
      }
      await switchTo(next).catch(() => undefined);
    };
    const rulesetConfirm = new RulesetConfirm({
      configPath: ctx.configPath,
      applyFile: () =>
        exclusive(async () => {
          const previous = config;
          await switchTo(await readConfig(), 'apply --confirm');
          return previous;
        }),
      revertTo: (previous) => exclusive(() => switchTo(previous, 'apply --confirm rollback')),
      log,
    });
    daemon.operations.attachRulesetConfirm(rulesetConfirm);
    // SIGHUPs during a reload are one more reload after it, not one each.
    let reloading: Promise<void> | null = null;
    let again = false;
    const onHup = () => {
      again = true;
      reloading ??= (async () => {
        while (again && !stopped) {
          again = false;
          notify.reloading();
          await exclusive(reload).catch((err) => log.error({ err }, 'SIGHUP: reload failed'));
          // READY=1 whether or not the new config was taken: a refused one leaves the old running.
          if (!stopped) notify.ready('running');
        }
      })().finally(() => {
        reloading = null;
      });
    };
    process.on('SIGHUP', onHup);

    await stopping;
    rulesetConfirm.stop();
    await reloading;
    await lane;
    await api?.close();
    await ingest.stop();
    queue.close();
    await consumer;
    await fleet?.stop();
    await daemon.stop();
    clearInterval(keepAlive);
    heapTrim.stop();
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onTerm);
    notify.close();
    log.info('stopped');
    return ExitCode.OK;
  },
};
