/**
 * `npm run package`: builds dist/nftsentry_<version>_<arch>.deb with dpkg-deb. Needs no network:
 * everything comes from node_modules (the Node runtime of the npm `node` package, esbuild) and
 * the repository. Prints the .deb's path.
 */
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stage } from './stage.ts';
import { changelogVersion, controlFile, debianArch } from './debian-files.ts';
import { generatedFiles } from './generated.ts';

/** Total size of the files under `dir`, in KiB, as dpkg counts Installed-Size. */
function sizeKiB(dir: string): number {
  let bytes = 0;
  for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (f.isFile()) bytes += statSync(join(f.parentPath, f.name)).size;
  }
  return Math.ceil(bytes / 1024);
}

/** DEBIAN/md5sums: every file outside DEBIAN/, as dpkg --verify checks them. */
function md5sums(root: string): string {
  const lines: string[] = [];
  for (const f of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const path = relative(root, join(f.parentPath, f.name));
    if (!f.isFile() || path.startsWith('DEBIAN/')) continue;
    lines.push(
      `${createHash('md5')
        .update(readFileSync(join(root, path)))
        .digest('hex')}  ${path}`,
    );
  }
  return `${lines.sort((a, b) => a.slice(34).localeCompare(b.slice(34))).join('\n')}\n`;
}

export interface BuildOptions {
  repo: string;
  /** Where the .deb goes (dist/ by default). */
  outDir?: string;
  /** dpkg-deb's compressor: xz by default (smallest, ~50 s); the tests use gzip -1 (fast). */
  compression?: 'xz' | 'fast';
}

export async function buildDeb(options: BuildOptions): Promise<string> {
  const { repo } = options;
  const outDir = options.outDir ?? join(repo, 'dist');
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };
  const changelog = readFileSync(join(repo, 'packaging/debian/changelog'), 'utf8');
  if (changelogVersion(changelog) !== pkg.version) {
    throw new Error(
      `packaging/debian/changelog is for ${changelogVersion(changelog)}, package.json for ${pkg.version}: add a changelog entry`,
    );
  }
  const arch = debianArch();
  const root = join(outDir, `nftsentry_${pkg.version}_${arch}.root`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true, mode: 0o755 });
  try {
    // The man page's date: the changelog's, so that a rebuild gives the same file.
    const date = new Date(/^ -- .*> {2}(.*)$/m.exec(changelog)?.[1] ?? Date.now()).toISOString().slice(0, 10);
    await stage({ repo, root, version: pkg.version, generated: await generatedFiles(pkg.version, date) });
    const debian = join(root, 'DEBIAN');
    mkdirSync(debian, { mode: 0o755 });
    const template = readFileSync(join(repo, 'packaging/debian/control.in'), 'utf8');
    writeFileSync(join(debian, 'control'), controlFile(template, pkg.version, arch, sizeKiB(root)));
    writeFileSync(join(debian, 'conffiles'), '/etc/nftsentry/nftsentry.yaml\n');
    writeFileSync(join(debian, 'md5sums'), md5sums(root));
    for (const script of ['postinst', 'prerm', 'postrm']) {
      copyFileSync(join(repo, 'packaging/debian', script), join(debian, script));
      chmodSync(join(debian, script), 0o755);
    }
    // Directories 0755 whatever the umask, as lintian expects.
    for (const d of readdirSync(root, { recursive: true, withFileTypes: true })) {
      if (d.isDirectory()) chmodSync(join(d.parentPath, d.name), 0o755);
    }
    const deb = join(outDir, `nftsentry_${pkg.version}_${arch}.deb`);
    execFileSync(
      'dpkg-deb',
      [
        '--root-owner-group',
        ...(options.compression === 'fast' ? ['-Zgzip', '-z1'] : ['-Zxz', '-z6']),
        '--build',
        root,
        deb,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    return deb;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const repo = fileURLToPath(new URL('../..', import.meta.url));
  const started = performance.now();
  const deb = await buildDeb({ repo });
  process.stdout.write(
    `${deb} (${Math.round(statSync(deb).size / 1024 / 1024)} MiB, ${Math.round(performance.now() - started)} ms)\n`,
  );
}
