/**
 * Reads the table for a snapshot and puts a snapshot back (table-snapshot.ts has the rules), each
 * through the given runner: one `nft -s list table`, one `nft -f` transaction.
 */
import { ErrorCodes, isNftsentryError } from '../errors.ts';
import type { Nft } from './nft.ts';
import { TABLE_FAMILY, TABLE_NAME } from './objects.ts';
import { rollbackScript } from './table-snapshot.ts';

/** `nft -s list table inet nftsentry`; null when there is no such table. */
export async function readTableListing(nft: Nft): Promise<string | null> {
  try {
    return (await nft.run(['-s', 'list', 'table', TABLE_FAMILY, TABLE_NAME])).stdout;
  } catch (err) {
    if (isNftsentryError(err, ErrorCodes.NFT_NOT_FOUND)) return null;
    throw err;
  }
}

/** Puts the snapshot's chains, rules and config sets back in one transaction; the bans stay. */
export async function restoreTableSnapshot(nft: Nft, snapshot: string | null): Promise<{ statements: number }> {
  const script = rollbackScript(snapshot, await readTableListing(nft));
  if (script === '') return { statements: 0 };
  await nft.runScript(script);
  return { statements: script.split('\n').filter((l) => l.trim() !== '').length };
}
