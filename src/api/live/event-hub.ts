/**
 * The API's side of the live events: the SSE clients of GET /v1/events and the batches that reach
 * them. Each batch is serialised once (one `data:` frame per event) and written to every client.
 *
 * A client's buffer is bounded: a client whose socket holds more than `maxBufferedBytes` unsent
 * (a slow reader, a stalled phone) is disconnected and counted, never waited for; the browser's
 * EventSource reconnects on its own and the page reloads its table then.
 */
import type { BanEvent } from '../../engine/ban-events.ts';
import type { EventBatch } from './event-batcher.ts';

/** What the hub needs of a client's connection (an http.ServerResponse has it). */
export interface EventSink {
  write(chunk: string): boolean;
  readonly writableLength: number;
  end(): void;
  destroy(): void;
}

export interface EventHubOptions {
  maxClients?: number;
  maxBufferedBytes?: number;
  /** Told whenever the number of clients changes (the main thread follows the feed only while > 0). */
  onWatchers?: (count: number) => void;
}

/** One SSE frame: `event:` is not used, the JSON's `type` says what happened. */
export function sseFrame(e: BanEvent): string {
  return `data: ${JSON.stringify(e)}\n\n`;
}

export class EventHub {
  private readonly clients = new Set<EventSink>();
  private readonly maxClients: number;
  private readonly maxBufferedBytes: number;
  private readonly onWatchers: (count: number) => void;
  /** Clients disconnected for being too slow. */
  dropped = 0;
  /** Events sent (once per batch, whatever the number of clients). */
  events = 0;

  constructor(options: EventHubOptions = {}) {
    this.maxClients = options.maxClients ?? 64;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1 << 20;
    this.onWatchers = options.onWatchers ?? (() => undefined);
  }

  get size(): number {
    return this.clients.size;
  }

  /** False when the hub is full (the route answers 503). */
  add(sink: EventSink): boolean {
    if (this.clients.size >= this.maxClients) return false;
    this.clients.add(sink);
    this.onWatchers(this.clients.size);
    return true;
  }

  remove(sink: EventSink): void {
    if (this.clients.delete(sink)) this.onWatchers(this.clients.size);
  }

  publish(batch: EventBatch): void {
    if (this.clients.size === 0) return;
    let text = batch.events.map(sseFrame).join('');
    // Events were lost on the way: tell the page to reload rather than show a gap.
    if (batch.lost > 0) text += `event: lost\ndata: ${JSON.stringify({ lost: batch.lost })}\n\n`;
    if (text.length === 0) return;
    this.events += batch.events.length;
    this.send(text);
  }

  /** A comment line, so that proxies and the browser see the stream alive. */
  heartbeat(): void {
    this.send(': keep-alive\n\n');
  }

  close(): void {
    for (const c of this.clients) c.end();
    this.clients.clear();
    this.onWatchers(0);
  }

  private send(text: string): void {
    for (const c of [...this.clients]) {
      if (c.writableLength > this.maxBufferedBytes) {
        this.dropped++;
        this.clients.delete(c);
        c.destroy();
        this.onWatchers(this.clients.size);
        continue;
      }
      c.write(text);
    }
  }
}
