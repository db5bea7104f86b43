/**
 * Reads the table for a snapshot and puts a snapshot back (table-snapshot.ts has the rules), each
 * through the given runner: one `nft -s list table`, one `nft -f` transaction.
 */
import { ErrorCodes, isNftsentryError } from '../errors.ts';
import type { Nft } from './nft.ts';
import { TABLE_FAMILY, TABLE_NAME } from './objects.ts';
import { compactSnapshot, rollbackScript } from './table-snapshot.ts';

/**
 * `nft -s list table inet nftsentry`; null when there is no such table. `terse` (`-t`): no set
 * elements, which is all a rollback needs of the table it replaces.
 */
export async function readTableListing(nft: Nft, options: { terse?: boolean } = {}): Promise<string | null> {
  try {
    const args = [...(options.terse ? ['-t'] : []), '-s', 'list', 'table', TABLE_FAMILY, TABLE_NAME];
    return (await nft.run(args)).stdout;
  } catch (err) {
    if (isNftsentryError(err, ErrorCodes.NFT_NOT_FOUND)) return null;
    throw err;
  }
}

/** The snapshot of the table before an apply: its listing, only the config sets' elements kept (the rest is never restored). */
export async function readTableSnapshot(nft: Nft): Promise<string | null> {
  const listing = await readTableListing(nft);
  return listing === null ? null : compactSnapshot(listing);
}

/** Puts the snapshot's chains, rules and config sets back in one transaction; the bans stay. */
export async function restoreTableSnapshot(nft: Nft, snapshot: string | null): Promise<{ statements: number }> {
  const script = rollbackScript(snapshot, await readTableListing(nft, { terse: true }));
  if (script === '') return { statements: 0 };
  await nft.runScript(script);
  return { statements: script.split('\n').filter((l) => l.trim() !== '').length };
}
