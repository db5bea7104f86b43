/**
 * `stdin` source (pipelines, `replay`): any Readable, process.stdin by default. It can wait, so it
 * pauses while the queue is full instead of dropping. A last line without a newline is accepted
 * at end of input. `done` resolves when the input has ended and every line was handed over.
 * Like a socket, it hands over one read per turn of the event loop (resumeNextTurn).
 */
import type { Readable } from 'node:stream';
import type { LineIntake } from '../line-intake.ts';
import { resumeNextTurn, type SourceHandle } from './source-handle.ts';

export interface StdinHandle extends SourceHandle {
  readonly done: Promise<void>;
}

export function startStdin(intake: LineIntake, input: Readable = process.stdin): StdinHandle {
  const stats = intake.stats;
  const splitter = intake.newSplitter();
  stats.connected = 1;
  stats.opened++;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const finish = (): void => {
    if (stats.connected === 0) return;
    stats.connected = 0;
    input.off('data', onData);
    resolveDone();
  };
  const onData = (chunk: Buffer | string): void => {
    intake.push(splitter, typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    if (intake.mustWait) {
      input.pause();
      void intake.waitForRoom().then(() => {
        if (stats.connected === 1) input.resume();
      });
    } else {
      resumeNextTurn(input, () => stats.connected === 1);
    }
  };
  input.on('data', onData);
  input.once('end', () => {
    splitter.flush();
    // Everything read is handed over (held alerts too) before `done` resolves.
    void intake.waitForRoom().then(finish);
  });
  input.once('error', (err) => {
    intake.ioError(err, 'read');
    intake.truncated(splitter.discard(), 'input failed');
    finish();
  });

  return {
    name: stats.name,
    done,
    stats: () => stats.snapshot(),
    async stop() {
      if (stats.connected === 0) return;
      input.pause();
      intake.abortWaits();
      intake.truncated(splitter.discard(), 'source stopped');
      intake.releaseHeld();
      finish();
    },
  };
}
