/**
 * The detached process that holds an `apply --confirm` deadline when no daemon runs: started by
 * `apply` in its own session (setsid: a hangup of the SSH session or a kill of the CLI's process
 * group does not reach it), stdio closed. It polls the pending file (pending-confirm.ts) and
 * ends once `confirm` has taken it; at the deadline it takes the file itself and puts the
 * snapshot back in one transaction (nft/table-rollback.ts), the bans untouched. Its log lines go
 * to `confirm-helper.log` in the state directory.
 *
 *   node rollback-helper.ts STATE_DIR ID
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { createLogger, type Logger } from '../log.ts';
import { NftRunner } from '../nft/runner.ts';
import { restoreTableSnapshot } from '../nft/table-rollback.ts';
import { claimPending, type PendingConfirm, readPending, writeResult } from './pending-confirm.ts';

const POLL_MS = 200;
/** A rollback that nft refuses is tried this many times, a second apart (a transient failure). */
const ATTEMPTS = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until the pending apply is taken by someone else (null) or its deadline comes (it). */
async function untilDeadline(dir: string, id: string, log: Logger): Promise<PendingConfirm | null> {
  for (;;) {
    let p: PendingConfirm | null;
    try {
      p = readPending(dir);
    } catch (err) {
      // An unreadable file for a moment is no reason to give up the deadline.
      log.warn({ err: (err as Error).message }, 'apply --confirm: cannot read the pending file; polling on');
      await sleep(POLL_MS);
      continue;
    }
    if (!p || p.id !== id) return null;
    if (Date.now() >= p.deadlineMs) return p;
    await sleep(Math.min(POLL_MS, Math.max(1, p.deadlineMs - Date.now())));
  }
}

export async function holdDeadline(dir: string, id: string, log: Logger = createLogger()): Promise<void> {
  if (!(await untilDeadline(dir, id, log))) {
    log.info({ id }, 'apply --confirm: confirmed or cancelled; nothing to roll back');
    return;
  }
  const p = claimPending(dir, 'rollback');
  if (!p || p.id !== id) {
    log.info({ id }, 'apply --confirm: confirmed at the deadline; nothing to roll back');
    return;
  }
  const nft = new NftRunner({ netns: p.netns ?? undefined });
  let error = '';
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      const { statements } = await restoreTableSnapshot(nft, p.snapshot);
      writeResult(dir, { id, outcome: 'rolled-back', atMs: Date.now() });
      log.warn({ id, statements }, 'apply --confirm: not confirmed in time; the previous ruleset is back, bans kept');
      return;
    } catch (err) {
      error = (err as Error).message;
      log.error({ id, attempt, err: error }, 'apply --confirm: rollback failed');
      if (attempt < ATTEMPTS) await sleep(1000);
    }
  }
  writeResult(dir, { id, outcome: 'rollback-failed', atMs: Date.now(), error });
}

// Run as a script: from source, or as the bundle's rollback-helper.mjs in the Debian package.
if (/\/rollback-helper\.(ts|mjs)$/.test(process.argv[1] ?? '')) {
  // A hangup or an interrupt meant for the session that started it is not for this process.
  process.on('SIGHUP', () => undefined);
  process.on('SIGINT', () => undefined);
  const [dir, id] = process.argv.slice(2);
  const log = createLogger({
    destination: pino.destination({ dest: join(dir ?? '.', 'confirm-helper.log'), sync: true }),
  });
  if (!dir || !id) process.exit(2);
  holdDeadline(dir, id, log).then(
    () => process.exit(0),
    (err: unknown) => {
      log.error({ err: (err as Error).message }, 'apply --confirm: helper failed');
      process.exit(1);
    },
  );
}
