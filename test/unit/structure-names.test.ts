/**
 * Every file in src/ has a name of its own, so that a name in a stack trace, an editor tab or a
 * review says which module it is. CLI commands (src/cli/commands/) and API routes
 * (src/api/routes/) are named after their verb and may share a name with anything.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { REPO } from '../helpers.ts';

const SRC = join(REPO, 'src');
const VERB_FOLDERS = ['cli/commands', 'api/routes'];

function sourceFiles(): string[] {
  return readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => relative(SRC, join(d.parentPath, d.name)));
}

/** Names used by more than one file outside the verb folders, with their paths. */
function sharedNames(files: readonly string[]): Record<string, string[]> {
  const byName = new Map<string, string[]>();
  for (const f of files) {
    if (VERB_FOLDERS.some((v) => f.startsWith(`${v}/`))) continue;
    const name = basename(f);
    byName.set(name, [...(byName.get(name) ?? []), f]);
  }
  return Object.fromEntries([...byName].filter(([, paths]) => paths.length > 1).map(([n, paths]) => [n, paths.sort()]));
}

describe('file names in src/', () => {
  it('no two files share a name (outside cli/commands and api/routes)', () => {
    const files = sourceFiles();
    expect(files.length).toBeGreaterThan(50);
    expect(sharedNames(files)).toEqual({});
  });

  it('the check sees a shared name, and lets the verb folders be', () => {
    expect(
      sharedNames([
        'api/config.ts',
        'engine/config.ts',
        'cli/commands/status.ts',
        'api/routes/status.ts',
        'engine/status.ts',
      ]),
    ).toEqual({
      'config.ts': ['api/config.ts', 'engine/config.ts'],
    });
  });
});
