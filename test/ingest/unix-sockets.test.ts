/**
 * A test peer plays Suricata on unix_stream and unix_dgram with real sample lines: several clients,
 * a disconnect in the middle of a line, a reconnect. Every complete alert arrives exactly once.
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { statSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DgramSocket } from 'node-unix-socket';
import { startSources, type IngestHandle } from '../../src/ingest/start-sources.ts';
import { AlertQueue, type IngestedAlert } from '../../src/ingest/alert-queue.ts';
import { sourcesSchema } from '../../src/ingest/source-schema.ts';
import { silentLogger } from '../../src/log.ts';
import { isNftsentryError, ErrorCodes } from '../../src/errors.ts';
import { makeTempDir, nonAlertLines, uniqueEveAlertLines, waitFor } from './helpers.ts';

let tmp: { dir: string; cleanup: () => void };
let handle: IngestHandle | null = null;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(async () => {
  await handle?.stop();
  handle = null;
  tmp.cleanup();
});

/** Real alerts (unique flow ids) with 20 real non-alert lines after each. */
function mixedLines(alerts: number): { lines: string[]; alertIds: string[] } {
  const a = uniqueEveAlertLines(alerts);
  const filler = nonAlertLines();
  const lines: string[] = [];
  a.forEach((line, i) => {
    lines.push(line);
    for (let k = 0; k < 20; k++) lines.push(filler[(i * 20 + k) % filler.length]!);
  });
  return { lines, alertIds: a.map((l) => /"flow_id":(\d+)/.exec(l)![1]!) };
}

function drainInto(queue: AlertQueue, got: IngestedAlert[]): () => number {
  return () => {
    got.push(...queue.take());
    return got.length;
  };
}

function openClient(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.once('error', reject);
  });
}

/** Writes text in chunks of pseudo-random sizes, so lines straddle writes. */
async function writeChunked(s: Socket, text: string, seed: number): Promise<void> {
  const data = Buffer.from(text);
  let x = seed;
  for (let i = 0; i < data.length; ) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (x % 9000);
    const chunk = data.subarray(i, i + n);
    i += n;
    if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
  }
}

function closeClient(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    s.once('close', () => resolve());
    s.end();
  });
}

describe('unix_stream', () => {
  it('replaces a stale socket, applies the mode, and delivers every complete alert exactly once across clients and a mid-line disconnect', async () => {
    const path = join(tmp.dir, 'eve.sock');
    const stale = new DgramSocket();
    stale.bind(path);
    stale.close();
    expect(existsSync(path)).toBe(true);

    const queue = new AlertQueue(100_000);
    const config = sourcesSchema.parse({
      inputs: [{ type: 'unix_stream', name: 'suricata', path, mode: '0600', format: 'eve' }],
    });
    handle = await startSources(config, queue, { log: silentLogger() });
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);

    const { lines, alertIds } = mixedLines(3000);
    const half = 1500 * 21;
    const got: IngestedAlert[] = [];
    const drain = drainInto(queue, got);

    // Client A sends the first half, then half of an alert line, and vanishes.
    const a = await openClient(path);
    // Client C sends lines of its own at the same time, on its own connection.
    const c = await openClient(path);
    await waitFor(() => handle!.stats()[0]!.connected === 2, 'two clients connected');
    const partial = lines[half]!.slice(0, 200);
    await Promise.all([
      writeChunked(a, lines.slice(0, half).join('\n') + '\n' + partial, 1),
      writeChunked(c, lines.slice(half, half + 21 * 500).join('\n') + '\n', 2),
    ]);
    a.destroy();
    await closeClient(c);
    await waitFor(() => handle!.stats()[0]!.connected === 0, 'both clients gone');

    // Suricata reconnects and carries on with the next line (the cut one is lost on its side too).
    const b = await openClient(path);
    await writeChunked(b, lines.slice(half + 21 * 500).join('\n') + '\n', 3);
    await closeClient(b);

    await waitFor(() => drain() >= 3000, 'all alerts');
    const ids = got.map((g) => g.alert.flowId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual([...alertIds].sort());
    expect(got.every((g) => g.source === 'suricata')).toBe(true);

    const st = handle.stats()[0]!;
    expect(st).toMatchObject({ alerts: 3000, nonAlerts: 60_000, badTotal: 1, dropped: 0, connected: 0, opened: 3 });
    expect(st.bad.truncated).toBe(1);
    expect(st.lines).toBe(63_000);
  });

  it('hands over one read per turn of the event loop while a client floods it (an API request never waits behind megabytes)', async () => {
    const path = join(tmp.dir, 'flood.sock');
    const queue = new AlertQueue(1_000_000);
    const config = sourcesSchema.parse({ inputs: [{ type: 'unix_stream', name: 'suricata', path, format: 'eve' }] });
    handle = await startSources(config, queue, { log: silentLogger() });
    const text = `${mixedLines(200).lines.join('\n')}\n`;
    const file = join(tmp.dir, 'flood.txt');
    const copies = Math.ceil((16 << 20) / Buffer.byteLength(text));
    writeFileSync(file, text.repeat(copies));
    const total = Buffer.byteLength(text) * copies;
    // A writer process of its own, as fast as the socket takes it.
    const writer = spawn(process.execPath, [
      '-e',
      `const s = require('node:net').connect(${JSON.stringify(path)}, () => s.end(require('node:fs').readFileSync(${JSON.stringify(file)})));`,
    ]);
    let most = 0;
    let last = 0;
    await new Promise<void>((resolve) => {
      const turn = (): void => {
        const bytes = handle!.stats()[0]!.bytes;
        most = Math.max(most, bytes - last);
        last = bytes;
        if (bytes >= total) resolve();
        else setImmediate(turn);
      };
      setImmediate(turn);
    });
    await new Promise((r) => writer.once('exit', r));
    queue.take();
    expect(last).toBe(total);
    // One read is at most 64 KiB; libuv alone would read up to 32 of them in one turn.
    expect(most).toBeLessThanOrEqual(2 * 65_536);
  });

  it('refuses to replace a live socket or a regular file', async () => {
    const path = join(tmp.dir, 'eve.sock');
    const config = sourcesSchema.parse({ inputs: [{ type: 'unix_stream', path }] });
    handle = await startSources(config, new AlertQueue(16), { log: silentLogger() });
    const again = startSources(config, new AlertQueue(16), { log: silentLogger() });
    await expect(again).rejects.toSatisfy((e) => isNftsentryError(e, ErrorCodes.CONFLICT));
    const file = join(tmp.dir, 'not-a-socket');
    writeFileSync(file, 'precious');
    const onFile = startSources(
      sourcesSchema.parse({ inputs: [{ type: 'unix_stream', path: file }] }),
      new AlertQueue(16),
      { log: silentLogger() },
    );
    await expect(onFile).rejects.toSatisfy((e) => isNftsentryError(e, ErrorCodes.CONFLICT));
    expect(statSync(file).isFile()).toBe(true);
  });

  it.skipIf(process.getuid?.() !== 0)('applies owner and group by name or id (needs root)', async () => {
    const path = join(tmp.dir, 'eve.sock');
    handle = await startSources(
      sourcesSchema.parse({ inputs: [{ type: 'unix_stream', path, owner: 'root', group: 65534, mode: '0660' }] }),
      new AlertQueue(16),
      {
        log: silentLogger(),
      },
    );
    expect(statSync(path)).toMatchObject({ uid: 0, gid: 65534 });
  });

  it('refuses an unknown group, and leaves no socket behind', async () => {
    const path = join(tmp.dir, 'eve.sock');
    const start = startSources(
      sourcesSchema.parse({ inputs: [{ type: 'unix_stream', path, group: 'no-such-group-nftsentry' }] }),
      new AlertQueue(16),
      { log: silentLogger() },
    );
    await expect(start).rejects.toSatisfy((e) => isNftsentryError(e, ErrorCodes.CONFIG_INVALID));
    expect(existsSync(path)).toBe(false);
  });

  it('removes its socket file at stop', async () => {
    const path = join(tmp.dir, 'eve.sock');
    handle = await startSources(sourcesSchema.parse({ inputs: [{ type: 'unix_stream', path }] }), new AlertQueue(16), {
      log: silentLogger(),
    });
    await handle.stop();
    handle = null;
    expect(existsSync(path)).toBe(false);
  });
});

function sendDatagram(s: DgramSocket, buf: Buffer, path: string): Promise<Error | undefined> {
  return new Promise((resolve) => s.sendTo(buf, 0, buf.length, path, (err) => resolve(err)));
}

describe('unix_dgram', () => {
  it('delivers every alert datagram exactly once across a sender that goes away mid-record and a new one', async () => {
    const path = join(tmp.dir, 'eve.dgram');
    const queue = new AlertQueue(100_000);
    const config = sourcesSchema.parse({ inputs: [{ type: 'unix_dgram', name: 'dgram', path, mode: '0620' }] });
    handle = await startSources(config, queue, { log: silentLogger() });
    expect(statSync(path).mode & 0o777).toBe(0o620);

    const { lines, alertIds } = mixedLines(1000);
    const got: IngestedAlert[] = [];
    const drain = drainInto(queue, got);
    const half = 500 * 21;

    // Sends one record per datagram, pacing on the receiver so the kernel buffer never overflows.
    const sendAll = async (sender: DgramSocket, batch: string[], offset: number): Promise<void> => {
      for (let i = 0; i < batch.length; i++) {
        // Suricata ends each record with a newline; accept both.
        const text = (offset + i) % 2 === 0 ? `${batch[i]}\n` : batch[i]!;
        let err = await sendDatagram(sender, Buffer.from(text), path);
        while (err) {
          await waitFor(() => handle!.stats()[0]!.lines >= offset + i - 50, 'receiver to catch up');
          err = await sendDatagram(sender, Buffer.from(text), path);
        }
        if (i % 200 === 0) await waitFor(() => handle!.stats()[0]!.lines >= offset + i - 400, 'receiver to catch up');
      }
    };
    const first = new DgramSocket();
    await sendAll(first, lines.slice(0, half), 0);
    // A record cut short (the sender died while building it), then the sender is gone.
    await sendDatagram(first, Buffer.from(lines[half]!.slice(0, 300)), path);
    first.close();
    const second = new DgramSocket();
    await sendAll(second, lines.slice(half + 1), half + 1);
    second.close();

    const expectedIds = alertIds.filter((id) => !lines[half]!.includes(`"flow_id":${id},`));
    await waitFor(() => handle!.stats()[0]!.lines >= lines.length, 'every datagram');
    drain();
    const ids = got.map((g) => g.alert.flowId!);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(expectedIds.sort());
    const st = handle.stats()[0]!;
    expect(st.lines).toBe(lines.length);
    expect(st.bad.not_json).toBe(1);
    expect(st.dropped).toBe(0);
  });
});
