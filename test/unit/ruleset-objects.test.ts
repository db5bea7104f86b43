/**
 * Every set and map that nft/00-objects.nft declares is in exactly one of nft/ruleset.ts's lists,
 * which say what an apply does with its elements: refilled from the config (CONFIG_SETS), flushed
 * (METER_SETS), kept (BAN_SETS, SCAN_REASON_MAPS). A set in none of them would be kept by
 * accident; a listed name that is not declared is a typo. No obsolete set is declared again.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BAN_SETS, CONFIG_SETS, METER_SETS, OBSOLETE_SETS, SCAN_REASON_MAPS } from '../../src/nft/objects.ts';
import { REPO } from '../helpers.ts';

const LISTS: Record<string, readonly string[]> = {
  BAN_SETS: Object.keys(BAN_SETS),
  CONFIG_SETS,
  METER_SETS,
  SCAN_REASON_MAPS,
};

function declared(): string[] {
  const text = readFileSync(join(REPO, 'nft', '00-objects.nft'), 'utf8');
  return [...text.matchAll(/^\s*(?:set|map)\s+([A-Za-z0-9_]+)\s*\{/gm)].map((m) => m[1]!);
}

describe('nft/00-objects.nft sets and maps', () => {
  it('each is in exactly one list of nft/ruleset.ts', () => {
    const names = declared();
    expect(names.length).toBeGreaterThan(20);
    const where = Object.fromEntries(names.map((n) => [n, Object.keys(LISTS).filter((l) => LISTS[l]!.includes(n))]));
    expect(Object.entries(where).filter(([, lists]) => lists.length !== 1)).toEqual([]);
  });

  it('each listed name is declared, and no obsolete one is', () => {
    const names = new Set(declared());
    expect(
      Object.values(LISTS)
        .flat()
        .filter((n) => !names.has(n)),
    ).toEqual([]);
    expect(OBSOLETE_SETS.filter((n) => names.has(n))).toEqual([]);
  });
});
