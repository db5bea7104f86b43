/**
 * Sends this node's bans (and its fleet-wide unbans) to the fleet: one Lua script per batch reads
 * Redis's clock (TIME) and, for each event, XADDs it to the stream (trimmed, MAXLEN ~) with its
 * absolute expiry on that clock, and sets the per-ban key with the same expiry (PXAT), so a skewed
 * node clock neither stretches nor cuts a ban. An unban deletes every node's key of the target.
 *
 * What Redis does not take (away, timing out) goes to the outbox in the store and is sent, in
 * order, once Redis answers again; while the outbox holds anything, new events queue behind it.
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { fleetKeys } from './fleet-event.ts';
import type { FleetStore, OutboxEvent } from './fleet-store.ts';
import type { RedisConnection } from './redis-connection.ts';

/** Events per script call. */
const BATCH = 256;

/**
 * KEYS[1] the stream; ARGV: maxlen, the per-ban key prefix, then 7 per event (eid, node, type,
 * target, time left in ms or '' for permanent, source, reason).
 */
const PUBLISH_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local maxlen, prefix = ARGV[1], ARGV[2]
for i = 3, #ARGV, 7 do
  local eid, node, typ, target, rem, source, reason = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4], ARGV[i+5], ARGV[i+6]
  local exp = ''
  if rem ~= '' then exp = string.format('%.0f', now + tonumber(rem)) end
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'v', '1', 'eid', eid, 'node', node, 'type', typ,
    'target', target, 'exp', exp, 'source', source, 'reason', reason)
  if typ == 'ban' then
    local v = cjson.encode({eid = eid, node = node, target = target, exp = exp, source = source, reason = reason})
    if exp == '' then redis.call('SET', prefix .. node .. ':' .. target, v)
    else redis.call('SET', prefix .. node .. ':' .. target, v, 'PXAT', exp) end
  else
    local cursor = '0'
    repeat
      local r = redis.call('SCAN', cursor, 'MATCH', prefix .. '*:' .. target, 'COUNT', 1000)
      cursor = r[1]
      for _, k in ipairs(r[2]) do redis.call('DEL', k) end
    until cursor == '0'
  end
end
return now
`;

export interface PublisherStats {
  published: number;
  outboxed: number;
  failures: number;
  outbox: number;
}

export class FleetPublisher {
  private readonly conn: RedisConnection;
  private readonly store: FleetStore;
  private readonly keys: ReturnType<typeof fleetKeys>;
  private readonly node: string;
  private readonly maxlen: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Events not yet sent nor in the outbox (decided this turn, or refused by the store). */
  private pending: OutboxEvent[] = [];
  private draining: Promise<void> | null = null;
  private readonly boot = Date.now().toString(36);
  private seq = 0;
  private readonly counts = { published: 0, outboxed: 0, failures: 0 };

  constructor(p: {
    conn: RedisConnection;
    store: FleetStore;
    keys: ReturnType<typeof fleetKeys>;
    node: string;
    maxlen: number;
    clock: Clock;
    log: Logger;
  }) {
    this.conn = p.conn;
    this.store = p.store;
    this.keys = p.keys;
    this.node = p.node;
    this.maxlen = p.maxlen;
    this.clock = p.clock;
    this.log = p.log;
  }

  /** Queues an event (cheap: the ban-event listener calls this); it is sent on the next turn. */
  offer(e: Omit<OutboxEvent, 'eid'>): void {
    this.pending.push({ ...e, eid: `${this.node}.${this.boot}.${(++this.seq).toString(36)}` });
    this.draining ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
  }

  /** Sends the outbox, then what is pending; resolves when done (or Redis refused: kept). */
  flush(): Promise<void> {
    this.draining ??= this.drain();
    return this.draining;
  }

  stats(): PublisherStats {
    return { ...this.counts, outbox: this.store.outboxSize + this.pending.length };
  }

  private async drain(): Promise<void> {
    try {
      if (this.conn.ready) await this.sendOutbox();
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, BATCH);
        if (this.conn.ready && this.store.outboxSize === 0 && (await this.send(batch))) continue;
        if (this.store.append(batch)) this.counts.outboxed += batch.length;
        else {
          // The store refused too: they wait in memory for the next check.
          this.pending.unshift(...batch);
          break;
        }
      }
    } finally {
      this.draining = null;
    }
  }

  private async sendOutbox(): Promise<void> {
    for (;;) {
      const rows = this.store.peek(BATCH);
      if (rows.length === 0) return;
      if (!(await this.send(rows.map((r) => r.event)))) return;
      this.store.drop(rows[rows.length - 1]!.seq);
    }
  }

  /** One script call; false when Redis did not take it. Expired bans are left out. */
  private async send(events: readonly OutboxEvent[]): Promise<boolean> {
    const nowMs = this.clock();
    const args: string[] = [String(this.maxlen), this.keys.banPrefix];
    for (const e of events) {
      const rem = e.localExpiresMs === null ? '' : String(e.localExpiresMs - nowMs);
      if (e.type === 'ban' && rem !== '' && Number(rem) <= 0) continue;
      args.push(e.eid, this.node, e.type, e.target, e.type === 'unban' ? '' : rem, e.source, e.reason);
    }
    if (args.length === 2) return true;
    try {
      await this.conn.send(['EVAL', PUBLISH_LUA, '1', this.keys.stream, ...args]);
      this.counts.published += (args.length - 2) / 7;
      return true;
    } catch (err) {
      this.counts.failures++;
      this.log.debug({ err: (err as Error).message }, 'fleet: publish failed; kept in the outbox');
      return false;
    }
  }
}
