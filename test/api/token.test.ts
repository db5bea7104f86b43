/**
 * The token file (a regular file reached without a link, the reader's own, no group or other
 * bits, in a directory only its user or root may change; generated once with 0600), the verifier
 * and the limiter.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateToken, readTokenFile } from '../../src/api/token-file.ts';
import { TokenVerifier } from '../../src/api/token.ts';
import { AuthLimiter } from '../../src/api/auth-limiter.ts';
import { apiConfigSchema } from '../../src/api/api-schema.ts';
import { targetFromConfig } from '../../src/cli/api-client.ts';
import { isNftsentryError } from '../../src/errors.ts';

const GOOD = 'a-token-of-enough-length';
const NOBODY = 65534;
const root = process.geteuid?.() === 0;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-token-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A good token file in `dir`: 0600, the reader's own. */
function goodFile(name = 'api.token'): string {
  const path = join(dir, name);
  writeFileSync(path, `${GOOD}\n`, { mode: 0o600 });
  return path;
}

/** The problem a read reports, or `ok TOKEN`. */
function problem(read: () => unknown): string {
  try {
    return `ok ${String(read())}`;
  } catch (err) {
    if (isNftsentryError(err, 'E_TOKEN_FILE_UNSAFE')) return `${err.code} ${String(err.details?.problem)}`;
    return `${(err as { code?: string }).code} ${(err as Error).message}`;
  }
}

function message(read: () => unknown): string {
  try {
    read();
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
}

describe('token file: generated', () => {
  it('on first start with mode 0600 in a new 0700 directory, and read back unchanged afterwards', () => {
    const path = join(dir, 'sub', 'api.token');
    const first = loadOrCreateToken(path);
    expect(first.generated).toBe(true);
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(path).mode & 0o7777).toBe(0o600);
    expect(statSync(join(dir, 'sub')).mode & 0o7777).toBe(0o700);
    expect(readFileSync(path, 'utf8')).toBe(`${first.token}\n`);
    expect(loadOrCreateToken(path)).toEqual({ token: first.token, generated: false });
  });

  it('with mode 0600 whatever the umask', () => {
    const before = process.umask(0o000);
    try {
      loadOrCreateToken(join(dir, 'open-umask.token'));
      process.umask(0o277);
      loadOrCreateToken(join(dir, 'tight-umask.token'));
    } finally {
      process.umask(before);
    }
    expect(statSync(join(dir, 'open-umask.token')).mode & 0o7777).toBe(0o600);
    expect(statSync(join(dir, 'tight-umask.token')).mode & 0o7777).toBe(0o600);
  });

  it('never through a link: a dangling symbolic link at the path is refused and its target not created', () => {
    const path = join(dir, 'api.token');
    symlinkSync(join(dir, 'elsewhere'), path);
    expect(problem(() => loadOrCreateToken(path))).toBe('E_TOKEN_FILE_UNSAFE symlink');
    expect(existsSync(join(dir, 'elsewhere'))).toBe(false);
  });

  it('never in a directory others may write; an unsafe existing file is refused, not replaced', () => {
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(problem(() => loadOrCreateToken(join(open, 'api.token')))).toBe('E_TOKEN_FILE_UNSAFE directory');
    expect(existsSync(join(open, 'api.token'))).toBe(false);
    const path = goodFile();
    chmodSync(path, 0o644);
    expect(problem(() => loadOrCreateToken(path))).toBe('E_TOKEN_FILE_UNSAFE mode');
    expect(readFileSync(path, 'utf8')).toBe(`${GOOD}\n`);
  });
});

describe('token file: read', () => {
  it('a good file: 0600 or 0400, owned by the reader', () => {
    const path = goodFile();
    expect(readTokenFile(path)).toBe(GOOD);
    chmodSync(path, 0o400);
    expect(readTokenFile(path)).toBe(GOOD);
  });

  it('a missing file is E_NOT_FOUND (the daemon then creates it)', () => {
    expect(problem(() => readTokenFile(join(dir, 'none')))).toMatch(/^E_NOT_FOUND /);
  });

  it('a symbolic link is refused, even to a good file', () => {
    const target = goodFile('real.token');
    const link = join(dir, 'api.token');
    symlinkSync(target, link);
    expect(problem(() => readTokenFile(link))).toBe('E_TOKEN_FILE_UNSAFE symlink');
    expect(message(() => readTokenFile(link))).toBe(
      `API token file ${link} is a symbolic link; it is not followed: put the token file itself at that path`,
    );
  });

  it.each([0o640, 0o604, 0o620, 0o602, 0o610, 0o601, 0o660, 0o644])(
    'mode %o (group or other bits) is refused, naming chmod 600',
    (mode) => {
      const path = goodFile();
      chmodSync(path, mode);
      expect(problem(() => readTokenFile(path))).toBe('E_TOKEN_FILE_UNSAFE mode');
      expect(message(() => readTokenFile(path))).toBe(
        `API token file ${path} has mode 0${mode.toString(8)}; group and others must have no permission on it: chmod 600 ${path}`,
      );
    },
  );

  it.skipIf(!root)('a file of another user is refused, naming chown', () => {
    const path = goodFile();
    chownSync(path, NOBODY, NOBODY);
    expect(problem(() => readTokenFile(path))).toBe('E_TOKEN_FILE_UNSAFE owner');
    expect(message(() => readTokenFile(path))).toMatch(
      new RegExp(
        `^API token file ${path} belongs to uid ${NOBODY}, not to root \\(uid 0\\) who reads it: .*; chown root ${path}, or delete it`,
      ),
    );
  });

  it.each([
    [0o770, 'group'],
    [0o707, 'others'],
    [0o1777, 'everyone, sticky'],
  ])('a directory of mode %o (writable by %s) is refused, naming chmod go-w', (mode) => {
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const path = join(sub, 'api.token');
    writeFileSync(path, `${GOOD}\n`, { mode: 0o600 });
    chmodSync(sub, mode);
    expect(problem(() => readTokenFile(path))).toBe('E_TOKEN_FILE_UNSAFE directory');
    expect(message(() => readTokenFile(path))).toMatch(
      new RegExp(`writable by group or others .*: they could replace the token; chmod go-w ${sub}$`),
    );
  });

  it.skipIf(!root)('a directory of another user is refused, naming chown', () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub, { mode: 0o755 });
    const path = join(sub, 'api.token');
    writeFileSync(path, `${GOOD}\n`, { mode: 0o600 });
    chownSync(sub, NOBODY, NOBODY);
    expect(problem(() => readTokenFile(path))).toBe('E_TOKEN_FILE_UNSAFE directory');
    expect(message(() => readTokenFile(path))).toContain(
      `belongs to uid ${NOBODY}, who could replace the token; chown root ${sub}`,
    );
  });

  it('a directory or a FIFO at the path is not a regular file (the FIFO does not hang the read)', () => {
    mkdirSync(join(dir, 'a-dir'));
    expect(problem(() => readTokenFile(join(dir, 'a-dir')))).toBe('E_TOKEN_FILE_UNSAFE not_regular');
    execFileSync('mkfifo', ['-m', '600', join(dir, 'a-fifo')]);
    expect(problem(() => readTokenFile(join(dir, 'a-fifo')))).toBe('E_TOKEN_FILE_UNSAFE not_regular');
    expect(message(() => readTokenFile(join(dir, 'a-fifo')))).toBe(`API token file ${join(dir, 'a-fifo')} is a FIFO`);
  });

  it('a file that holds no token (empty, short, too long, spaces) is refused', () => {
    for (const text of ['', 'short\n', `${'a'.repeat(2000)}\n`, 'two words of a token\n']) {
      const path = join(dir, 'api.token');
      rmSync(path, { force: true });
      writeFileSync(path, text, { mode: 0o600 });
      expect(problem(() => readTokenFile(path))).toBe('E_TOKEN_FILE_UNSAFE no_token');
    }
  });

  it('the CLI client reads it with the same rules', () => {
    const target = goodFile('real.token');
    const link = join(dir, 'api.token');
    symlinkSync(target, link);
    expect(targetFromConfig(apiConfigSchema.parse({ token_file: target })).token).toBe(GOOD);
    expect(problem(() => targetFromConfig(apiConfigSchema.parse({ token_file: link })))).toBe(
      'E_TOKEN_FILE_UNSAFE symlink',
    );
    chmodSync(target, 0o640);
    expect(problem(() => targetFromConfig(apiConfigSchema.parse({ token_file: target })))).toBe(
      'E_TOKEN_FILE_UNSAFE mode',
    );
  });
});

describe('TokenVerifier', () => {
  const v = new TokenVerifier('the-right-token-123456');
  it.each([
    ['Bearer the-right-token-123456', true],
    ['bearer the-right-token-123456', true],
    ['Bearer the-right-token-12345', false],
    ['Bearer the-right-token-1234567', false],
    ['Bearer  the-right-token-123456', false],
    ['Bearer the-right-token-123456 x', false],
    ['Token the-right-token-123456', false],
    ['', false],
  ])('%j -> %s', (header, ok) => {
    expect(v.verifyHeader(header)).toBe(ok);
  });
  it('refuses a missing header and an absurdly long one', () => {
    expect(v.verifyHeader(undefined)).toBe(false);
    expect(v.verifyHeader(`Bearer ${'a'.repeat(10_000)}`)).toBe(false);
  });
});

describe('AuthLimiter', () => {
  it('locks out after maxFailures within the window, per client, and forgets old failures', () => {
    const l = new AuthLimiter({ maxFailures: 3, windowMs: 1000, lockoutMs: 5000 });
    expect(l.fail('a', 0)).toBe(0);
    expect(l.fail('a', 100)).toBe(0);
    expect(l.fail('b', 100)).toBe(0);
    expect(l.fail('a', 200)).toBe(5000);
    expect(l.lockedForMs('a', 1200)).toBe(4000);
    expect(l.lockedForMs('b', 1200)).toBe(0);
    expect(l.lockedForMs('a', 5200)).toBe(0);
    // Two failures, then the window passes: counting starts again.
    expect(l.fail('c', 0)).toBe(0);
    expect(l.fail('c', 10)).toBe(0);
    expect(l.fail('c', 2000)).toBe(0);
  });

  it('tracks a bounded number of clients', () => {
    const l = new AuthLimiter({ maxFailures: 5, windowMs: 1000, lockoutMs: 1000, maxClients: 100 });
    for (let i = 0; i < 1000; i++) l.fail(`client-${i}`, i);
    expect(l.trackedClients).toBe(100);
  });
});
