/**
 * nftsentry's version, read once from package.json: what `nftsentry --version`, /v1/status and
 * the nftsentry_build_info metric report.
 */
import { readFileSync } from 'node:fs';

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    // An install without its package.json still runs; it reports no version of its own.
    return '0.0.0';
  }
}

export const VERSION: string = packageVersion();
