/**
 * Files of the package generated from the code at build time, by path under the root: made from
 * the sources each time, so the package never ships a stale copy.
 */
import { configReference } from '../config-reference.ts';

export async function generatedFiles(_repo: string): Promise<Record<string, string>> {
  const reference = configReference();
  if (reference.undocumented.length) {
    throw new Error(`config keys without a description: ${reference.undocumented.join(', ')}`);
  }
  return { 'usr/share/doc/nftsentry/config-reference.yaml': reference.text };
}
