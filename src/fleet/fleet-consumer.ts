/**
 * Reads the fleet's stream from this node's own saved position (XREAD, not a consumer group:
 * a group would share the events out between the nodes, and every node needs every ban), on a
 * connection of its own since XREAD BLOCK holds it. Each batch is handed over with Redis's clock
 * (TIME right after the read) so that expiries are taken as time left, whatever this node's
 * clock says. The position is saved in the store after each batch.
 */
import type { Logger } from '../log.ts';
import type { FleetStore } from './fleet-store.ts';
import type { RedisConnection } from './redis-connection.ts';

/** How long one XREAD waits for events (ms). */
const BLOCK_MS = 1000;
const COUNT = 512;

export type StreamEntry = [id: string, fields: unknown];

/** XREAD's reply (RESP2) -> its entries; anything else -> none. */
export function streamEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const stream = reply[0];
  if (!Array.isArray(stream) || !Array.isArray(stream[1])) return [];
  const out: StreamEntry[] = [];
  for (const e of stream[1] as unknown[]) {
    if (Array.isArray(e) && typeof e[0] === 'string' && /^\d{1,20}-\d{1,20}$/.test(e[0])) out.push([e[0], e[1]]);
  }
  return out;
}

/** TIME's reply -> ms. */
export function redisTimeMs(reply: unknown): number | null {
  if (!Array.isArray(reply) || reply.length !== 2) return null;
  const s = Number(reply[0]);
  const us = Number(reply[1]);
  return Number.isFinite(s) && Number.isFinite(us) ? s * 1000 + Math.floor(us / 1000) : null;
}

export class FleetConsumer {
  private readonly conn: RedisConnection;
  private readonly store: FleetStore;
  private readonly stream: string;
  private readonly log: Logger;
  private readonly handle: (entries: readonly StreamEntry[], redisNowMs: number) => void;
  private position: string;
  private running = false;
  private loop: Promise<void> | null = null;
  errors = 0;

  constructor(p: {
    conn: RedisConnection;
    store: FleetStore;
    stream: string;
    log: Logger;
    handle: (entries: readonly StreamEntry[], redisNowMs: number) => void;
  }) {
    this.conn = p.conn;
    this.store = p.store;
    this.stream = p.stream;
    this.log = p.log;
    this.handle = p.handle;
    this.position = p.store.get('position') ?? '';
  }

  /** Whether a position was saved (else the caller starts at the stream's end, after a resync). */
  get hasPosition(): boolean {
    return this.position !== '';
  }

  setPosition(id: string): void {
    this.position = id;
    this.store.set('position', id);
  }

  /** The id of the stream's last entry ('0-0' when empty). */
  async lastId(): Promise<string> {
    const r = await this.conn.send<unknown>(['XREVRANGE', this.stream, '+', '-', 'COUNT', '1']);
    const first = Array.isArray(r) ? r[0] : undefined;
    return Array.isArray(first) && typeof first[0] === 'string' ? first[0] : '0-0';
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (!this.conn.ready || !this.position) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      try {
        const reply = await this.conn.send<unknown>(
          ['XREAD', 'COUNT', String(COUNT), 'BLOCK', String(BLOCK_MS), 'STREAMS', this.stream, this.position],
          BLOCK_MS,
        );
        const entries = streamEntries(reply);
        if (entries.length === 0 || !this.running) continue;
        const nowMs = redisTimeMs(await this.conn.send(['TIME']));
        if (nowMs === null) continue;
        this.handle(entries, nowMs);
        this.setPosition(entries[entries.length - 1]![0]);
      } catch (err) {
        this.errors++;
        if (this.running) {
          this.log.debug({ err: (err as Error).message }, 'fleet: stream read failed; retrying');
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  }
}
