/**
 * Puts the decision journal (journal.ts) into a daemon, from one line of the composition root:
 * the Enforcer's decisions, the ban events and the operators' actions go to it; BanOperations
 * answers explain from it; its last batch is written just before the store closes.
 */
import type { Clock } from '../clock.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import { parseIp } from '../net/ip.ts';
import type { Store } from '../store/store.ts';
import type { BanLedger } from './ban-ledger.ts';
import type { BanOperations } from './ban-operations.ts';
import type { Decider } from './decider.ts';
import type { Enforcer } from './enforcer.ts';
import { entryOf, explainAddress } from './explain.ts';
import { readBanHits } from './kernel-bans.ts';
import type { BanHits } from './operations.ts';
import type { Nft } from '../nft/nft.ts';
import { Journal } from './journal.ts';

/** The daemon's parts the journal needs (Daemon has them all). */
export interface JournalHost {
  readonly config: Readonly<Config>;
  readonly store: Store;
  readonly enforcer: Enforcer;
  readonly ledger: BanLedger;
  readonly decider: Decider;
  readonly operations: BanOperations;
  readonly clock: Clock;
  readonly nft: Nft;
  readonly dryRun: boolean;
}

/**
 * The kernel's counters on ban elements (kernel-bans.ts readBanHits: each set concerned read once
 * as a stream), for explain, a ban's look-up or a page of the bans list. Targets whose element is
 * not there, or a failed read, have no entry.
 */
async function readHitsOf(nft: Nft, targets: readonly string[]): Promise<Record<string, BanHits>> {
  const out: Record<string, BanHits> = {};
  try {
    for (const [key, c] of await readBanHits(nft, targets)) out[key] = { ...c, lastHitMs: null };
  } catch {
    // No counters this time (nft failed): the caller shows none.
  }
  return out;
}

/** Builds the journal and connects it; explain works without it (no history) when journal.enabled is false. */
export function startJournal(host: JournalHost, log: Logger): Journal | null {
  const enabled = host.config.journal.enabled;
  const journal = enabled
    ? new Journal({
        store: host.store,
        log: log.child({ component: 'journal' }),
        clock: host.clock,
        bounds: () => ({
          maxEntries: host.config.journal.max_entries,
          maxAgeMs: host.config.journal.max_age * 1000,
        }),
        protectingEntry: (address, why) => {
          const ip = parseIp(address);
          return ip ? host.decider.protectingEntry(ip, why) : null;
        },
      })
    : null;
  if (journal) {
    host.enforcer.observe(journal);
    host.ledger.events.subscribe(journal.event);
    host.store.beforeClose(() => journal.stop());
    journal.start();
  }
  const hitsOf = async (targets: readonly string[]): Promise<Record<string, BanHits>> =>
    host.dryRun ? {} : readHitsOf(host.nft, targets);
  const hits = async (target: string) => (await hitsOf([target]))[target] ?? null;
  host.operations.attachJournal({
    hits,
    hitsOf,
    operator: (code, address, actor, detail, atMs) => journal?.operator(code, address, actor, detail, atMs),
    actorFrom: (ref, from) => journal?.actorFrom(ref, from),
    stats: () => journal?.stats ?? null,
    audit: (limit) => {
      if (!journal) return [];
      journal.flush();
      return journal.table.manual(limit).map(entryOf);
    },
    explain: (prefix, nowMs) =>
      explainAddress(
        prefix.network,
        {
          getBan: (p) => host.operations.getBan(p),
          history: (keys, limit) => {
            if (!journal) return [];
            journal.flush();
            return journal.table.history(keys, limit);
          },
          hits,
          decider: host.decider,
          config: host.config,
        },
        nowMs,
      ),
  });
  return journal;
}
