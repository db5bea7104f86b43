/**
 * The API's TLS: the configured certificate and key (api.tls.cert, api.tls.key), or, when the API
 * listens beyond loopback and none is configured, a self-signed one made on first start with
 * Debian's `openssl` and kept in the state directory (beside the token file) for the next starts.
 * Its SHA-256 fingerprint is logged and shown by `nftsentry status`, so that an admin can check
 * what the browser is shown before accepting it.
 *
 * Runs in the main thread before the API starts (the API's worker never starts a process).
 */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NftsentryError, ErrorCodes } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ApiConfig } from './api-schema.ts';
import { isLoopbackHost } from './loopback.ts';

export interface TlsInfo {
  cert: string;
  key: string;
  /** `AB:CD:...`, as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint256: string;
  /** SHA-256 of the public key (SubjectPublicKeyInfo), base64: what chromium's `--ignore-certificate-errors-spki-list` takes. */
  spkiSha256: string;
  selfSigned: boolean;
}

/** TLS is served when configured, and always on a TCP address beyond loopback. */
export function tlsWanted(config: ApiConfig): boolean {
  return config.tls !== undefined || (!config.socket && !isLoopbackHost(config.host));
}

export function tlsInfoOf(cert: string, key: string, selfSigned: boolean): TlsInfo {
  let x: X509Certificate;
  try {
    x = new X509Certificate(cert);
  } catch (err) {
    throw new NftsentryError(ErrorCodes.CONFIG_INVALID, `api.tls: not a PEM certificate: ${(err as Error).message}`);
  }
  const spki = x.publicKey.export({ type: 'spki', format: 'der' });
  return {
    cert,
    key,
    fingerprint256: x.fingerprint256,
    spkiSha256: createHash('sha256').update(spki).digest('base64'),
    selfSigned,
  };
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new NftsentryError(
      ErrorCodes.CONFIG_INVALID,
      `api.tls.${what}: cannot read ${path}: ${(err as Error).message}`,
    );
  }
}

/** A self-signed P-256 certificate for `host` (its subjectAltName), valid 825 days, made by openssl. */
export function generateSelfSigned(certPath: string, keyPath: string, host: string): void {
  const san = host.includes(':') || /^[0-9.]+$/.test(host) ? `IP:${host}` : `DNS:${host}`;
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '825',
        '-subj',
        '/CN=nftsentry',
        '-addext',
        `subjectAltName=${san}`,
        '-keyout',
        keyPath,
        '-out',
        certPath,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
    );
    chmodSync(keyPath, 0o600);
  } catch (err) {
    throw new NftsentryError(
      ErrorCodes.CONFIG_INVALID,
      `cannot make a self-signed certificate with openssl (install openssl, or set api.tls.cert and api.tls.key): ${(err as Error).message}`,
    );
  }
}

/** Where the certificate and key are: configured, or the self-signed pair beside the token file. */
export function tlsFiles(config: ApiConfig): { cert: string; key: string } {
  if (config.tls) return config.tls;
  const dir = dirname(config.token_file);
  return { cert: join(dir, 'api-cert.pem'), key: join(dir, 'api-key.pem') };
}

/** The TLS the API serves, or null for plain HTTP (loopback or a unix socket, nothing configured). */
export function loadOrCreateTls(config: ApiConfig, log: Logger): TlsInfo | null {
  if (!tlsWanted(config)) return null;
  if (config.tls) {
    const info = tlsInfoOf(readPem(config.tls.cert, 'cert'), readPem(config.tls.key, 'key'), false);
    log.info({ fingerprint256: info.fingerprint256, cert: config.tls.cert }, 'api: serving TLS');
    return info;
  }
  const { cert: certPath, key: keyPath } = tlsFiles(config);
  const made = !existsSync(certPath) || !existsSync(keyPath);
  if (made) generateSelfSigned(certPath, keyPath, config.host);
  const info = tlsInfoOf(readPem(certPath, 'cert'), readPem(keyPath, 'key'), true);
  log.info(
    { fingerprint256: info.fingerprint256, cert: certPath, generated: made },
    made ? 'api: generated a self-signed certificate' : 'api: serving TLS with the self-signed certificate',
  );
  return info;
}
