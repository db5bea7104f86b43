/**
 * The allowlist as the engine sees it: the config's entries (fixed) plus the API's (persisted in
 * the store). Pure except for the store calls; the caller re-applies the ruleset and lifts bans.
 */
import { NftsentryError, ErrorCodes } from '../errors.ts';
import { normalizePrefixes, parsePrefix, type IpPrefix } from '../net/ip.ts';
import type { Store } from '../store/store.ts';
import type { AllowEntry } from './operations.ts';

/** Control characters out, at most 256 characters: what an operator's free text (a note, a reason) may carry. */
export const operatorText = (s: string): string => s.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 256);

export class Allowlist {
  private readonly store: Store;
  private config: readonly IpPrefix[];
  private readonly configSinceMs: number;

  constructor(store: Store, config: readonly IpPrefix[], nowMs: number) {
    this.store = store;
    this.config = config;
    this.configSinceMs = nowMs;
  }

  setConfig(config: readonly IpPrefix[]): void {
    this.config = config;
  }

  /** Config entries and API entries, as one normalised list (for the ruleset and protection). */
  effective(): IpPrefix[] {
    const api = this.store
      .listAllow()
      .map((r) => parsePrefix(r.prefix))
      .filter((p): p is IpPrefix => p !== null);
    return normalizePrefixes([...this.config, ...api]);
  }

  list(): AllowEntry[] {
    const fromConfig: AllowEntry[] = this.config.map((p) => ({
      prefix: p.text,
      origin: 'config',
      note: '',
      addedMs: this.configSinceMs,
    }));
    const fromApi: AllowEntry[] = this.store
      .listAllow()
      .map((r) => ({ prefix: r.prefix, origin: 'api', note: r.note, addedMs: Number(r.added_ms) }));
    return [...fromConfig, ...fromApi];
  }

  add(prefix: IpPrefix, note: string, nowMs: number): AllowEntry {
    const inConfig = this.config.find((p) => p.text === prefix.text);
    if (inConfig) return { prefix: prefix.text, origin: 'config', note: '', addedMs: this.configSinceMs };
    const clean = operatorText(note);
    this.store.addAllow(prefix.text, clean, nowMs);
    return { prefix: prefix.text, origin: 'api', note: clean, addedMs: nowMs };
  }

  remove(prefix: IpPrefix): boolean {
    if (this.config.some((p) => p.text === prefix.text)) {
      throw new NftsentryError(ErrorCodes.FORBIDDEN, `${prefix.text} comes from the config file; remove it there`);
    }
    return this.store.removeAllow(prefix.text);
  }
}
