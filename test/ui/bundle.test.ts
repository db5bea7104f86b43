/**
 * The committed bundle (ui/bundle/) is what the sources in ui/src build to now (run
 * `npm run build-ui` after changing them), and it holds nothing the CSP would refuse or a gateway
 * without internet could not load.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildUi, UI_OUT } from '../../scripts/build-ui.ts';

describe('ui bundle', () => {
  it('is up to date with ui/src', async () => {
    const built = await buildUi();
    expect([...built.keys()].sort()).toEqual(['app.css', 'app.js']);
    for (const [name, text] of built) {
      expect(readFileSync(join(UI_OUT, name), 'utf8') === text, `ui/bundle/${name} is stale: npm run build-ui`).toBe(
        true,
      );
    }
  }, 60_000);

  it('loads nothing from another origin and evaluates no strings', () => {
    const js = readFileSync(join(UI_OUT, 'app.js'), 'utf8');
    const css = readFileSync(join(UI_OUT, 'app.css'), 'utf8');
    expect(js).not.toMatch(/\bimport\s*\(\s*["']https?:/);
    expect(js).not.toMatch(/new Function\(|\beval\(/);
    expect(css).not.toMatch(/url\(\s*["']?https?:/);
    expect(css).not.toMatch(/@import/);
  });
});
