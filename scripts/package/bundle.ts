/**
 * Bundles the program into ES modules with esbuild: `nftsentry.mjs` (the CLI, src/cli/main.ts),
 * `api-worker.mjs` (the API worker thread's entry, which api-thread.ts loads from beside itself)
 * and `rollback-helper.mjs` (the detached process of `apply --confirm`, which confirm-apply.ts
 * starts from beside itself). Every module that loads a file beside itself picks the `.mjs` when
 * it is not running from a `.ts` file. node-unix-socket stays outside the bundle: it loads its prebuilt `.node` addon by
 * package name, so it is shipped as a package under the install root's node_modules.
 */
import { build, type Metafile } from 'esbuild';
import { join } from 'node:path';

/** Packages that are shipped as files rather than bundled (native addons). */
export const EXTERNAL_PACKAGES = ['node-unix-socket'];

export interface BundleResult {
  /** The npm packages whose code is in the bundle (for the copyright file). */
  packages: string[];
}

export async function bundle(repo: string, outdir: string): Promise<BundleResult> {
  const result = await build({
    absWorkingDir: repo,
    entryPoints: {
      nftsentry: join(repo, 'src/cli/main.ts'),
      'api-worker': join(repo, 'src/api/worker/api-worker.ts'),
      'rollback-helper': join(repo, 'src/cli/rollback-helper.ts'),
    },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    external: EXTERNAL_PACKAGES,
    // CommonJS dependencies (fastify, pino) call require() for Node's built-in modules.
    banner: {
      js: "import { createRequire as nftsentryCreateRequire } from 'node:module'; const require = nftsentryCreateRequire(import.meta.url);",
    },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  return { packages: packagesIn(result.metafile) };
}

/** The npm package names of every bundled input under node_modules. */
function packagesIn(meta: Metafile): string[] {
  const names = new Set<string>();
  for (const input of Object.keys(meta.inputs)) {
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) names.add(m[1]!);
  }
  return [...names].sort();
}
