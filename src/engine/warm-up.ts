/**
 * The warm-up of `nftsentry run`: after the start (ruleset, restore) and before the first alert
 * is taken from the queue, the daemon pays what the first alerts would otherwise pay, so that
 * they are handled as fast as the rest. `/readyz` answers 503 with the reason until it is done.
 *
 * - The `nft -i` co-processes start, each with the probe (add + delete of 0.0.0.0 and ::): at the
 *   daemon's start already (`coprocesses`), so that every user of `Daemon.start` has them.
 * - JIT: synthetic ET SCAN lines (and non-alert lines) go through the same code as real ones,
 *   on scratch objects: a LineIntake and its splitter and parser, an AlertQueue, a Decider, an
 *   Enforcer, a BanLedger over a `:memory:` store and a BanFlusher. First many of them with lanes
 *   that send nothing, then a few at the pace of real alerts with lanes that rehearse on the real
 *   co-processes: each transaction adds its elements and deletes them again (LaneTransport
 *   rehearse), so nft parses and the kernel commits what a real batch would, and the sets end
 *   as they were.
 * - The store: a ban row written and rolled back (Store.rehearse).
 * The addresses are documentation addresses (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
 * 2001:db8::/32), and any the real ledger holds a ban for is left out: the warm-up never touches
 * a real ban, never leaves a row in the real store, an element in the kernel, or a count in the
 * daemon's stats. A failure is logged and ends the warm-up early; the daemon runs on either way.
 */
import type { Clock } from '../clock.ts';
import type { Config } from '../config/config.ts';
import { AlertQueue } from '../ingest/alert-queue.ts';
import { LineIntake } from '../ingest/line-intake.ts';
import type { LineSplitter } from '../ingest/line-splitter.ts';
import { type Logger, silentLogger } from '../log.ts';
import { type IpPrefix, parsePrefix } from '../net/ip.ts';
import { Store } from '../store/store.ts';
import { BanFlusher, type FlusherLanes } from './ban-flusher.ts';
import { BanLedger } from './ban-ledger.ts';
import { Decider } from './decider.ts';
import { Enforcer } from './enforcer.ts';
import { flusherSettings } from './flusher-lanes.ts';
import { PROBE } from './kernel-bans.ts';
import { DryRunTransport, type LaneTransport } from './lane-transport.ts';
import { NftLane } from './nft-lane.ts';
import { StoreFollower } from './store-follower.ts';

export interface WarmUpParts {
  /** The daemon's lanes: their co-processes start here, and rehearse. */
  lanes: FlusherLanes;
  /** The daemon's store: one write rolled back. */
  store: Store;
  /** The daemon's ledger: targets it holds are never used. */
  ledger: { active(target: string): unknown };
  log: Logger;
  clock: Clock;
  dryRun: boolean;
}

/** Lines pushed through the scratch path with lanes that send nothing (JIT). */
const JIT_LINES = 3000;
/** Rounds paced like real alerts, rehearsed on the real co-processes (1 to 3 alerts each). */
const PACED_ROUNDS = 24;

const ET_SCAN =
  '{"timestamp":"2025-08-12T18:29:48.732867+0000","flow_id":1189257252974275,"in_iface":"ens5","event_type":"alert","src_ip":"SRC","src_port":47687,"dest_ip":"DEST","dest_port":22,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2001219,"rev":20,"signature":"ET SCAN Potential SSH Scan","category":"Attempted Information Leak","severity":2}}';
const FLOW =
  '{"timestamp":"2025-08-12T18:29:48.732867+0000","flow_id":1189257252974276,"in_iface":"ens5","event_type":"flow","src_ip":"SRC","src_port":47687,"dest_ip":"DEST","dest_port":22,"proto":"TCP","flow":{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":74,"bytes_toclient":0,"state":"new","reason":"timeout","alerted":false}}';

/** The i-th documentation address: IPv4 (3 x 256) for even i, IPv6 (each in its own /64) for odd i. */
function docAddress(i: number): string {
  if (i % 2 === 1) return `2001:db8:ffff:${(((i >> 1) % 0xfffe) + 1).toString(16)}::1`;
  const n = (i >> 1) % 768;
  return `${['192.0.2', '198.51.100', '203.0.113'][n >> 8]}.${n & 255}`;
}

/** A lane transport that rehearses every batch on `real`, and never closes it. */
function rehearsing(real: LaneTransport): LaneTransport {
  return {
    apply: async (batch) => {
      const started = performance.now();
      await real.rehearse(batch);
      return { transactions: 1, refused: [], durationMs: performance.now() - started };
    },
    send: (batch) => real.rehearse(batch),
    warm: async () => undefined,
    rehearse: (batch) => real.rehearse(batch),
    get running() {
      return real.running;
    },
    close: () => undefined,
  };
}

function scratchLanes(lanes: FlusherLanes, wrap: (t: LaneTransport) => LaneTransport): FlusherLanes {
  return {
    alerts: new NftLane('alerts', wrap(lanes.alerts.transport)),
    overlap: lanes.overlap ? new NftLane('alerts-overlap', wrap(lanes.overlap.transport)) : null,
    operator: new NftLane('operator', wrap(lanes.operator.transport)),
  };
}

/** The alert path from lines to lanes, on scratch state. */
class ScratchPath {
  readonly store = new Store(':memory:');
  readonly ledger: BanLedger;
  readonly decider: Decider;
  readonly flusher: BanFlusher;
  private readonly enforcer: Enforcer;
  private readonly queue = new AlertQueue(JIT_LINES);
  private readonly intake: LineIntake;
  private readonly splitter: LineSplitter;
  /** The first nft failure of a rehearsed transaction (the flusher logs and goes on; the warm-up stops). */
  private failure: unknown = null;

  constructor(config: Readonly<Config>, allow: readonly IpPrefix[], lanes: FlusherLanes, clock: Clock) {
    const log = silentLogger();
    this.ledger = new BanLedger(this.store, config.policy, log, clock);
    this.decider = new Decider(config, allow, this.ledger.state);
    this.flusher = new BanFlusher(lanes, new StoreFollower(this.ledger, log), log, {
      ...flusherSettings(config),
      onNftError: (err) => {
        this.failure ??= err;
      },
    });
    this.enforcer = new Enforcer({
      decider: this.decider,
      ledger: this.ledger,
      flusher: this.flusher,
      log,
      clock,
      dryRun: false,
      // Scratch ledger: an aggregate at its cap replaces scratch bans only, nothing to lift.
      replaced: () => undefined,
    });
    this.intake = new LineIntake({
      name: 'warm-up',
      type: 'unix_stream',
      format: 'eve',
      maxLineBytes: 1 << 20,
      sink: this.queue,
      log,
      clock,
    });
    this.splitter = this.intake.newSplitter();
  }

  /** One chunk of lines through splitter, parser, queue, decider, enforcer and flusher. */
  handle(lines: readonly string[]): void {
    this.intake.push(this.splitter, Buffer.from(`${lines.join('\n')}\n`));
    this.enforcer.handleAlerts(this.queue.take());
  }

  /** Resolves once everything queued reached its lanes; throws the first nft failure. */
  async flushed(): Promise<void> {
    await this.flusher.flushed();
    if (this.failure) throw this.failure;
  }

  close(): void {
    this.flusher.close();
    this.ledger.close();
  }
}

export class WarmUp {
  private readonly parts: WarmUpParts;
  private state: 'cold' | 'warming' | 'warm' = 'cold';
  private next = 0;
  private started: Promise<boolean> | null = null;

  constructor(parts: WarmUpParts) {
    this.parts = parts;
  }

  /** Why the daemon is not ready yet; null once the ruleset is applied and the warm-up is done. */
  notReady(rulesetApplied: boolean): string | null {
    if (!rulesetApplied) return 'the ruleset is not applied yet';
    if (this.state === 'cold') return 'the alert path is not warmed up yet';
    if (this.state === 'warming') return 'warming up the alert path';
    return null;
  }

  /**
   * Starts every lane's co-process (once), with the probe as its first transaction: true when
   * they run. Not fatal when it fails: the first batch starts the co-process again, and reports a
   * failure then.
   */
  coprocesses(): Promise<boolean> {
    const { lanes, log } = this.parts;
    const all = [lanes.alerts, ...(lanes.overlap ? [lanes.overlap] : []), lanes.operator];
    this.started ??= Promise.all(all.map((l) => l.transport.warm({ remove: PROBE })))
      .then(() => true)
      .catch((err: Error) => {
        log.warn({ err: err.message }, 'nft -i co-process did not start');
        return false;
      });
    return this.started;
  }

  /**
   * Runs the warm-up once; `stopping` ends it early (a stop during the start): after it, no nft
   * process is started and no transaction is sent.
   */
  async run(config: Readonly<Config>, allow: readonly IpPrefix[], stopping: () => boolean): Promise<void> {
    if (this.state !== 'cold' || stopping()) return;
    this.state = 'warming';
    const { log } = this.parts;
    const started = performance.now();
    const coprocesses = await this.coprocesses();
    try {
      if (!stopping()) await this.jit(config, allow);
      if (!stopping() && coprocesses && !this.parts.dryRun) await this.paced(config, allow, stopping);
      if (!stopping()) this.rehearseStore(config, allow);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'warm-up ended early; the first alerts may be slower');
    }
    this.state = 'warm';
    log.info({ durationMs: Math.round(performance.now() - started) }, 'warm: the alert path is ready');
  }

  /** Addresses never banned for real: the next documentation addresses the ledger does not hold. */
  private addresses(n: number): string[] {
    const out: string[] = [];
    while (out.length < n) {
      const a = docAddress(this.next++);
      // An IPv6 address may be banned as its /64 (policy ipv6_prefix): neither key may be held.
      const net64 = a.includes(':') ? `${a.slice(0, -1)}/64` : a;
      if (!this.parts.ledger.active(a) && !this.parts.ledger.active(net64)) out.push(a);
    }
    return out;
  }

  private lines(addresses: readonly string[], withFlows: boolean): string[] {
    const out: string[] = [];
    for (const a of addresses) {
      const dest = a.includes(':') ? '2001:db8::1' : '192.0.2.1';
      out.push(ET_SCAN.replace('SRC', a).replace('DEST', dest));
      if (withFlows)
        out.push(FLOW.replace('SRC', a).replace('DEST', dest), FLOW.replace('SRC', dest).replace('DEST', a));
    }
    return out;
  }

  /** A scratch path whose lanes send nothing (the JIT pass and the store rehearsal). */
  private dryScratch(config: Readonly<Config>, allow: readonly IpPrefix[]): ScratchPath {
    const lanes = scratchLanes(this.parts.lanes, () => new DryRunTransport(silentLogger()));
    return new ScratchPath(config, allow, lanes, this.parts.clock);
  }

  /** Many lines through the scratch path, with lanes that send nothing; the event loop turns between chunks. */
  private async jit(config: Readonly<Config>, allow: readonly IpPrefix[]): Promise<void> {
    const path = this.dryScratch(config, allow);
    try {
      for (let done = 0; done < JIT_LINES; done += 3 * 64) {
        path.handle(this.lines(this.addresses(64), true));
        await path.flushed();
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      path.close();
    }
  }

  /** Alerts at the pace of real ones (1 to 3 at a time), each transaction rehearsed on the real co-processes. */
  private async paced(config: Readonly<Config>, allow: readonly IpPrefix[], stopping: () => boolean): Promise<void> {
    const path = new ScratchPath(config, allow, scratchLanes(this.parts.lanes, rehearsing), this.parts.clock);
    try {
      for (let round = 0; round < PACED_ROUNDS && !stopping(); round++) {
        for (const a of this.addresses((round % 3) + 1)) {
          path.handle(this.lines([a], false));
          await new Promise((r) => setImmediate(r));
        }
        await path.flushed();
      }
      if (stopping()) return;
      // The operator lane: a ban and an unban, rehearsed.
      const [a] = this.addresses(1);
      await this.parts.lanes.operator.transport.rehearse({
        add: [{ set: a!.includes(':') ? 'ban6' : 'ban4', key: a!, timeoutSec: 60 }],
      });
    } finally {
      path.close();
    }
  }

  /** A ban row written to the real store and rolled back. */
  private rehearseStore(config: Readonly<Config>, allow: readonly IpPrefix[]): void {
    const path = this.dryScratch(config, allow);
    try {
      const nowMs = this.parts.clock();
      for (const a of this.addresses(4)) {
        const prefix = parsePrefix(a);
        const d = prefix && path.decider.manual(prefix, 3600, 'warm-up', nowMs);
        if (d?.kind === 'ban') this.parts.store.rehearse([path.ledger.recordBan(d, nowMs)]);
      }
    } finally {
      path.close();
    }
  }
}
