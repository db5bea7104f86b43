/**
 * The API beyond loopback: `api.host` is the gateway's client-side address, so the daemon makes a
 * self-signed certificate on first start, logs its SHA-256 fingerprint and serves HTTPS only.
 * The certificate the server presents is the one logged (and shown by `nftsentry status`);
 * chromium accepts it by its public key's hash and logs in; the cookie is Secure; plain HTTP to
 * that address is refused.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { tlsInfoOf } from '../../src/api/tls.ts';
import { curl, launchBrowserIn, startGateway, type Gateway } from './browser-harness.ts';
import { CLI, NODE_BIN } from '../helpers.ts';

let gw: Gateway;
let browser: Browser | undefined;

beforeAll(async () => {
  gw = await startGateway({ https: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gw?.destroy();
});

describe('HTTPS on a non-loopback address, self-signed', () => {
  it('logs the fingerprint of the certificate it presents; status shows it; plain HTTP is refused', async () => {
    const pem = readFileSync(join(gw.dir, 'api-cert.pem'), 'utf8');
    const fp = new X509Certificate(pem).fingerprint256;
    const logged = gw
      .logs()
      .split('\n')
      .filter((l) => l.includes('self-signed certificate'))
      .map((l) => JSON.parse(l) as { fingerprint256?: string });
    expect(logged.map((l) => l.fingerprint256)).toContain(fp);
    // What the server presents, read by openssl inside the namespace.
    const shown = await gw.lab.gw.exec('sh', [
      '-c',
      `openssl s_client -connect ${new URL(gw.base).host} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`,
    ]);
    expect(shown.stdout.trim()).toBe(`sha256 Fingerprint=${fp}`);
    expect((await curl(gw, 'GET', '/v1/status')).body.tls).toEqual({ fingerprint256: fp, selfSigned: true });
    // The CLI pins the same certificate.
    const status = await gw.lab.gw.exec(NODE_BIN, [CLI, '-c', join(gw.dir, 'nftsentry.yaml'), 'status']);
    expect(status.stdout).toContain(`certificate SHA-256 ${fp}`);
    const plain = await gw.lab.gw.exec('curl', [
      '-sS',
      '-m',
      '3',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      gw.base.replace('https:', 'http:') + '/healthz',
    ]);
    expect(plain.exitCode).not.toBe(0);
    expect(plain.stdout).toBe('000');
  });

  it('chromium refuses the certificate without its key hash, accepts it with, logs in, gets a Secure cookie', async () => {
    const plain = await launchBrowserIn(gw.dir, gw.lab.gw.name);
    try {
      await expect((await plain.newPage()).goto(`${gw.base}/ui/login`)).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await plain.close();
    }
    const info = tlsInfoOf(readFileSync(join(gw.dir, 'api-cert.pem'), 'utf8'), '', true);
    browser = await launchBrowserIn(gw.dir, gw.lab.gw.name, [
      `--ignore-certificate-errors-spki-list=${info.spkiSha256}`,
    ]);
    const page = await browser.newPage();
    await page.goto(`${gw.base}/ui/`);
    expect(page.url()).toBe(`${gw.base}/ui/login`);
    await page.fill('input[name="token"]', gw.token);
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-testid="bans-table"]');
    const cookie = (await page.context().cookies()).find((c) => c.name === 'nftsentry_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: true });
    expect(Number(await page.textContent('[data-testid="bans-total"]'))).toBe(0);
  });
});
