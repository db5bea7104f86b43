/**
 * Sends this node's bans (and its fleet-wide unbans) to the fleet: one Lua script per batch reads
 * Redis's clock (TIME) and, for each event, XADDs it to the stream (trimmed, MAXLEN ~) with its
 * absolute expiry on that clock, and sets the per-ban key with the same expiry (PXAT), so a skewed
 * node clock neither stretches nor cuts a ban. Each event also carries when it was decided (`at`,
 * sent as its age, so on Redis's clock too).
 *
 * An unban deletes every node's key of the target decided at or before it and leaves a tombstone
 * (fleet-event.ts `unbanPrefix`) until the longest of them would have ended (at least
 * `tombstoneMs`). A ban decided at or before a tombstone of its target is refused inside the same
 * script: an outbox or a catch-up of a node that was away cannot bring back what the fleet unbanned
 * meanwhile, whatever that node has read of the stream.
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
/** Values per event in ARGV. */
const PER_EVENT = 8;

/**
 * KEYS[1] the stream; ARGV: maxlen, the per-ban key prefix, the tombstone prefix, a tombstone's
 * least life (ms), then 8 per event (eid, node, type, target, time left in ms or '' for permanent,
 * age in ms or '' when unknown, source, reason). Returns {Redis's time, bans refused}.
 */
const PUBLISH_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local maxlen, prefix, tprefix, floor = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local function field(v, name)
  if not v then return nil end
  local ok, o = pcall(cjson.decode, v)
  if ok and type(o) == 'table' and type(o[name]) == 'string' then return tonumber(o[name]) end
  return nil
end
local refused = 0
for i = 5, #ARGV, ${PER_EVENT} do
  local eid, node, typ, target, rem, age, source, reason =
    ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4], ARGV[i+5], ARGV[i+6], ARGV[i+7]
  local at = 0
  if age ~= '' then at = now - tonumber(age) end
  local ats = string.format('%.0f', at)
  local tkey = tprefix .. target
  local tomb = redis.call('GET', tkey)
  local tat = field(tomb, 'at') or -1
  if typ == 'ban' then
    if at <= tat then
      refused = refused + 1
    else
      local exp = ''
      if rem ~= '' then exp = string.format('%.0f', now + tonumber(rem)) end
      redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'v', '1', 'eid', eid, 'node', node, 'type', typ,
        'target', target, 'exp', exp, 'at', ats, 'source', source, 'reason', reason)
      local v = cjson.encode({eid = eid, node = node, target = target, exp = exp, at = ats, source = source, reason = reason})
      if exp == '' then redis.call('SET', prefix .. node .. ':' .. target, v)
      else redis.call('SET', prefix .. node .. ':' .. target, v, 'PXAT', exp) end
    end
  else
    local last = now + floor
    local cursor = '0'
    repeat
      local r = redis.call('SCAN', cursor, 'MATCH', prefix .. '*:' .. target, 'COUNT', 1000)
      cursor = r[1]
      for _, k in ipairs(r[2]) do
        local v = redis.call('GET', k)
        if (field(v, 'at') or -1) <= at then
          local kexp = field(v, 'exp')
          if kexp and kexp > last then last = kexp end
          redis.call('DEL', k)
        end
      end
    until cursor == '0'
    if at > tat then
      local texp = field(tomb, 'exp')
      if texp and texp > last then last = texp end
      local us = string.format('%.0f', last)
      redis.call('SET', tkey, cjson.encode({eid = eid, node = node, target = target, exp = us, at = ats,
        source = source, reason = reason}), 'PXAT', us)
    end
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'v', '1', 'eid', eid, 'node', node, 'type', typ,
      'target', target, 'exp', '', 'at', ats, 'source', source, 'reason', reason)
  end
end
return {now, refused}
`;

export interface PublisherStats {
  published: number;
  /** Bans Redis refused: a fleet unban of their target came after them. */
  refused: number;
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
  private readonly tombstoneMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Events not yet sent nor in the outbox (decided this turn, or refused by the store). */
  private pending: OutboxEvent[] = [];
  private draining: Promise<void> | null = null;
  private readonly boot = Date.now().toString(36);
  private seq = 0;
  private readonly counts = { published: 0, refused: 0, outboxed: 0, failures: 0 };

  constructor(p: {
    conn: RedisConnection;
    store: FleetStore;
    keys: ReturnType<typeof fleetKeys>;
    node: string;
    maxlen: number;
    /** A tombstone's least life: fleet.max_duration (no fleet ban lasts longer elsewhere). */
    tombstoneMs: number;
    clock: Clock;
    log: Logger;
  }) {
    this.conn = p.conn;
    this.store = p.store;
    this.keys = p.keys;
    this.node = p.node;
    this.maxlen = p.maxlen;
    this.tombstoneMs = p.tombstoneMs;
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
    const args: string[] = [String(this.maxlen), this.keys.banPrefix, this.keys.unbanPrefix, String(this.tombstoneMs)];
    for (const e of events) {
      const rem = e.localExpiresMs === null ? '' : String(e.localExpiresMs - nowMs);
      if (e.type === 'ban' && rem !== '' && Number(rem) <= 0) continue;
      // Unknown (an outbox row of a version without it): a ban is then older than any unban, an unban now.
      const age = e.localAtMs === undefined ? (e.type === 'ban' ? '' : '0') : String(Math.max(0, nowMs - e.localAtMs));
      args.push(e.eid, this.node, e.type, e.target, e.type === 'unban' ? '' : rem, age, e.source, e.reason);
    }
    if (args.length === 4) return true;
    try {
      const r = await this.conn.send<unknown>(['EVAL', PUBLISH_LUA, '1', this.keys.stream, ...args]);
      const refused = Array.isArray(r) ? Number(r[1]) || 0 : 0;
      this.counts.published += (args.length - 4) / PER_EVENT - refused;
      this.counts.refused += refused;
      if (refused > 0) this.log.info({ refused }, 'fleet: bans refused by Redis: a fleet unban came after them');
      return true;
    } catch (err) {
      this.counts.failures++;
      this.log.debug({ err: (err as Error).message }, 'fleet: publish failed; kept in the outbox');
      return false;
    }
  }
}
