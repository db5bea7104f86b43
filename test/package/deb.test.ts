/**
 * The Debian package (npm run package): built with dpkg-deb, its control data and file list as the
 * issue lists them, extracted with dpkg -x into a temporary root where the packaged launcher and
 * runtime run `--version`, `render`, and `check`, `apply`, `apply --confirm` (rolled back by the
 * packaged helper) and the daemon in a namespace made for this file; the maintainer scripts start
 * nothing; lintian finds no error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDeb } from '../../scripts/package/build.ts';
import { REPO, waitFor } from '../helpers.ts';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
const NS = `nspkg-${process.pid}`;
let work: string;
let deb: string;
let root: string;
let buildMs: number;

// No system node on PATH: whatever runs is the packaged runtime.
const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', NFTSENTRY_LOG_LEVEL: 'silent' };
const HOST_INODE = process.env.NFTSENTRY_HOST_NETNS_INODE ?? '';
const run = (file: string, args: string[], env: Record<string, string> = {}) =>
  execa(file, args, { reject: false, stdin: 'ignore', timeout: 120_000, env: { ...ENV, ...env }, extendEnv: false });
/** The packaged launcher inside the namespace, with the host-namespace guard on. */
const inNs = (args: string[]) =>
  run('ip', ['netns', 'exec', NS, join(root, 'usr/bin/nftsentry'), ...args], {
    NFTSENTRY_FORBID_HOST_NETNS: '1',
    NFTSENTRY_HOST_NETNS_INODE: HOST_INODE,
  });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'nspkg-'));
  const started = performance.now();
  deb = await buildDeb({ repo: REPO, outDir: work, compression: 'fast' });
  buildMs = performance.now() - started;
  console.log(`package built in ${Math.round(buildMs)} ms`);
  root = join(work, 'root');
  const x = await run('dpkg', ['-x', deb, root]);
  expect(x.exitCode).toBe(0);
  expect((await run('ip', ['netns', 'add', NS])).exitCode).toBe(0);
}, 300_000);

afterAll(async () => {
  await run('ip', ['netns', 'delete', NS]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the Debian package', () => {
  it('is named for the version and architecture, with the control data the issue asks for', async () => {
    expect(deb).toBe(join(work, `nftsentry_${pkg.version}_amd64.deb`));
    const info = await run('dpkg-deb', ['--info', deb]);
    expect(info.exitCode).toBe(0);
    expect(info.stdout).toMatch(/^ Package: nftsentry$/m);
    expect(info.stdout).toMatch(new RegExp(`^ Version: ${pkg.version.replaceAll('.', '\\.')}$`, 'm'));
    expect(info.stdout).toMatch(/^ Architecture: amd64$/m);
    expect(info.stdout).toMatch(/^ Depends: nftables, iproute2(, |$)/m);
    for (const f of ['control', 'conffiles', 'md5sums', 'postinst', 'prerm', 'postrm']) {
      expect(info.stdout).toMatch(new RegExp(`^ +\\d+ bytes, +\\d+ lines +\\*? *${f}\\b`, 'm'));
    }
    const conffiles = await run('dpkg-deb', ['--ctrl-tarfile', deb]).then(() =>
      run('sh', ['-c', `dpkg-deb --ctrl-tarfile '${deb}' | tar -xO ./conffiles`]),
    );
    expect(conffiles.stdout.trim()).toBe('/etc/nftsentry/nftsentry.yaml');
  });

  it('holds the launcher, the runtime, the bundle, the unit, the conffile and the docs', async () => {
    const contents = await run('dpkg-deb', ['--contents', deb]);
    expect(contents.exitCode).toBe(0);
    const files = contents.stdout.split('\n').map((l) => {
      const [mode = '', owner = ''] = l.split(/\s+/);
      return { mode, owner, path: l.replace(/^.* \.\//, '/').replace(/ -> .*$/, '') };
    });
    const find = (path: string) => files.find((f) => f.path === path);
    const expected: [string, RegExp][] = [
      ['/usr/bin/nftsentry', /^-rwxr-xr-x$/],
      ['/usr/lib/nftsentry/bin/node', /^-rwxr-xr-x$/],
      ['/usr/lib/nftsentry/app/nftsentry.mjs', /^-rw-r--r--$/],
      ['/usr/lib/nftsentry/app/api-worker.mjs', /^-rw-r--r--$/],
      ['/usr/lib/nftsentry/app/rollback-helper.mjs', /^-rw-r--r--$/],
      ['/usr/lib/nftsentry/app/ui/app.js', /^-rw-r--r--$/],
      ['/usr/lib/nftsentry/app/ui/app.css', /^-rw-r--r--$/],
      ['/usr/lib/nftsentry/nft/00-objects.nft', /^-rw-r--r--$/],
      ['/lib/systemd/system/nftsentry.service', /^-rw-r--r--$/],
      ['/etc/nftsentry/nftsentry.yaml', /^-rw-r--r--$/],
      ['/usr/share/doc/nftsentry/copyright', /^-rw-r--r--$/],
      ['/usr/share/doc/nftsentry/changelog.gz', /^-rw-r--r--$/],
      ['/usr/share/doc/nftsentry/config-reference.yaml', /^-rw-r--r--$/],
      ['/usr/share/doc/nftsentry/examples/suricata/enable.conf', /^-rw-r--r--$/],
      ['/usr/share/doc/nftsentry/examples/snort/snort.lua', /^-rw-r--r--$/],
      ['/usr/share/bash-completion/completions/nftsentry', /^-rw-r--r--$/],
      ['/usr/share/zsh/vendor-completions/_nftsentry', /^-rw-r--r--$/],
      ['/usr/share/man/man8/nftsentry.8.gz', /^-rw-r--r--$/],
      ['/usr/share/doc/nftsentry/examples/suricata/eve-unix-stream.yaml', /^-rw-r--r--$/],
    ];
    for (const [path, mode] of expected) {
      expect(find(path), path).toBeDefined();
      expect(find(path)!.mode, path).toMatch(mode);
      expect(find(path)!.owner, path).toBe('root/root');
    }
    expect(files.some((f) => /\/node_modules\/node-unix-socket-linux-x64-gnu\/.*\.node$/.test(f.path))).toBe(true);
    // The lab needs the source tree: it is not offered by the package's completion.
    expect(readFileSync(join(root, 'usr/share/bash-completion/completions/nftsentry'), 'utf8')).not.toMatch(/\blab\b/);
    // Nothing of the source tree or the test tooling.
    expect(files.filter((f) => /\.ts$|\/test\/|vitest|esbuild|typescript/.test(f.path))).toEqual([]);
  });

  it('points the unit at the launcher', () => {
    const unit = readFileSync(join(root, 'lib/systemd/system/nftsentry.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/nftsentry .*\brun$/m);
    expect(unit.split('\n').filter((l) => !l.startsWith('#') && l.includes('/opt/nftsentry'))).toEqual([]);
  });

  it('runs from the extracted root with its own runtime: --version and render, also through a symlink', async () => {
    const runtime = await run(join(root, 'usr/lib/nftsentry/bin/node'), ['--version']);
    expect(runtime.stdout).toMatch(/^v24\./);
    const version = await run(join(root, 'usr/bin/nftsentry'), ['--version']);
    expect({ code: version.exitCode, out: version.stdout, err: version.stderr }).toEqual({
      code: 0,
      out: pkg.version,
      err: '',
    });
    mkdirSync(join(work, 'elsewhere'));
    symlinkSync(join(root, 'usr/bin/nftsentry'), join(work, 'elsewhere/nftsentry'));
    const conf = join(root, 'etc/nftsentry/nftsentry.yaml');
    const render = await run(join(work, 'elsewhere/nftsentry'), ['-c', conf, 'render']);
    expect(render.stderr).toBe('');
    expect(render.exitCode).toBe(0);
    expect(render.stdout).toContain('table inet nftsentry {');
  });

  it('checks the packaged config and applies it inside a namespace', async () => {
    const conf = join(root, 'etc/nftsentry/nftsentry.yaml');
    const check = await inNs(['-c', conf, 'check']);
    expect({ code: check.exitCode, err: check.stderr }).toEqual({ code: 0, err: '' });
    expect(check.stdout).toContain('ruleset accepted by nft -c');
    const before = await run('ip', ['netns', 'exec', NS, 'nft', 'list', 'tables']);
    expect(before.stdout).not.toContain('nftsentry');
    const apply = await inNs(['-c', conf, 'apply']);
    expect({ code: apply.exitCode, err: apply.stderr }).toEqual({ code: 0, err: '' });
    const table = await run('ip', ['netns', 'exec', NS, 'nft', 'list', 'table', 'inet', 'nftsentry']);
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toContain('hook input');
  });

  it('apply --confirm without a daemon: the packaged rollback helper puts the previous ruleset back', async () => {
    const dir = join(work, 'confirm');
    mkdirSync(dir, { mode: 0o700 });
    const cfg = join(dir, 'nftsentry.yaml');
    writeFileSync(cfg, `services: { tcp: [2222] }\nstore: { path: ${dir}/state.db }\napi: { enabled: false }\n`);
    const services = async () =>
      (await run('ip', ['netns', 'exec', NS, 'nft', 'list', 'set', 'inet', 'nftsentry', 'services'])).stdout;
    expect(await services()).toMatch(/tcp \. 22\b/);
    const applied = await inNs(['-c', cfg, 'apply', '--confirm', '2s']);
    expect({ code: applied.exitCode, err: applied.stderr }).toEqual({ code: 0, err: '' });
    expect(applied.stdout).toContain('to keep it, run:');
    expect(await services()).toMatch(/tcp \. 2222\b/);
    await waitFor(async () => (/tcp \. 2222\b/.test(await services()) ? undefined : true), 30_000, 'the rollback');
    expect(await services()).toMatch(/tcp \. 22\b/);
    expect(JSON.parse(readFileSync(join(dir, 'confirm-result.json'), 'utf8'))).toMatchObject({
      outcome: 'rolled-back',
    });
  }, 60_000);

  it('runs the daemon in the namespace: an alert through unix_dgram (native addon) is banned, the API worker answers', async () => {
    const cfg = join(work, 'run.yaml');
    writeFileSync(
      cfg,
      `home_networks: [10.0.0.0/8]
store: { path: ${work}/state.db }
sources: { inputs: [ { type: unix_dgram, name: dgram, path: ${work}/eve.dgram, format: eve } ] }
api: { socket: { path: ${work}/api.sock }, token_file: ${work}/api.token }
`,
    );
    const cli = (args: string[]) => inNs(['-c', cfg, ...args]);
    const daemon = execa('ip', ['netns', 'exec', NS, join(root, 'usr/bin/nftsentry'), '-c', cfg, 'run'], {
      reject: false,
      stdin: 'ignore',
      timeout: 120_000,
      env: { ...ENV, NFTSENTRY_FORBID_HOST_NETNS: '1', NFTSENTRY_HOST_NETNS_INODE: HOST_INODE },
      extendEnv: false,
    });
    try {
      await waitFor(async () => ((await cli(['status'])).exitCode === 0 ? true : undefined), 60_000, 'the API');
      const alert = JSON.stringify({
        timestamp: new Date().toISOString().replace('Z', '+0000'),
        event_type: 'alert',
        src_ip: '198.18.5.7',
        src_port: 51000,
        dest_ip: '10.0.0.1',
        dest_port: 22,
        proto: 'TCP',
        alert: {
          action: 'allowed',
          gid: 1,
          signature_id: 2009582,
          rev: 3,
          signature: 'ET SCAN NMAP -sS window 1024',
          category: 'Attempted Information Leak',
          severity: 2,
        },
      });
      const send = `import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(sys.argv[2].encode(), sys.argv[1])`;
      expect((await run('python3', ['-c', send, `${work}/eve.dgram`, alert])).exitCode).toBe(0);
      const bans = await waitFor(
        async () => {
          const r = await cli(['bans']);
          return r.stdout.includes('198.18.5.7') ? r.stdout : undefined;
        },
        30_000,
        'the ban',
      );
      expect(bans).toMatch(/198\.18\.5\.7\s+suricata/);
      const set = await run('ip', ['netns', 'exec', NS, 'nft', 'list', 'set', 'inet', 'nftsentry', 'ban4']);
      expect(set.stdout).toContain('198.18.5.7');
      // The packaged API worker serves the dashboard's bundle from beside itself.
      const js = await run('ip', [
        'netns',
        'exec',
        NS,
        'curl',
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code} %{content_type}',
        '--unix-socket',
        `${work}/api.sock`,
        'http://localhost/ui/assets/app.js',
      ]);
      expect(js.stdout).toBe('200 text/javascript; charset=utf-8');
    } finally {
      daemon.kill('SIGTERM');
    }
    const exit = await daemon;
    expect({ code: exit.exitCode, signal: exit.signal ?? null }).toEqual({ code: 0, signal: null });
  }, 180_000);

  it('maintainer scripts start nothing and load no ruleset; removal says how to delete the table', async () => {
    const ctl = join(work, 'control');
    await run('dpkg-deb', ['--control', deb, ctl]);
    // Stand-ins for the commands the scripts may call: each records how it was called.
    const stubs = join(work, 'stubs');
    mkdirSync(stubs);
    const calls = join(work, 'calls.log');
    for (const cmd of ['systemctl', 'deb-systemd-helper', 'deb-systemd-invoke', 'nft', 'nftsentry']) {
      writeFileSync(join(stubs, cmd), `#!/bin/sh\necho "${cmd} $*" >> '${calls}'\n`);
      chmodSync(join(stubs, cmd), 0o755);
    }
    const script = (name: string, ...args: string[]) => run(join(ctl, name), args, { PATH: `${stubs}:/usr/bin:/bin` });
    const install = await script('postinst', 'configure', '');
    expect(install.exitCode).toBe(0);
    expect(install.stdout).toContain('allowlist');
    expect(install.stdout).toContain('nftsentry doctor');
    expect(install.stdout).toContain('nftsentry apply --confirm');
    const upgrade = await script('postinst', 'configure', '0.0.9');
    expect(upgrade.exitCode).toBe(0);
    const remove = await script('postrm', 'remove');
    expect(remove.exitCode).toBe(0);
    expect(remove.stdout).toContain('nft delete table inet nftsentry');
    const log = (() => {
      try {
        return readFileSync(calls, 'utf8');
      } catch {
        return '';
      }
    })();
    expect(log).not.toMatch(/\b(start|restart|enable|reload-or-restart)\b/);
    expect(log).not.toMatch(/^nft(sentry)? /m);
    // Purge deletes the ban journal (not run here: it would delete the host's).
    expect(readFileSync(join(ctl, 'postrm'), 'utf8')).toMatch(/purge\)\n\s+rm -rf \/var\/lib\/nftsentry/);
  });

  it('lintian finds no error', async () => {
    const started = performance.now();
    const l = await run('lintian', ['--fail-on', 'error', '--no-tag-display-limit', deb]);
    console.log(`lintian took ${Math.round(performance.now() - started)} ms:\n${l.stdout}`);
    expect(l.stdout).not.toMatch(/^E: /m);
    expect(l.exitCode).toBe(0);
  }, 180_000);
});
