/**
 * The text files of the Debian package that are made at build time: DEBIAN/control, the
 * machine-readable copyright file (nftsentry's licence and each bundled package's), and the
 * systemd unit with the source-tree paths replaced by the package's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** dpkg's architecture name for Node's `process.arch`. */
export function debianArch(nodeArch: string = process.arch): string {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'armhf', ppc64: 'ppc64el', s390x: 's390x' };
  const a = arch[nodeArch];
  if (!a) throw new Error(`no Debian architecture for Node's "${nodeArch}"`);
  return a;
}

export function controlFile(template: string, version: string, arch: string, installedSizeKiB: number): string {
  return template
    .replaceAll('@VERSION@', version)
    .replaceAll('@ARCH@', arch)
    .replaceAll('@INSTALLED_SIZE@', String(installedSizeKiB));
}

/** The version on the first line of a Debian changelog (`nftsentry (0.1.0) unstable; ...`). */
export function changelogVersion(changelog: string): string {
  const m = /^\S+ \(([^)]+)\)/.exec(changelog);
  if (!m) throw new Error('debian/changelog: no version on its first line');
  return m[1]!;
}

interface PackageJson {
  name: string;
  version?: string;
  license?: string;
  author?: string | { name?: string };
}

/**
 * DEP-5 copyright: nftsentry, the Node runtime, node-unix-socket (shipped as files) and the npm
 * packages bundled into usr/lib/nftsentry/app/, each named with its licence.
 */
export function copyrightFile(repo: string, bundled: string[], shipped: string[]): string {
  const read = (name: string) =>
    JSON.parse(readFileSync(join(repo, 'node_modules', name, 'package.json'), 'utf8')) as PackageJson;
  const authorOf = (pkg: PackageJson) =>
    (typeof pkg.author === 'string' ? pkg.author : pkg.author?.name) ?? `the authors of ${pkg.name}`;
  const licences = new Set<string>(['MIT']);
  const group = (names: string[]) => {
    const pkgs = names.map(read);
    for (const p of pkgs) licences.add(p.license ?? 'UNKNOWN');
    const copyright = [...new Set(pkgs.map(authorOf))].sort();
    return {
      copyright: `Copyright: ${copyright.join('\n ')}`,
      licence: `License: ${[...new Set(pkgs.map((p) => p.license ?? 'UNKNOWN'))].sort().join(' and ')}`,
      comment: `Comment: ${pkgs.map((p) => `${p.name} ${p.version ?? ''} (${p.license ?? 'UNKNOWN'})`).join(',\n ')}`,
    };
  };
  const b = group(bundled);
  const s = group(shipped);
  const stanzas = [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: nftsentry',
    '',
    'Files: *',
    `Copyright: 2025-${new Date().getUTCFullYear()} nftsentry authors`,
    'License: MIT',
    '',
    'Files: usr/lib/nftsentry/bin/node',
    'Copyright: Node.js contributors and the authors of its bundled third-party code',
    'License: MIT',
    'Comment: the licences of the third-party code built into the binary (V8, libuv,',
    ' OpenSSL, ICU, zlib, SQLite and others) are listed in',
    ` https://github.com/nodejs/node/blob/v${process.versions.node}/LICENSE`,
    '',
    'Files: usr/lib/nftsentry/app/*',
    b.copyright,
    b.licence,
    `Comment: npm packages bundled with nftsentry's own code:\n ${b.comment.slice('Comment: '.length)}`,
    '',
    'Files: usr/lib/nftsentry/node_modules/*',
    s.copyright,
    s.licence,
    s.comment,
  ];
  for (const l of [...licences].sort()) {
    const text = LICENCE_TEXT[l];
    if (!text) throw new Error(`copyright: no licence text for "${l}" (add it to scripts/package/debian-files.ts)`);
    stanzas.push('', `License: ${l}`, ...text.map((t) => (t === '' ? ' .' : ` ${t}`)));
  }
  return `${stanzas.join('\n')}\n`;
}

const MIT_TEXT = [
  'Permission is hereby granted, free of charge, to any person obtaining a copy of this',
  'software and associated documentation files (the "Software"), to deal in the Software',
  'without restriction, including without limitation the rights to use, copy, modify,',
  'merge, publish, distribute, sublicense, and/or sell copies of the Software, and to',
  'permit persons to whom the Software is furnished to do so, subject to the following',
  'conditions:',
  '',
  'The above copyright notice and this permission notice shall be included in all copies',
  'or substantial portions of the Software.',
  '',
  'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,',
  'INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A',
  'PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT',
  'HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF',
  'CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR',
  'THE USE OR OTHER DEALINGS IN THE SOFTWARE.',
];

const ISC_TEXT = [
  'Permission to use, copy, modify, and/or distribute this software for any purpose with or',
  'without fee is hereby granted, provided that the above copyright notice and this',
  'permission notice appear in all copies.',
  '',
  'THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO',
  'THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS. IN NO',
  'EVENT SHALL THE AUTHOR BE LIABLE FOR ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL',
  'DAMAGES OR ANY DAMAGES WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER',
  'IN AN ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR IN',
  'CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.',
];

const BSD_3_TEXT = [
  'Redistribution and use in source and binary forms, with or without modification, are',
  'permitted provided that the following conditions are met:',
  '1. Redistributions of source code must retain the above copyright notice, this list of',
  'conditions and the following disclaimer.',
  '2. Redistributions in binary form must reproduce the above copyright notice, this list',
  'of conditions and the following disclaimer in the documentation and/or other materials',
  'provided with the distribution.',
  '3. Neither the name of the copyright holder nor the names of its contributors may be',
  'used to endorse or promote products derived from this software without specific prior',
  'written permission.',
  '',
  'THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY',
  'EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF',
  'MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL',
  'THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL,',
  'SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT',
  'OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS',
  'INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT',
  'LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE',
  'OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.',
];

/** The licences the shipped npm packages use; a new one fails the build until its text is added. */
const LICENCE_TEXT: Record<string, string[]> = {
  MIT: MIT_TEXT,
  ISC: ISC_TEXT,
  'BSD-3-Clause': BSD_3_TEXT,
  'Apache-2.0': [
    'On Debian systems the full text of the Apache License 2.0 is in',
    '/usr/share/common-licenses/Apache-2.0.',
  ],
};

/**
 * The unit from deploy/, pointed at the package's files: the source tree's
 * `.../node_modules/.bin/node [--flags] .../src/cli/main.ts` (the launcher passes the same flags; or `.../bin/nftsentry`) becomes /usr/bin/nftsentry and its docs are
 * under /usr/share/doc/nftsentry. Any other source-tree path left in it is an error.
 */
export function packagedUnit(unit: string, sourceRoot = '/opt/nftsentry'): string {
  const out = unit
    .replace(/\/\S*node_modules\/\.bin\/node(?:\s+--\S+)*\s+\S*src\/cli\/main\.ts/g, '/usr/bin/nftsentry')
    .replace(/\/\S*\/bin\/nftsentry\b/g, '/usr/bin/nftsentry')
    .replaceAll(`file://${sourceRoot}/docs/`, 'file:///usr/share/doc/nftsentry/docs/');
  const left = out
    .split('\n')
    .filter((l) => !l.startsWith('#') && l.includes(sourceRoot))
    .map((l) => l.trim());
  if (left.length > 0) throw new Error(`deploy/nftsentry.service: paths of a source install left: ${left.join('; ')}`);
  return out;
}
