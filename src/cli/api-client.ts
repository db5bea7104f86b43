/**
 * The API client the CLI uses: address and token from the config, one request per call, errors
 * turned back into NftsentryError-like values with the server's stable code and HTTP status.
 */
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { NftsentryError, ErrorCodes } from '../errors.ts';
import type { ApiConfig } from '../api/api-schema.ts';
import type { ApiErrorCode } from '../api/http-errors.ts';
import { readTokenFile } from '../api/token-file.ts';
import { tlsFiles, tlsWanted } from '../api/tls.ts';

export interface ApiTarget {
  socketPath?: string;
  host?: string;
  port?: number;
  token: string;
  timeoutMs?: number;
  /** HTTPS: the server must present exactly this certificate (PEM), checked by its fingerprint. */
  cert?: string;
}

/** An answer with an error body; `code` is the server's stable code. */
export class ApiClientError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode | string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiClientError';
    this.status = status;
    this.code = code;
  }
}

/**
 * Where the API is and its token: the token file is read with the daemon's own rules
 * (token-file.ts), as this process's user; an unsafe file is E_TOKEN_FILE_UNSAFE naming the fix.
 */
export function targetFromConfig(api: ApiConfig): ApiTarget {
  const token = readTokenFile(api.token_file);
  if (api.socket) return { socketPath: api.socket.path, token };
  if (!tlsWanted(api)) return { host: api.host, port: api.port, token };
  const path = tlsFiles(api).cert;
  let cert: string;
  try {
    cert = readFileSync(path, 'utf8');
  } catch (err) {
    throw new NftsentryError(
      ErrorCodes.INTERNAL,
      `the API serves HTTPS but its certificate ${path} cannot be read: ${(err as Error).message}`,
    );
  }
  return { host: api.host, port: api.port, token, cert };
}

export function describeTarget(t: ApiTarget): string {
  const scheme = t.cert ? 'https' : 'http';
  return t.socketPath
    ? `unix:${t.socketPath}`
    : `${scheme}://${t.host?.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
}

export class ApiClient {
  private readonly target: ApiTarget;

  constructor(target: ApiTarget) {
    this.target = target;
  }

  /** Sends one request; resolves with the parsed JSON body of a 2xx answer. */
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const t = this.target;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const fingerprint = t.cert ? new X509Certificate(t.cert).fingerprint256 : null;
    const send = (t.cert ? httpsRequest : request) as typeof request;
    return new Promise<T>((resolve, reject) => {
      const req = send(
        {
          ...(t.cert
            ? {
                ca: t.cert,
                // The certificate is pinned: its fingerprint, whatever name it was made for.
                checkServerIdentity: (_host: string, peer: { fingerprint256: string }) =>
                  peer.fingerprint256 === fingerprint ? undefined : new Error('the API presented another certificate'),
              }
            : {}),
          method,
          path,
          ...(t.socketPath ? { socketPath: t.socketPath } : { host: t.host, port: t.port }),
          headers: {
            authorization: `Bearer ${t.token}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
          timeout: t.timeoutMs ?? 30_000,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text.length ? JSON.parse(text) : null;
            } catch {
              json = null;
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) return resolve(json as T);
            const e = (json as { error?: { code?: string; message?: string } } | null)?.error;
            reject(new ApiClientError(status, e?.code ?? 'E_HTTP', e?.message ?? `HTTP ${status}`));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => {
        reject(
          new NftsentryError(
            ErrorCodes.INTERNAL,
            `cannot reach the nftsentry API at ${describeTarget(t)}: ${err.message} (is \`nftsentry run\` running?)`,
            { cause: err },
          ),
        );
      });
      if (payload) req.write(payload);
      req.end();
    });
  }
}

/** `203.0.113.0/24` -> `203.0.113.0%2F24`: one path segment whatever the address. */
export function addressSegment(address: string): string {
  return encodeURIComponent(address);
}
