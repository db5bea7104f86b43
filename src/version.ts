/** nftsentry's version, from package.json: the one place it is read. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INSTALL_ROOT } from './install-root.ts';

export const VERSION: string = (() => {
  try {
    return (
      (JSON.parse(readFileSync(join(INSTALL_ROOT, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0'
    );
  } catch {
    return '0.0.0';
  }
})();
