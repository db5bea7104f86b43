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
import { createLogger } from '../log.ts';
import { NftRunner } from '../nft/runner.ts';
import { restoreTableSnapshot } from '../nft/table-rollback.ts';
import { claimPending, readPending, writeResult } from './pending-confirm.ts';

const POLL_MS = 200;

export async function holdDeadline(dir: string, id: string, log = createLogger()): Promise<void> {
  for (;;) {
    const p = readPending(dir);
    if (!p || p.id !== id) {
      log.info({ id }, 'apply --confirm: confirmed or cancelled; nothing to roll back');
      return;
    }
    if (Date.now() >= p.deadlineMs) break;
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(1, p.deadlineMs - Date.now()))));
  }
  const p = claimPending(dir, 'rollback');
  if (!p || p.id !== id) {
    log.info({ id }, 'apply --confirm: confirmed at the deadline; nothing to roll back');
    return;
  }
  try {
    const nft = new NftRunner({ netns: p.netns ?? undefined });
    const { statements } = await restoreTableSnapshot(nft, p.snapshot);
    writeResult(dir, { id, outcome: 'rolled-back', atMs: Date.now() });
    log.warn({ id, statements }, 'apply --confirm: not confirmed in time; the previous ruleset is back, bans kept');
  } catch (err) {
    writeResult(dir, { id, outcome: 'rollback-failed', atMs: Date.now(), error: (err as Error).message });
    log.error({ id, err: (err as Error).message }, 'apply --confirm: rollback failed');
  }
}

if (process.argv[1]?.endsWith('/rollback-helper.ts')) {
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
