/**
 * Bundles the dashboard (ui/src: Preact + htm + uPlot) with esbuild into ui/bundle/app.js and
 * ui/bundle/app.css, which are committed: the daemon serves them as they are, offline, with no
 * build step on the gateway. `npm run build-ui` writes them; test/ui/bundle.test.ts checks that the
 * committed files are what the sources build to.
 */
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const UI_ROOT = fileURLToPath(new URL('../ui/', import.meta.url));
export const UI_OUT = join(UI_ROOT, 'bundle');

/** The bundle's files by name (app.js, app.css), built in memory. */
export async function buildUi(): Promise<Map<string, string>> {
  const r = await build({
    entryPoints: { app: join(UI_ROOT, 'src', 'main.ts') },
    bundle: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    outdir: UI_OUT,
    write: false,
    logLevel: 'silent',
  });
  return new Map(r.outputFiles.map((f) => [basename(f.path), f.text]));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = await buildUi();
  mkdirSync(UI_OUT, { recursive: true });
  for (const [name, text] of files) {
    writeFileSync(join(UI_OUT, name), text);
    console.log(`${join('ui/bundle', name)}: ${text.length} bytes`);
  }
}
