/**
 * Files of the package generated from the code at build time, by path under the root: made from
 * the sources each time, so the package never ships a stale copy. The config reference comes from
 * the config schema; the completion and the man page from the CLI's command table.
 */
import { gzipSync } from 'node:zlib';
import { configReference } from '../config-reference.ts';
import { COMMANDS, DEFAULT_CONFIG } from '../../src/cli/main.ts';
import { bashCompletion, zshCompletion } from '../../src/cli/completion.ts';
import { manPage } from '../../src/cli/man-page.ts';

export async function generatedFiles(version: string, date: string): Promise<Record<string, string | Buffer>> {
  const reference = configReference();
  if (reference.undocumented.length) {
    throw new Error(`config keys without a description: ${reference.undocumented.join(', ')}`);
  }
  // The lab needs the source tree (samples/lab.yaml, nmap, the test workload): not in the package.
  const commands = COMMANDS.filter((c) => c.name !== 'lab');
  return {
    'usr/share/doc/nftsentry/config-reference.yaml': reference.text,
    'usr/share/bash-completion/completions/nftsentry': bashCompletion(commands),
    'usr/share/zsh/vendor-completions/_nftsentry': zshCompletion(commands),
    'usr/share/man/man8/nftsentry.8.gz': gzipSync(manPage(commands, version, date, DEFAULT_CONFIG), { level: 9 }),
  };
}
