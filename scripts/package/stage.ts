/**
 * Lays out the package's files under a staging root, as they will be installed:
 *
 *   usr/bin/nftsentry                       the launcher (packaging/nftsentry.sh)
 *   usr/lib/nftsentry/bin/node              the Node runtime from the npm `node` package
 *   usr/lib/nftsentry/app/*.mjs             the bundle (bundle.ts)
 *   usr/lib/nftsentry/nft/*.nft             the ruleset templates
 *   usr/lib/nftsentry/package.json          name and version (src/version.ts reads it)
 *   usr/lib/nftsentry/node_modules/...      node-unix-socket and its prebuilt addon
 *   lib/systemd/system/nftsentry.service    the unit from deploy/
 *   etc/nftsentry/nftsentry.yaml            samples/nftsentry.yaml (a conffile)
 *   usr/share/doc/nftsentry/                the config reference, docs, Suricata/Snort examples
 */
import {
  chmodSync,
  existsSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { bundle, EXTERNAL_PACKAGES } from './bundle.ts';
import { copyrightFile, packagedUnit } from './debian-files.ts';

export interface StageOptions {
  repo: string;
  root: string;
  version: string;
  /** Generated text files to install, by path under the root. */
  generated: Record<string, string | Buffer>;
}

const LIB = 'usr/lib/nftsentry';
const DOC = 'usr/share/doc/nftsentry';

function put(root: string, path: string, text: string | Buffer, mode = 0o644): void {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  chmodSync(file, mode);
}

function copy(root: string, from: string, to: string, mode = 0o644): void {
  put(root, to, readFileSync(from), mode);
}

/** The packages to ship as files: the external ones and their installed platform packages. */
function shippedPackages(repo: string): string[] {
  const names: string[] = [];
  for (const name of EXTERNAL_PACKAGES) {
    names.push(name);
    const prefix = `${name}-${process.platform}-${process.arch}`;
    names.push(...readdirSync(join(repo, 'node_modules')).filter((d) => d.startsWith(prefix)));
  }
  return names;
}

/** Drops debugging symbols and the compiler's notes (most of the runtime's size). */
function stripBinary(file: string): void {
  execFileSync('strip', ['--strip-unneeded', '--remove-section=.comment', file]);
}

/** The Node runtime the npm `node` package installed (node_modules/.bin/node's target). */
export function nodeBinary(repo: string): string {
  return createRequire(join(repo, 'package.json')).resolve('node/bin/node');
}

export async function stage(o: StageOptions): Promise<void> {
  const { repo, root } = o;
  const { packages } = await bundle(repo, join(root, LIB, 'app'));
  // Run by the launcher, never directly: without main.ts's `#!` line, and not executable.
  const entry = join(root, LIB, 'app', 'nftsentry.mjs');
  writeFileSync(entry, readFileSync(entry, 'utf8').replace(/^#!.*\n/, ''));
  chmodSync(entry, 0o644);
  mkdirSync(join(root, LIB, 'bin'), { recursive: true });
  copyFileSync(nodeBinary(repo), join(root, LIB, 'bin/node'));
  stripBinary(join(root, LIB, 'bin/node'));
  chmodSync(join(root, LIB, 'bin/node'), 0o755);
  for (const f of readdirSync(join(repo, 'nft')).filter((f) => f.endsWith('.nft'))) {
    copy(root, join(repo, 'nft', f), join(LIB, 'nft', f));
  }
  // The dashboard's bundle, beside the API worker that serves it (src/api/ui/ui-assets.ts).
  for (const f of readdirSync(join(repo, 'ui', 'bundle')))
    copy(root, join(repo, 'ui', 'bundle', f), join(LIB, 'app', 'ui', f));
  put(root, join(LIB, 'package.json'), `${JSON.stringify({ name: 'nftsentry', version: o.version, private: true })}\n`);
  const shipped = shippedPackages(repo);
  for (const name of shipped) {
    const to = join(root, LIB, 'node_modules', name);
    cpSync(join(repo, 'node_modules', name), to, {
      recursive: true,
      // Only what runs: the licence is in the copyright file, the rest is the package's sources.
      filter: (src) =>
        !/(\.ts|\.map|\.md|\/\.git\w*|\/LICENSE|\/Cargo\.toml|\/tsconfig\.json|\/jest\.config\.js)$/.test(src),
    });
    for (const f of readdirSync(to, { recursive: true, withFileTypes: true })) {
      if (f.isFile() && f.name.endsWith('.node')) stripBinary(join(f.parentPath, f.name));
      if (f.isFile()) chmodSync(join(f.parentPath, f.name), 0o644);
    }
  }
  copy(root, join(repo, 'packaging/nftsentry.sh'), 'usr/bin/nftsentry', 0o755);
  put(
    root,
    'lib/systemd/system/nftsentry.service',
    packagedUnit(readFileSync(join(repo, 'deploy/nftsentry.service'), 'utf8')),
  );
  copy(root, join(repo, 'samples/nftsentry.yaml'), 'etc/nftsentry/nftsentry.yaml');
  put(root, join(DOC, 'copyright'), copyrightFile(repo, packages, shipped));
  put(root, join(DOC, 'changelog.gz'), gzipSync(readFileSync(join(repo, 'packaging/debian/changelog')), { level: 9 }));
  copy(root, join(repo, 'README.md'), join(DOC, 'README.md'));
  for (const f of readdirSync(join(repo, 'docs')).filter((f) => f.endsWith('.md'))) {
    copy(root, join(repo, 'docs', f), join(DOC, 'docs', f));
  }
  for (const dir of ['suricata', 'snort'].filter((d) => existsSync(join(repo, d)))) {
    for (const f of readdirSync(join(repo, dir), { withFileTypes: true }).filter((d) => d.isFile())) {
      copy(root, join(repo, dir, f.name), join(DOC, 'examples', dir, f.name));
    }
  }
  copy(root, join(repo, 'packaging/lintian-overrides'), 'usr/share/lintian/overrides/nftsentry');
  for (const [path, text] of Object.entries(o.generated)) put(root, path, text);
}
