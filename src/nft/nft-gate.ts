/**
 * The daemon's door to nft: forwards every call to the nft it wraps until it is closed, then
 * refuses every new call (E_NFT_CLOSED) and ends the sessions opened through it, so that nothing
 * starts an nft process once the daemon is stopping. Calls already under way finish. Reads close
 * first (`closeReads`: the read session ends, `json` refuses), so that what is pending can still
 * be sent while nothing new is read.
 */
import { ErrorCodes, NftsentryError } from '../errors.ts';
import type { MonitorEvents, MonitorHandle, MonitorOptions, Nft, NftJson, NftResult, NftTransactions } from './nft.ts';

export class NftGate implements Nft {
  private readonly inner: Nft;
  private readonly sessions = new Set<NftTransactions>();
  private readonly monitors = new Set<MonitorHandle>();
  /** Present when the wrapped nft has a monitor; one opened here never starts once the gate is closed. */
  readonly openMonitor?: (events: MonitorEvents, options?: MonitorOptions) => MonitorHandle;
  private closed = false;
  private readsClosed = false;

  constructor(inner: Nft) {
    this.inner = inner;
    const open = inner.openMonitor?.bind(inner);
    if (open) {
      this.openMonitor = (events, options) => {
        const monitor = open(events, options);
        this.monitors.add(monitor);
        const gate = this;
        return {
          get stats() {
            return monitor.stats;
          },
          get listening() {
            return monitor.listening;
          },
          start: () => {
            if (!gate.closed && !gate.readsClosed) monitor.start();
          },
          stop: () => monitor.stop(),
        };
      };
    }
  }

  get netns(): string | undefined {
    return this.inner.netns;
  }

  run(args: readonly string[]): Promise<NftResult> {
    return this.open() ?? this.inner.run(args);
  }

  runScript(script: string, options?: { check?: boolean }): Promise<NftResult> {
    return this.open() ?? this.inner.runScript(script, options);
  }

  json(args: readonly string[]): Promise<NftJson> {
    return this.open(this.readsClosed) ?? this.inner.json(args);
  }

  jsonText(args: readonly string[], sink: (piece: string) => void): Promise<void> {
    return this.open(this.readsClosed) ?? this.inner.jsonText(args, sink);
  }

  openSession(): NftTransactions {
    const session = this.inner.openSession();
    this.sessions.add(session);
    return {
      run: (statements) => this.open() ?? session.run(statements),
      get running() {
        return session.running;
      },
      close: () => session.close(),
    };
  }

  useReadSession(on: boolean): void {
    if (!this.readsClosed) this.inner.useReadSession(on);
  }

  /** Refuses every new read from here on and ends the read session; writes still go through. */
  closeReads(): void {
    this.readsClosed = true;
    this.inner.useReadSession(false);
    for (const m of this.monitors) m.stop();
  }

  /** Refuses every new call from here on; ends the read session and every session opened here. */
  close(): void {
    if (this.closed) return;
    this.closeReads();
    this.closed = true;
    for (const s of this.sessions) s.close();
  }

  /** null while open; a rejected promise once closed (or `refuse`). */
  private open(refuse = false): Promise<never> | null {
    if (!this.closed && !refuse) return null;
    return Promise.reject(new NftsentryError(ErrorCodes.NFT_CLOSED, 'nft is closed: the daemon is stopping'));
  }
}
