/**
 * The fleet (docs/fleet.md): this gateway's bans go to Redis, the other gateways' bans come back
 * through the same decisions (protection) and the same flusher as its own, as source
 * `fleet:<node>`. Redis is never needed to ban: while it is away each node bans alone, keeps what
 * it could not publish in its outbox, and catches up (outbox, stream, resync) when it is back.
 *
 * Start, every reconnection and a Redis that lost its data (its epoch key gone or another) end in
 * a resync (fleet-resync.ts): one diff of the per-ban keys and tombstones with what this node
 * holds, never a flush. Its own bans whose keys are missing or shorter (lost at a failover, or the
 * whole data lost) are published again; others' bans are applied; a fleet unban's tombstone lifts;
 * a missing key alone lifts nothing.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Decider } from '../engine/decider.ts';
import type { Enforcer } from '../engine/enforcer.ts';
import type { BanEvent, BanEvents } from '../engine/ban-events.ts';
import type { Logger } from '../log.ts';
import { parsePrefix, type IpPrefix } from '../net/ip.ts';
import type { DatabaseSync } from 'node:sqlite';
import { FleetApplier } from './fleet-applier.ts';
import { FleetConsumer } from './fleet-consumer.ts';
import { fleetKeys, parseFleetBanValue, parseFleetTombstone } from './fleet-event.ts';
import { FleetPublisher } from './fleet-publisher.ts';
import { planResync } from './fleet-resync.ts';
import { type FleetConfig, fleetKindOf } from './fleet-schema.ts';
import { FleetStore, type OutboxEvent } from './fleet-store.ts';
import { readSnapshot } from './fleet-snapshot.ts';
import { RedisConnection, redisTarget } from './redis-connection.ts';

/** What the fleet needs of the daemon (Daemon has every one of these). */
export interface FleetParts {
  ledger: { events: BanEvents };
  decider: Decider;
  enforcer: Enforcer;
  operations: { unban(address: IpPrefix): Promise<boolean> };
  db: DatabaseSync;
  clock: Clock;
}

export class Fleet {
  private readonly cfg: FleetConfig;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly keys: ReturnType<typeof fleetKeys>;
  private readonly store: FleetStore;
  private readonly conn: RedisConnection;
  private readonly readConn: RedisConnection;
  private readonly publisher: FleetPublisher;
  private readonly consumer: FleetConsumer;
  private readonly applier: FleetApplier;
  private readonly parts: FleetParts;
  private unsubscribe: () => void = () => undefined;
  private timer: NodeJS.Timeout | null = null;
  /** A catch-up (epoch check, resync, outbox) in progress; the next one waits for it. */
  private catching: Promise<void> | null = null;
  private catchUpAgain = false;
  /** A connection's catch-up has not completed yet (it failed, or is due): the next check runs it. */
  private syncDue = true;
  private stopped = false;
  private readonly counts = { resyncs: 0, republished: 0, resyncLifted: 0, dataLosses: 0 };

  constructor(cfg: FleetConfig, parts: FleetParts, log: Logger) {
    this.cfg = cfg;
    this.parts = parts;
    this.log = log.child({ component: 'fleet', node: cfg.node });
    this.clock = parts.clock;
    this.keys = fleetKeys(cfg.name);
    this.store = new FleetStore(parts.db, this.log);
    this.conn = new RedisConnection(cfg.redis, `nftsentry-${cfg.node}`, this.log, cfg.check_ms);
    this.readConn = new RedisConnection(cfg.redis, `nftsentry-${cfg.node}-read`, this.log);
    this.applier = new FleetApplier({
      cfg,
      decider: parts.decider,
      enforcer: parts.enforcer,
      unbanLocal: (p) => parts.operations.unban(p),
      clock: parts.clock,
      log: this.log,
    });
    this.publisher = new FleetPublisher({
      conn: this.conn,
      store: this.store,
      keys: this.keys,
      node: cfg.node,
      maxlen: cfg.stream_maxlen,
      tombstoneMs: cfg.max_duration * 1000,
      clock: parts.clock,
      log: this.log,
    });
    this.consumer = new FleetConsumer({
      conn: this.readConn,
      store: this.store,
      stream: this.keys.stream,
      log: this.log,
      handle: (entries, redisNowMs) => this.applier.entries(entries, redisNowMs),
    });
  }

  /** Subscribes to the ban events and starts connecting; never waits for Redis. */
  start(): void {
    this.unsubscribe = this.parts.ledger.events.subscribe((e) => this.onBanEvent(e));
    this.conn.onReady(() => this.catchUp('connected'));
    this.conn.open();
    this.readConn.open();
    this.consumer.start();
    this.timer = setInterval(() => this.check(), this.cfg.check_ms);
    this.timer.unref();
    this.log.info({ fleet: this.cfg.name, redis: redisTarget(this.cfg.redis) }, 'fleet: started');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe();
    if (this.timer) clearInterval(this.timer);
    await this.catching;
    await this.publisher.flush();
    this.readConn.close();
    await this.consumer.stop();
    this.conn.close();
  }

  /** `unban --fleet`: every node lifts the target (this one lifts it through BanOperations). */
  publishUnban(target: string): void {
    this.publisher.offer({
      type: 'unban',
      target,
      localExpiresMs: null,
      localAtMs: this.clock(),
      source: 'manual',
      reason: 'fleet unban',
    });
  }

  /** Resolves once what was queued is in Redis or in the outbox (tests, stop). */
  flushed(): Promise<void> {
    return this.publisher.flush();
  }

  stats(): Record<string, unknown> {
    return {
      node: this.cfg.node,
      connected: this.conn.ready,
      ...this.publisher.stats(),
      ...this.applier.stats(),
      ...this.counts,
      readErrors: this.consumer.errors,
    };
  }

  private onBanEvent(e: BanEvent): void {
    if (e.type !== 'ban') return;
    const kind = fleetKindOf(e.source);
    if (kind === null || !this.cfg.publish.includes(kind)) return;
    this.publisher.offer({
      type: 'ban',
      target: e.address,
      localExpiresMs: e.expiresMs,
      localAtMs: e.atMs,
      source: e.source,
      reason: e.reason,
    });
  }

  private check(): void {
    if (this.stopped || !this.conn.ready) return;
    void this.publisher.flush();
    this.catchUp('check');
  }

  /** One catch-up at a time; one asked for meanwhile runs after it. */
  private catchUp(why: 'connected' | 'check'): void {
    if (this.stopped) return;
    if (why === 'connected') this.syncDue = true;
    if (this.catching) {
      if (why === 'connected') this.catchUpAgain = true;
      return;
    }
    this.catching = this.catchUpOnce(why)
      .catch((err) => this.log.warn({ err: (err as Error).message, why }, 'fleet: catch-up failed; retrying'))
      .finally(() => {
        this.catching = null;
        if (this.catchUpAgain) {
          this.catchUpAgain = false;
          this.catchUp('connected');
        }
      });
  }

  /**
   * The epoch key tells whether Redis still has the fleet's data. On a connection (start, after a
   * partition or a failover) or a data loss: the outbox first, then the resync (which publishes
   * this node's missing bans again); after a loss the new stream is read from its start.
   */
  private async catchUpOnce(why: 'connected' | 'check'): Promise<void> {
    const known = this.store.get('epoch');
    let epoch = await this.conn.send<string | null>(['GET', this.keys.epoch]);
    if (epoch === null) {
      await this.conn.send(['SET', this.keys.epoch, randomBytes(8).toString('hex'), 'NX']);
      epoch = await this.conn.send<string | null>(['GET', this.keys.epoch]);
    }
    const lost = known !== null && epoch !== known;
    if (why === 'check' && !lost && !this.syncDue) return;
    if (!this.consumer.hasPosition) this.consumer.setPosition(await this.consumer.lastId());
    if (lost) {
      this.counts.dataLosses++;
      this.log.warn("fleet: Redis lost the fleet data; publishing this node's bans again");
      this.consumer.setPosition('0-0');
    }
    await this.publisher.flush();
    await this.resync();
    // Only once all of it is done: a catch-up cut short finds the loss again next time.
    if (epoch) this.store.set('epoch', epoch);
    this.syncDue = false;
  }

  /** This node's own active bans of the kinds it publishes. */
  private ownPublished(nowMs: number): OutboxEvent[] {
    return this.store.ownActiveBans(nowMs).filter((b) => {
      const kind = fleetKindOf(b.source);
      return kind !== null && this.cfg.publish.includes(kind);
    });
  }

  /** One diff of Redis's keys and tombstones with this node's bans (fleet-resync.ts), then done. */
  private async resync(): Promise<void> {
    const snap = await readSnapshot(this.conn, this.keys, () => this.stopped);
    if (!snap) return;
    const localNowMs = this.clock();
    const plan = planResync({
      node: this.cfg.node,
      bans: snap.bans.map(parseFleetBanValue),
      tombstones: snap.tombstones.map(parseFleetTombstone),
      own: this.ownPublished(localNowMs),
      fleetBans: this.store.fleetActiveBans(),
      localNowMs,
      redisNowMs: snap.redisNowMs,
      accepts: (n) => this.applier.accepts(n),
    });
    const present = this.applier.keyEvents(plan.apply, snap.redisNowMs);
    for (const b of plan.republish) this.publisher.offer(b);
    let lifted = 0;
    for (const l of plan.lift) {
      const p = parsePrefix(l.target);
      if (p && (await this.parts.operations.unban(p))) lifted++;
    }
    await this.publisher.flush();
    this.counts.resyncs++;
    this.counts.republished += plan.republish.length;
    this.counts.resyncLifted += lifted;
    this.log.info(
      {
        keys: snap.bans.length,
        tombstones: snap.tombstones.length,
        applied: present.size,
        republished: plan.republish.length,
        lifted,
      },
      'fleet: resynced',
    );
  }
}
