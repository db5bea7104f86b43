/**
 * What wakes the `file` source: inotify, through `fs.watch`, on the followed file's directory and
 * on every file the source holds open. The poll (`poll_ms`) stays as the safety net, and is the
 * only mechanism where `fs.watch` fails (EMFILE, ENOSPC: out of inotify watches; a filesystem
 * without inotify): the failure is logged once and the watch is tried again at each poll.
 *
 * - The directory watch sees names appear and go (create, rename, delete: rotation). Only events
 *   for the followed name count, so other logs written in the same directory wake nothing.
 * - A file watch is made when a file is opened and follows its inode through a rename, so a file
 *   rotated away and still written by the IDS keeps waking the source. Its `change` events are
 *   the appends and truncations; while the current file has one, the directory's `change` events
 *   for the same name are ignored (one wakeup per append, not two).
 * Every event calls `wake` at once (no debounce); the follower coalesces what arrives while it
 * reads.
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../../log.ts';

export interface Watcher {
  close(): void;
}

export type WatchEvent = 'rename' | 'change';

/** Starts one watch; throws (or calls `onError` later) when the system cannot watch `path`. */
export type WatchFactory = (
  path: string,
  onEvent: (event: WatchEvent, name: string | null) => void,
  onError: (err: Error) => void,
) => Watcher;

/** `fs.watch`, not keeping the process alive by itself. */
export const nodeWatch: WatchFactory = (path, onEvent, onError) => {
  const w: FSWatcher = watch(path, { persistent: false }, (event, name) =>
    onEvent(event === 'change' ? 'change' : 'rename', name === null ? null : String(name)),
  );
  w.on('error', onError);
  return w;
};

export class FileWakeups {
  private readonly dir: string;
  private readonly base: string;
  private readonly factory: WatchFactory;
  private readonly log: Logger;
  private readonly wake: (names: boolean) => void;
  private dirWatch: Watcher | null = null;
  /** One watch per open file, keyed by the follower's reader object. */
  private readonly files = new Map<object, Watcher>();
  private current: object | null = null;
  private failing = false;
  private closed = false;

  /** `wake(names)`: names is true when a name may have moved (rotation), false for data (append, truncation). */
  constructor(path: string, factory: WatchFactory, log: Logger, wake: (names: boolean) => void) {
    this.dir = dirname(path);
    this.base = basename(path);
    this.factory = factory;
    this.log = log;
    this.wake = wake;
  }

  /** True while the directory is watched: events wake the source, the poll is only the safety net. */
  get watching(): boolean {
    return this.dirWatch !== null;
  }

  /** Watches the directory if it is not yet (at start, and again at each poll after a failure). */
  ensureDir(): void {
    if (this.closed || this.dirWatch) return;
    this.dirWatch = this.start(this.dir, (event, name) => {
      if (name !== null && name !== this.base) return;
      if (event === 'change' && this.current && this.files.has(this.current)) return;
      this.wake(event === 'rename');
    });
  }

  /**
   * `reader` is open at `path` (which names it now): watch its inode while it stays open.
   * `current`: the followed file. Called again at each poll; a watch that exists is kept.
   */
  opened(reader: object, path: string, current: boolean): void {
    if (current) this.current = reader;
    if (this.closed || this.files.has(reader)) return;
    const w = this.start(path, (event) => this.wake(event === 'rename'), reader);
    if (w) this.files.set(reader, w);
  }

  /** `reader` is no longer the followed file (rotated away; still read while it drains). */
  retired(reader: object): void {
    if (this.current === reader) this.current = null;
  }

  closedReader(reader: object): void {
    this.files.get(reader)?.close();
    this.files.delete(reader);
    if (this.current === reader) this.current = null;
  }

  close(): void {
    this.closed = true;
    this.dirWatch?.close();
    this.dirWatch = null;
    for (const w of this.files.values()) w.close();
    this.files.clear();
  }

  private start(
    path: string,
    onEvent: (event: WatchEvent, name: string | null) => void,
    reader?: object,
  ): Watcher | null {
    let w: Watcher | null = null;
    const onError = (err: Error) => {
      this.failed(path, err);
      w?.close();
      if (reader) {
        if (this.files.get(reader) === w) this.files.delete(reader);
      } else if (this.dirWatch === w) {
        this.dirWatch = null;
      }
    };
    try {
      w = this.factory(path, onEvent, onError);
      if (this.failing) {
        this.failing = false;
        this.log.info({ path }, 'fs.watch works again: the file source is woken by inotify');
      }
      return w;
    } catch (err) {
      this.failed(path, err as Error);
      return null;
    }
  }

  /** Logged once per failing spell; the follower polls meanwhile. */
  private failed(path: string, err: Error): void {
    if (this.failing) return;
    this.failing = true;
    this.log.warn(
      { path, err: err.message, code: (err as NodeJS.ErrnoException).code },
      'fs.watch failed; the file source polls every poll_ms until it works again',
    );
  }
}
