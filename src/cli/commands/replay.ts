/**
 * `nftsentry replay FILE`: runs an EVE or Snort 3 alert_json file through the policy and prints
 * who would be banned, why and for how long. Reads through ingestion's stdin source (same
 * parsing and bad-line counting as `run`); touches neither nft nor the store.
 */
import { createReadStream } from 'node:fs';
import { loadConfig } from '../../config/config.ts';
import { NftsentryError, ErrorCodes } from '../../errors.ts';
import { AlertQueue, startSources, sourcesSchema } from '../../ingest/index.ts';
import { Replay, formatReplayBan } from '../../engine/replay.ts';
import { ExitCode, type Command } from '../command.ts';

export const replayCommand: Command = {
  name: 'replay',
  summary: 'run an EVE or Snort alert file through the policy: who would be banned, why, for how long',
  usage: 'nftsentry [-c FILE] replay [--format eve|snort|auto] [--json] ALERT_FILE',
  options: { format: { type: 'string' } },
  async run(ctx, values, positionals) {
    const file = positionals[0];
    if (!file || positionals.length > 1)
      throw new NftsentryError(ErrorCodes.BAD_REQUEST, 'give exactly one alert file');
    const format = (values.format as string | undefined) ?? 'auto';
    if (!['eve', 'snort', 'auto'].includes(format))
      throw new NftsentryError(ErrorCodes.BAD_REQUEST, `--format ${format}: eve, snort or auto`);
    const config = loadConfig(ctx.configPath);
    const replay = new Replay(config);
    const queue = new AlertQueue(10_000);
    const input = createReadStream(file);
    const opened = new Promise<void>((resolve, reject) => {
      input.once('open', () => resolve());
      input.once('error', (err) =>
        reject(new NftsentryError(ErrorCodes.NOT_FOUND, `cannot read ${file}: ${err.message}`)),
      );
    });
    await opened;
    const sources = sourcesSchema.parse({ inputs: [{ type: 'stdin', name: 'replay', format }] });
    const ingest = await startSources(sources, queue, { log: ctx.log, stdin: input });
    void ingest.inputEnded.then(() => queue.close());
    for await (const batch of queue) {
      for (const { alert } of batch) {
        const ban = replay.feed(alert);
        if (ban && !ctx.json) ctx.stdout(formatReplayBan(ban));
      }
    }
    await ingest.stop();
    const stats = ingest.stats()[0];
    const summary = {
      lines: stats?.lines ?? 0,
      alerts: replay.alerts,
      bad: stats?.badTotal ?? 0,
      bans: replay.bans.filter((b) => !b.refresh).length,
      extensions: replay.bans.filter((b) => b.refresh).length,
      targets: new Set(replay.bans.map((b) => b.target)).size,
      skips: replay.skips,
      notes: replay.notes,
    };
    if (ctx.json) ctx.stdout(JSON.stringify({ bans: replay.bans, summary }));
    else {
      const skips =
        Object.entries(replay.skips)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none';
      const hints = replay.notes.hint_mismatch
        ? `; hints naming a third address ignored: ${replay.notes.hint_mismatch}`
        : '';
      ctx.stdout(
        `\n${summary.lines} lines, ${summary.alerts} alerts (${summary.bad} bad lines): ${summary.bans} bans of ${summary.targets} targets, ${summary.extensions} extensions; not banned: ${skips}${hints}`,
      );
    }
    return ExitCode.OK;
  },
};
