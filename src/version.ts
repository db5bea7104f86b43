/** nftsentry's version, from package.json: the one place it is read. */
import { readFileSync } from 'node:fs';

export const VERSION: string = (() => {
  try {
    return (
      (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ??
      '0.0.0'
    );
  } catch {
    return '0.0.0';
  }
})();
