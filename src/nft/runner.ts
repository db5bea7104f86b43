/**
 * The real nft behind the Nft interface: one-shot commands and scripts as processes (exec.ts),
 * transactions and reads through long-lived `nft -i` co-processes (session.ts), and `nft monitor`
 * (monitor.ts). Every process it starts is registered (NftProcesses), so the monitor knows which
 * transactions are its own.
 *
 * Scripts go through a file in a tmpfs (`nft -f FILE`), never `nft -f -`: nft 1.0.6 fails on
 * `-f -` when stdin is a socket, which is what Node gives a child process.
 */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NftsentryError, ErrorCodes } from '../errors.ts';
import { execNft, nftExecConfig, type NftExecConfig, type NftExecOptions } from './exec.ts';
import { nsInode } from './netns-guard.ts';
import { NftMonitor } from './monitor.ts';
import type { MonitorEvents, MonitorOptions, Nft, NftJson, NftResult } from './nft.ts';
import { NftProcesses } from './processes.ts';
import { NftSession } from './session.ts';

export interface NftRunnerOptions extends NftExecOptions {
  /** Directory for script files; a tmpfs by default (/dev/shm when present). */
  tmpDir?: string;
}

/** What a read through the session may contain: keywords and object names, never a separator. */
const READ_ARG = /^[A-Za-z0-9_.-]{1,64}$/;

export class NftRunner implements Nft {
  /** Where and how nft runs (sessions opened from this runner use the same). */
  readonly execConfig: NftExecConfig;
  private readonly tmpBase: string;
  private reader: NftSession | null = null;

  constructor(options: NftRunnerOptions = {}) {
    const { tmpDir, ...exec } = options;
    this.execConfig = nftExecConfig({ processes: new NftProcesses(), ...exec });
    this.tmpBase = tmpDir ?? (nsInode('/dev/shm') !== null ? '/dev/shm' : tmpdir());
  }

  get netns(): string | undefined {
    return this.execConfig.netns;
  }

  /** True when this runner refuses the host's network namespace. */
  get forbidsHostNetns(): boolean {
    return this.execConfig.forbidHostNetns;
  }

  /** Runs nft with the given arguments (never through a shell). */
  run(args: readonly string[]): Promise<NftResult> {
    return execNft(this.execConfig, args);
  }

  /**
   * Runs an nft script as one atomic transaction (`nft -f FILE`), or only checks it (`nft -c -f`).
   * The file lives in a private directory in a tmpfs and is removed afterwards.
   */
  async runScript(script: string, options: { check?: boolean } = {}): Promise<NftResult> {
    const dir = mkdtempSync(join(this.tmpBase, 'nftsentry-'));
    const file = join(dir, 'batch.nft');
    try {
      writeFileSync(file, script, { mode: 0o600 });
      return await this.run(options.check ? ['-c', '-f', file] : ['-f', file]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** A long-lived `nft -i` with this runner's namespace, nft path, timeout and guard. */
  openSession(): NftSession {
    return new NftSession(this.execConfig);
  }

  /** A long-lived `nft monitor` in this runner's namespace; this runner's processes are its own. */
  openMonitor(events: MonitorEvents, options?: MonitorOptions): NftMonitor {
    return new NftMonitor(this.execConfig, events, options);
  }

  /**
   * Long-running callers (the daemon) route their `list` reads through one long-lived
   * `nft -j -i` co-process instead of a process per read: starting a process from a large Node
   * process stalls its event loop for milliseconds each time. `false` closes it; reads then start
   * processes again.
   */
  useReadSession(on: boolean): void {
    if (on && !this.reader) this.reader = new NftSession(this.execConfig, { json: true });
    if (!on && this.reader) {
      this.reader.close();
      this.reader = null;
    }
  }

  /** `nft -j ARGS...`, parsed. A plain `list` goes through the read session when there is one. */
  async json(args: readonly string[]): Promise<NftJson> {
    if (this.reader && args[0] === 'list' && args.every((a) => READ_ARG.test(a))) return this.reader.list(args);
    const { stdout } = await this.run(['-j', ...args]);
    try {
      return JSON.parse(stdout) as NftJson;
    } catch (err) {
      throw new NftsentryError(ErrorCodes.NFT_FAILED, 'nft -j printed something that is not JSON', { cause: err });
    }
  }

  /** `nft -j ARGS...` in pieces: as they come through the read session, else the whole output at once. */
  async jsonText(args: readonly string[], sink: (piece: string) => void): Promise<void> {
    if (this.reader && args[0] === 'list' && args.every((a) => READ_ARG.test(a)))
      return this.reader.listText(args, sink);
    sink((await this.run(['-j', ...args])).stdout);
  }
}
