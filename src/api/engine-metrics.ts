/**
 * The engine's own metric families: nft transactions failing and elements waiting, repairs of the
 * table by kind, the decision journal. Labels are fixed sets (heal kinds, journal results).
 */
import type { EngineCounters } from '../engine/operations.ts';
import type { MetricFamily } from './prometheus.ts';

/** Heal kinds shown from the start (at 0), so that a rate over them sees the first heal. */
const HEAL_KINDS = ['table', 'set', 'chain', 'rule', 'elements'];

export function engineFamilies(c: EngineCounters | null): MetricFamily[] {
  if (!c) return [];
  const heals = { ...Object.fromEntries(HEAL_KINDS.map((k) => [k, 0])), ...c.healsByKind };
  const fams: MetricFamily[] = [
    {
      name: 'nftsentry_nft_transaction_failures_total',
      help: 'Ban transactions nft refused or could not run (their elements are retried or dropped and logged).',
      type: 'counter',
      samples: [{ value: c.nftFailures }],
    },
    {
      name: 'nftsentry_nft_pending_elements',
      help: 'Ban and unban elements waiting to be sent to nft.',
      type: 'gauge',
      samples: [{ value: c.nftPending }],
    },
    {
      name: 'nftsentry_heals_total',
      help: 'Repairs of table inet nftsentry after damage from outside, by what was repaired.',
      type: 'counter',
      samples: Object.entries(heals).map(([kind, value]) => ({ labels: { kind }, value })),
    },
  ];
  if (c.journal) {
    fams.push(
      {
        name: 'nftsentry_journal_rows_total',
        help: 'Decision journal rows, by result: written to the store, dropped (queue full, failed batch), or coalesced (a repeated skip counted in its run summary instead of a row of its own).',
        type: 'counter',
        samples: [
          { labels: { result: 'written' }, value: c.journal.written },
          { labels: { result: 'dropped' }, value: c.journal.dropped },
          { labels: { result: 'coalesced' }, value: c.journal.coalesced },
        ],
      },
      {
        name: 'nftsentry_journal_write_errors_total',
        help: 'Decision journal batches the store refused.',
        type: 'counter',
        samples: [{ value: c.journal.errors }],
      },
      {
        name: 'nftsentry_journal_pending_rows',
        help: 'Decision journal rows queued in memory for the next batch.',
        type: 'gauge',
        samples: [{ value: c.journal.pending }],
      },
    );
  }
  return fams;
}
