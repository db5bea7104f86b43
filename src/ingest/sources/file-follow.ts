/**
 * `file` source: follows an eve.json (or a Snort alert_json file), woken by inotify (`fs.watch` on
 * the directory and the open files: file-wakeups.ts) and, as a safety net, every `poll_ms`.
 *
 * - Wakeups are not debounced: an event starts a read at once. Events that arrive during a read
 *   make one more read right after it, so a burst of appends costs a read per read, not per event.
 * - Start: resume from the bookmark (device, inode, offset) when the file is the same; if it was
 *   rotated while nftsentry was down, find the old file by its inode in the same directory and
 *   finish it first. Without a bookmark, start at the end (after the last newline) or at the
 *   beginning, as configured. A file that appears later is read from its beginning.
 * - Rename rotation (logrotate + SIGHUP): when the path names another inode, the old file is read
 *   to its end and kept open for `rotate_grace_ms` (the IDS writes on until it reopens), then its
 *   last line is flushed even without a newline; the new file is read from offset 0.
 * - copytruncate: when the file is shorter than the read position, reading restarts at 0 and the
 *   held partial line is counted as truncated.
 * - The bookmark is saved every `bookmark_interval_ms` when it moved, and at stop. It always points
 *   at a line boundary: a partial last line is held, not committed.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../../log.ts';
import type { Clock } from '../../clock.ts';
import type { SourceBookmarks } from '../bookmarks.ts';
import type { FileSourceConfig } from '../source-schema.ts';
import type { LineIntake } from '../line-intake.ts';
import { FileReader, offsetAfterLastNewline } from './file-reader.ts';
import { FileWakeups, nodeWatch, type WatchFactory } from './file-wakeups.ts';
import type { SourceHandle } from './source-handle.ts';

export interface FileFollowDeps {
  intake: LineIntake;
  bookmarks: SourceBookmarks | null;
  clock: Clock;
  log: Logger;
  /** Default: `fs.watch`; tests pass one that fails. */
  watch?: WatchFactory;
}

interface Identity {
  dev: bigint;
  ino: bigint;
}

async function identityOf(path: string): Promise<Identity | null> {
  try {
    const st = await stat(path, { bigint: true });
    return st.isFile() ? { dev: st.dev, ino: st.ino } : null;
  } catch {
    return null;
  }
}

/** A rotated file in the same directory that still has the given identity (eve.json.1...). */
async function findByIdentity(path: string, id: Identity): Promise<string | null> {
  const dir = dirname(path);
  const names = await readdir(dir).catch(() => [] as string[]);
  const base = basename(path);
  // Likely names first (eve.json.1, eve.json-20240101), then the rest of the directory.
  names.sort((a, b) => Number(!a.startsWith(base)) - Number(!b.startsWith(base)));
  for (const name of names) {
    const other = await identityOf(join(dir, name));
    if (other && other.dev === id.dev && other.ino === id.ino) return join(dir, name);
  }
  return null;
}

/** The shortest pause between reads without an event (the config's smallest poll_ms). */
const MIN_WAIT_MS = 10;

class FileFollower {
  private readonly config: FileSourceConfig;
  private readonly deps: FileFollowDeps;
  private readonly buf = Buffer.allocUnsafe(256 * 1024);
  private cur: FileReader | null = null;
  private draining: Array<{ reader: FileReader; untilMs: number }> = [];
  private lastSavedKey = '';
  private lastSaveMs = 0;
  private wake: (() => void) | null = null;
  /** An event arrived since the last read started. */
  private dirty = false;
  /** A name may have moved (a directory event, the poll): the next read checks for rotation. */
  private namesChanged = true;
  private readonly wakeups: FileWakeups;
  private loop: Promise<void> = Promise.resolve();
  readonly stop = { stopped: false };

  constructor(config: FileSourceConfig, deps: FileFollowDeps) {
    this.config = config;
    this.deps = deps;
    this.wakeups = new FileWakeups(config.path, deps.watch ?? nodeWatch, deps.log, (names) => {
      this.dirty = true;
      if (names) this.namesChanged = true;
      this.wake?.();
    });
  }

  get name(): string {
    return this.deps.intake.stats.name;
  }

  async init(): Promise<void> {
    const { config, deps } = this;
    let bm = deps.bookmarks?.get(this.name) ?? null;
    if (bm && bm.path !== config.path) {
      deps.log.info({ was: bm.path, now: config.path }, 'file source path changed; bookmark ignored');
      bm = null;
    }
    this.wakeups.ensureDir();
    const now = await identityOf(config.path);
    if (!bm) {
      if (now)
        this.cur = await FileReader.open(config.path, deps.intake, (size, fh) =>
          config.start === 'end' ? offsetAfterLastNewline(fh, size) : 0,
        );
    } else if (now && now.dev === bm.dev && now.ino === bm.ino) {
      const offset = bm.offset;
      this.cur = await FileReader.open(config.path, deps.intake, (size) => {
        if (size >= offset) return offset;
        deps.log.warn({ offset, size }, 'file shrank while nftsentry was stopped; reading it from the start');
        return 0;
      });
    } else {
      const rotated = await findByIdentity(config.path, bm);
      if (rotated) {
        const offset = bm.offset;
        const old = await FileReader.open(rotated, deps.intake, (size) => Math.min(offset, size));
        this.draining.push({ reader: old, untilMs: deps.clock() + config.rotate_grace_ms });
        this.wakeups.opened(old, rotated, false);
        deps.log.info({ rotated, offset }, 'file rotated while nftsentry was stopped; finishing the old file first');
      } else {
        deps.log.warn(
          { offset: bm.offset },
          'bookmarked file is gone (rotated and removed?); lines after the bookmark may be lost',
        );
      }
      if (now) this.cur = await FileReader.open(config.path, deps.intake, () => 0);
    }
    if (this.cur) this.wakeups.opened(this.cur, config.path, true);
    this.updateConnected();
  }

  run(): void {
    this.loop = (async () => {
      while (!this.stop.stopped) {
        this.dirty = false;
        const full = this.namesChanged || !this.wakeups.watching;
        this.namesChanged = false;
        try {
          await this.tick(full);
        } catch (err) {
          this.deps.intake.ioError(err, 'follow');
        }
        // The poll (a wait that ended without an event) checks everything.
        if (!this.dirty && (await this.sleep(this.waitMs()))) this.namesChanged = true;
      }
    })();
  }

  async shutdown(): Promise<void> {
    this.stop.stopped = true;
    this.deps.intake.abortWaits();
    this.wake?.();
    await this.loop;
    this.wakeups.close();
    this.deps.intake.releaseHeld();
    this.saveBookmark(true);
    for (const d of this.draining) await d.reader.close();
    this.draining = [];
    await this.cur?.close();
    this.cur = null;
    this.updateConnected();
  }

  /**
   * Reads what is new. `full`: also checks the path for rotation (after a directory event, at the
   * poll, without inotify); an append event only reads, and checks for truncation when nothing
   * was there to read.
   */
  private async tick(full: boolean): Promise<void> {
    const { deps, config, stop, buf } = this;
    for (const d of [...this.draining]) {
      await d.reader.readToEnd(buf, stop);
      if (deps.clock() >= d.untilMs && !stop.stopped) {
        d.reader.flushLastLine();
        this.wakeups.closedReader(d.reader);
        await d.reader.close();
        this.draining = this.draining.filter((x) => x !== d);
      }
    }
    this.wakeups.ensureDir();
    if (!this.cur) {
      if (!(await identityOf(config.path))) return;
      this.cur = await FileReader.open(config.path, deps.intake, () => 0);
      this.wakeups.opened(this.cur, config.path, true);
      this.updateConnected();
    }
    const cur = this.cur;
    const got = await cur.readToEnd(buf, stop);
    if (got === 0 && (await cur.size()) < cur.pos) {
      deps.log.info({ path: config.path, at: cur.pos }, 'file truncated (copytruncate); reading from the start');
      cur.restartAtZero();
      await cur.readToEnd(buf, stop);
    }
    if (!full && got > 0) {
      this.saveBookmark(false);
      return;
    }
    const now = await identityOf(config.path);
    if (now && (now.dev !== cur.dev || now.ino !== cur.ino) && !stop.stopped) {
      await cur.readToEnd(buf, stop);
      deps.log.info({ path: config.path }, 'file rotated; following the new file');
      this.draining.push({ reader: cur, untilMs: deps.clock() + config.rotate_grace_ms });
      this.wakeups.retired(cur);
      this.cur = await FileReader.open(config.path, deps.intake, () => 0);
      this.wakeups.opened(this.cur, config.path, true);
      await this.cur.readToEnd(buf, stop);
    } else if (now) {
      // The path names the current file: watch it if an earlier watch failed.
      this.wakeups.opened(cur, config.path, true);
    }
    this.saveBookmark(false);
  }

  private saveBookmark(force: boolean): void {
    const cur = this.cur;
    const store = this.deps.bookmarks;
    if (!cur || !store) return;
    const key = `${cur.dev}:${cur.ino}:${cur.committed}`;
    const nowMs = this.deps.clock();
    if (key === this.lastSavedKey || (!force && nowMs - this.lastSaveMs < this.config.bookmark_interval_ms)) return;
    try {
      store.set(this.name, {
        path: this.config.path,
        dev: cur.dev,
        ino: cur.ino,
        offset: cur.committed,
        updatedMs: nowMs,
      });
      this.lastSavedKey = key;
      this.lastSaveMs = nowMs;
    } catch (err) {
      // Tried again after bookmark_interval_ms, not at every wakeup.
      this.lastSaveMs = nowMs;
      this.deps.intake.ioError(err, 'bookmark');
    }
  }

  /**
   * Until the next read without an event: `poll_ms`, or sooner when a rotated file's grace ends or
   * a moved bookmark is due.
   */
  private waitMs(): number {
    const nowMs = this.deps.clock();
    let until = nowMs + this.config.poll_ms;
    for (const d of this.draining) until = Math.min(until, d.untilMs);
    const cur = this.cur;
    if (cur && this.deps.bookmarks && `${cur.dev}:${cur.ino}:${cur.committed}` !== this.lastSavedKey)
      until = Math.min(until, this.lastSaveMs + this.config.bookmark_interval_ms);
    return Math.max(MIN_WAIT_MS, until - nowMs);
  }

  private updateConnected(): void {
    this.deps.intake.stats.connected = this.cur ? 1 : 0;
  }

  /** Resolves true when the time ran out, false when an event (or the stop) woke it. */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(true), ms);
      this.wake = () => {
        clearTimeout(t);
        resolve(false);
      };
    });
  }
}

export async function startFileFollow(config: FileSourceConfig, deps: FileFollowDeps): Promise<SourceHandle> {
  const f = new FileFollower(config, deps);
  await f.init();
  f.run();
  let stopping: Promise<void> | null = null;
  return {
    name: f.name,
    stats: () => deps.intake.stats.snapshot(),
    stop() {
      stopping ??= f.shutdown();
      return stopping;
    },
  };
}
