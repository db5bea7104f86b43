/**
 * Counting per source and rule over a sliding window: alerts, distinct signatures, distinct
 * destination ports. No IO, no clock: every call takes `nowMs`. Memory is bounded: at most
 * `maxKeys` (rule, source) pairs (least recently seen forgotten first), and per pair at most the
 * threshold's own numbers of timestamps / sids / ports.
 */
import type { PolicyRule } from './engine-schema.ts';

interface Track {
  /** Times of the most recent alerts, oldest first (at most threshold.alerts). */
  times: number[];
  /** sid -> last seen, port -> last seen. */
  sids: Map<number, number>;
  ports: Map<number, number>;
}

export interface Observation {
  sid: number;
  port: number | null;
}

export interface ThresholdProgress {
  crossed: boolean;
  alerts: number;
  distinctSignatures: number;
  distinctPorts: number;
}

function pruneMap(map: Map<number, number>, oldestMs: number): void {
  for (const [k, t] of map) if (t < oldestMs) map.delete(k);
}

function capMap(map: Map<number, number>, max: number): void {
  // Keep the most recent entries: Map order is insertion order and we re-insert on update.
  while (map.size > max) map.delete(map.keys().next().value!);
}

export class ThresholdTracker {
  private readonly tracks = new Map<string, Track>();
  private readonly maxKeys: number;

  constructor(maxKeys: number) {
    this.maxKeys = maxKeys;
  }

  get size(): number {
    return this.tracks.size;
  }

  /**
   * Records one alert of `sourceKey` for rule `ruleIndex` and says whether the threshold is now
   * crossed. A crossing resets the pair, so the next ban needs a new crossing.
   */
  observe(ruleIndex: number, rule: PolicyRule, sourceKey: string, obs: Observation, nowMs: number): ThresholdProgress {
    const th = rule.threshold;
    const key = `${ruleIndex}|${sourceKey}`;
    let t = this.tracks.get(key);
    if (t) {
      this.tracks.delete(key); // re-insert below: most recently seen last
    } else {
      t = { times: [], sids: new Map(), ports: new Map() };
    }
    const oldestMs = nowMs - th.window * 1000;
    while (t.times.length > 0 && t.times[0]! < oldestMs) t.times.shift();
    t.times.push(nowMs);
    if (t.times.length > th.alerts) t.times.shift();
    if (th.distinct_signatures > 0) {
      pruneMap(t.sids, oldestMs);
      t.sids.delete(obs.sid);
      t.sids.set(obs.sid, nowMs);
      capMap(t.sids, th.distinct_signatures);
    }
    if (th.distinct_ports > 0 && obs.port !== null) {
      pruneMap(t.ports, oldestMs);
      t.ports.delete(obs.port);
      t.ports.set(obs.port, nowMs);
      capMap(t.ports, th.distinct_ports);
    }
    const progress: ThresholdProgress = {
      alerts: t.times.length,
      distinctSignatures: t.sids.size,
      distinctPorts: t.ports.size,
      crossed:
        t.times.length >= th.alerts &&
        (th.distinct_signatures === 0 || t.sids.size >= th.distinct_signatures) &&
        (th.distinct_ports === 0 || t.ports.size >= th.distinct_ports),
    };
    if (!progress.crossed) {
      this.tracks.set(key, t);
      if (this.tracks.size > this.maxKeys) this.tracks.delete(this.tracks.keys().next().value!);
    }
    return progress;
  }

  /** Forgets every pair of this source (after an unban or an allowlist change). */
  forgetSource(sourceKey: string): void {
    for (const key of this.tracks.keys()) if (key.endsWith(`|${sourceKey}`)) this.tracks.delete(key);
  }

  clear(): void {
    this.tracks.clear();
  }
}
