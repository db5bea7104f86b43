/** The token file (0600, generated once, refused when readable by others), the verifier and the limiter. */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, rmSync, statSync, writeFileSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateToken, readTokenFile, TokenVerifier } from '../../src/api/token.ts';
import { AuthLimiter } from '../../src/api/auth-limiter.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nftsentry-token-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('token file', () => {
  it('is generated on first start with mode 0600, and read back unchanged afterwards', () => {
    const path = join(dir, 'sub', 'api.token');
    const first = loadOrCreateToken(path);
    expect(first.generated).toBe(true);
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe(`${first.token}\n`);
    expect(loadOrCreateToken(path)).toEqual({ token: first.token, generated: false });
  });

  it('is refused when group or others may read it', () => {
    const path = join(dir, 'api.token');
    writeFileSync(path, 'a-token-of-enough-length\n', { mode: 0o600 });
    chmodSync(path, 0o640);
    expect(() => readTokenFile(path)).toThrow(/mode 0640; it must be 0600/);
    expect(() => loadOrCreateToken(path)).toThrow(/0600/);
  });

  it('is refused when it holds no token', () => {
    const path = join(dir, 'api.token');
    writeFileSync(path, 'short\n', { mode: 0o600 });
    expect(() => readTokenFile(path)).toThrow(/does not hold a token/);
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
