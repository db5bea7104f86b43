/**
 * The fleet (docs/fleet.md): this gateway's bans go to Redis, the other gateways' bans come back
 * through the same decisions (protection) and the same flusher as its own, as source
 * `fleet:<node>`. Redis is never needed to ban: while it is away each node bans alone, keeps what
 * it could not publish in its outbox, and catches up (outbox, stream, resync) when it is back.
 *
 * Start, every reconnection and a Redis that lost its data (its epoch key gone or another) end in
 * a resync from the per-ban keys: one diff, never a flush. After a data loss every node publishes
 * its own active bans again.
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
import { FleetConsumer, redisTimeMs } from './fleet-consumer.ts';
import { fleetKeys } from './fleet-event.ts';
import { FleetPublisher } from './fleet-publisher.ts';
import { type FleetConfig, fleetKindOf } from './fleet-schema.ts';
import { FleetStore } from './fleet-store.ts';
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
  private readonly counts = { resyncs: 0, republished: 0, dataLosses: 0 };

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
    this.publisher.offer({ type: 'unban', target, localExpiresMs: null, source: 'manual', reason: 'fleet unban' });
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
   * partition) or a data loss: resync from the per-ban keys, and after a loss publish this node's
   * bans again and read the new stream from its start.
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
    if (lost || known === null) this.republish();
    await this.publisher.flush();
    await this.resync(!lost);
    // Only once all of it is done: a catch-up cut short finds the loss again next time.
    if (epoch) this.store.set('epoch', epoch);
    this.syncDue = false;
  }

  /** This node's own active bans, published again (after Redis lost them). */
  private republish(): void {
    const own = this.store.ownActiveBans(this.clock());
    for (const b of own) {
      const kind = fleetKindOf(b.source);
      if (kind !== null && this.cfg.publish.includes(kind)) this.publisher.offer(b);
    }
    this.counts.republished += own.length;
  }

  /** The fleet's current bans from the per-ban keys, as one diff with this node's fleet bans. */
  private async resync(liftMissing: boolean): Promise<void> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const r = await this.conn.send<[string, string[]]>(['SCAN', cursor, 'MATCH', this.keys.allBans, 'COUNT', '1000']);
      cursor = String(r[0]);
      keys.push(...r[1]);
    } while (cursor !== '0' && !this.stopped);
    const values: unknown[] = [];
    for (let i = 0; i < keys.length; i += 500)
      values.push(...(await this.conn.send<unknown[]>(['MGET', ...keys.slice(i, i + 500)])));
    const nowMs = redisTimeMs(await this.conn.send(['TIME']));
    if (nowMs === null) return;
    const present = this.applier.values(values, nowMs);
    this.counts.resyncs++;
    let lifted = 0;
    if (liftMissing) {
      // A ban about to end here may just have expired in Redis: that is no unban.
      const soon = this.clock() + 2000;
      for (const [target, { node, expiresMs }] of this.store.fleetActiveBans()) {
        if (present.has(target) || !this.applier.accepts(node) || (expiresMs !== null && expiresMs < soon)) continue;
        const p = parsePrefix(target);
        if (p && (await this.parts.operations.unban(p))) lifted++;
      }
    }
    this.log.info({ keys: keys.length, applied: present.size, lifted }, 'fleet: resynced');
  }
}
