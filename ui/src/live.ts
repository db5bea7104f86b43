/**
 * The live events (GET /v1/events, server-sent): one listener list for the page. EventSource
 * reconnects on its own; `onReconnect` listeners reload what they show, since events may have
 * been missed while the stream was down (or the server said some were lost).
 */
import type { LiveEvent } from './api.ts';

type Listener = (e: LiveEvent) => void;

const listeners = new Set<Listener>();
const reconnects = new Set<() => void>();
let source: EventSource | null = null;
let connected = false;
const stateListeners = new Set<(up: boolean) => void>();

function setState(up: boolean): void {
  connected = up;
  for (const l of stateListeners) l(up);
}

export function startLive(): void {
  if (source) return;
  source = new EventSource('/v1/events');
  let opened = false;
  source.onopen = () => {
    setState(true);
    if (opened) for (const r of reconnects) r();
    opened = true;
  };
  source.onerror = () => setState(false);
  source.onmessage = (m: MessageEvent<string>) => {
    let e: LiveEvent;
    try {
      e = JSON.parse(m.data) as LiveEvent;
    } catch {
      return;
    }
    for (const l of listeners) l(e);
  };
  source.addEventListener('lost', () => {
    for (const r of reconnects) r();
  });
}

export function onLive(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function onReconnect(r: () => void): () => void {
  reconnects.add(r);
  return () => reconnects.delete(r);
}

export function onLiveState(l: (up: boolean) => void): () => void {
  stateListeners.add(l);
  l(connected);
  return () => stateListeners.delete(l);
}
