/**
 * The store faults the tests make for real: a small tmpfs mounted on a directory the test created
 * (filled up, then given more room, then unmounted), another process holding the write lock on
 * the store file, an immutable file (`chattr +i`: root writes it otherwise). Plus a logger whose
 * lines the test reads, and the store's rows counted on a connection of its own.
 */
import { execFileSync, spawn } from 'node:child_process';
import { DatabaseSync } from 'node:sqlite';
import type { DestinationStream } from 'pino';
import { createLogger, type Logger } from '../../src/log.ts';
import { NODE_BIN } from '../helpers.ts';

/** A tmpfs of `sizeMiB` on `dir` (a directory this test made under the temp directory). */
export function mountTmpfs(dir: string, sizeMiB: number): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0750`, 'tmpfs', dir]);
}

export function resizeTmpfs(dir: string, sizeMiB: number): void {
  execFileSync('mount', ['-o', `remount,size=${sizeMiB}m`, dir]);
}

export function unmountTmpfs(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    // not mounted (the test failed before mounting it)
  }
}

/** `chattr +i` / `-i`: the file cannot be opened for writing, by root either. */
export function setImmutable(path: string, on: boolean): void {
  execFileSync('chattr', [on ? '+i' : '-i', path]);
}

export interface LockHolder {
  pid: number;
  /** Ends the transaction and the process; resolves once it has exited. */
  release(): Promise<void>;
}

/** Another process holding `BEGIN EXCLUSIVE` on the store file until released. */
export async function holdLock(path: string): Promise<LockHolder> {
  const script = `const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(${JSON.stringify(path)});
db.exec('BEGIN EXCLUSIVE');
process.stdout.write('held\\n');
process.stdin.on('data', () => { db.exec('ROLLBACK'); db.close(); process.exit(0); });`;
  const child = spawn(NODE_BIN, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`lock holder exited (${code})`)));
    child.stdout.once('data', () => resolve());
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid!,
    release: async () => {
      child.stdin.write('release\n');
      await exited;
    },
  };
}

export interface MemoryLog {
  log: Logger;
  lines: Array<Record<string, unknown>>;
  find(msg: string): Record<string, unknown> | undefined;
}

export function memoryLog(level = 'info'): MemoryLog {
  const lines: Array<Record<string, unknown>> = [];
  const destination: DestinationStream = { write: (s: string) => void lines.push(JSON.parse(s)) };
  return { log: createLogger({ level, destination }), lines, find: (msg) => lines.find((l) => l.msg === msg) };
}

/** Active rows of `bans`, read on a connection of the test's own. */
export function activeTargets(path: string): Set<string> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare('SELECT target FROM bans WHERE active = 1').all() as Array<{ target: string }>;
    return new Set(rows.map((r) => r.target));
  } finally {
    db.close();
  }
}
