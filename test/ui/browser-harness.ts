/**
 * The dashboard's browser rig: the lab (gateway, scanner, client namespaces), `nftsentry run` in
 * the gateway with its API, a web service for the client, optionally 100,000 bans already in the
 * store (the daemon restores them at start), and Debian's chromium driven by playwright-core,
 * started inside the gateway namespace through a small wrapper script (so that it reaches the
 * API wherever it listens there). Used by the browser tests and by scripts/screenshots.ts.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { chromium, type Browser } from 'playwright-core';
import { createLabTopology, LAB_ADDR, type LabTopology } from '../../src/lab/topology.ts';
import { SCHEMA_SQL } from '../../src/store/store-schema.ts';
import { CLI, NODE_BIN, REPO, waitFor } from '../helpers.ts';

export const SERVICE_PORT = 8080;

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Gateway {
  lab: LabTopology;
  dir: string;
  token: string;
  /** A read-only token (`api.tokens`, name `viewer`). */
  viewerToken: string;
  /** `http://127.0.0.1:8765` or `https://198.18.1.1:8443`. */
  base: string;
  logs: () => string;
  destroy(): Promise<void>;
}

export interface GatewayOptions {
  /** Pre-fill the store with this many active bans (198.18.64.0 upward), restored at start. */
  seedBans?: number;
  /** Listen on the gateway's client-side address with TLS (self-signed) instead of loopback. */
  https?: boolean;
  port?: number;
}

/** `n` active suricata bans, one a /32 each from 198.18.64.0 upward, seen over the last day. */
export function seedStore(path: string, n: number, nowMs: number): void {
  const db = new DatabaseSync(path);
  db.exec(SCHEMA_SQL);
  const ins = db.prepare(
    `INSERT INTO bans (target, family, set_name, source, reason, sid, signature, first_seen_ms, last_seen_ms,
       expires_ms, duration_sec, active, offences, hits, last_offence_ms)
     VALUES (?, 4, 'ban4', ?, ?, ?, ?, ?, ?, ?, 86400, 1, ?, ?, ?)`,
  );
  const sigs = [
    'ET SCAN Potential SSH Scan',
    'ET SCAN NMAP -sS window 1024',
    'ET SCAN Suspicious inbound to MSSQL port 1433',
  ];
  db.exec('BEGIN');
  for (let i = 0; i < n; i++) {
    const v = 16_384 + i;
    const addr = `198.${18 + (v >> 16)}.${(v >> 8) & 255}.${v & 255}`;
    const seen = nowMs - 60_000 - ((i * 7919) % 86_000_000);
    const k = i % 3;
    ins.run(
      addr,
      'suricata',
      'scan',
      2001219 + k,
      sigs[k]!,
      seen,
      seen,
      seen + 86_400_000 * 2,
      1 + (i % 4),
      1 + (i % 50),
      seen,
    );
  }
  db.exec('COMMIT');
  db.close();
}

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const lab = await createLabTopology();
  const dir = mkdtempSync(join(tmpdir(), 'nftsentry-ui-'));
  try {
    const port = options.port ?? (options.https ? 8443 : 8765);
    const host = options.https ? LAB_ADDR.gwClient4 : '127.0.0.1';
    if (options.seedBans) seedStore(join(dir, 'state.db'), options.seedBans, Date.now());
    const config = join(dir, 'nftsentry.yaml');
    const viewerToken = `viewer-${randomBytes(16).toString('hex')}`;
    writeFileSync(join(dir, 'viewer.token'), `${viewerToken}\n`, { mode: 0o600 });
    writeFileSync(
      config,
      [
        'services:',
        `  tcp: [${SERVICE_PORT}]`,
        'policy:',
        '  max_active_bans: 300000',
        'store:',
        `  path: ${join(dir, 'state.db')}`,
        'sources:',
        '  inputs:',
        '    - type: unix_stream',
        `      path: ${join(dir, 'eve.sock')}`,
        'api:',
        `  host: ${host}`,
        `  port: ${port}`,
        `  token_file: ${join(dir, 'api.token')}`,
        '  tokens:',
        `    - { name: viewer, token_file: ${join(dir, 'viewer.token')}, role: read-only }`,
        ...(options.https ? ['  allow_remote: true'] : []),
        '',
      ].join('\n'),
    );
    lab.gw.spawn(NODE_BIN, [join(REPO, 'src', 'lab', 'service.ts'), String(SERVICE_PORT)]);
    const daemon = lab.gw.spawn(NODE_BIN, [CLI, '-c', config, 'run'], {
      env: {
        NFTSENTRY_FORBID_HOST_NETNS: '1',
        NFTSENTRY_HOST_NETNS_INODE: String(statSync('/proc/self/ns/net').ino),
        NFTSENTRY_LOG_LEVEL: 'info',
      },
      buffer: false,
    });
    let err = '';
    daemon.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const base = `${options.https ? 'https' : 'http'}://${host}:${port}`;
    await waitFor(
      async () => {
        if (daemon.exitCode !== null) throw new Error(`nftsentry run exited ${daemon.exitCode}: ${err.slice(-2000)}`);
        const r = await lab.gw.exec('curl', [
          '-sk',
          '-m',
          '1',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          `${base}/readyz`,
        ]);
        return r.stdout === '200' ? true : undefined;
      },
      90_000,
      'nftsentry run to answer /readyz',
      200,
    );
    const token = readFileSync(join(dir, 'api.token'), 'utf8').trim();
    return {
      lab,
      dir,
      token,
      viewerToken,
      base,
      logs: () => err,
      async destroy() {
        await lab.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Chromium inside `nsName` (a wrapper script as executablePath), headless, offline. */
export async function launchBrowserIn(dir: string, nsName: string, extraArgs: string[] = []): Promise<Browser> {
  const wrapper = join(dir, 'chromium-in-netns.sh');
  writeFileSync(wrapper, `#!/bin/sh\nexec /usr/sbin/ip netns exec ${nsName} /usr/bin/chromium "$@"\n`);
  chmodSync(wrapper, 0o755);
  // playwright starts every browser with a fresh temporary --user-data-dir of its own.
  return chromium.launch({
    executablePath: wrapper,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    timeout: 60_000,
  });
}

/** One curl inside the gateway namespace: status and body. */
export async function curl(
  gw: Gateway,
  method: string,
  path: string,
  options: { auth?: boolean; body?: unknown } = {},
): Promise<{ status: number; body: any }> {
  const args = ['-sk', '-m', '5', '-o', '-', '-w', '\n%{http_code}', '-X', method];
  if (options.auth !== false) args.push('-H', `Authorization: Bearer ${gw.token}`);
  if (options.body !== undefined)
    args.push('-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(options.body));
  args.push(`${gw.base}${path}`);
  const r = await gw.lab.gw.exec('curl', args, { timeoutMs: 10_000 });
  const cut = r.stdout.lastIndexOf('\n');
  const text = r.stdout.slice(0, cut);
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // a page or a redirect
  }
  return { status: Number(r.stdout.slice(cut + 1)), body };
}

/** One ET SCAN alert line from `src` into the daemon's EVE socket. */
export async function sendAlert(
  gw: Gateway,
  src: string,
  sid = 2001219,
  signature = 'ET SCAN Potential SSH Scan',
): Promise<void> {
  const line = JSON.stringify({
    timestamp: new Date().toISOString(),
    flow_id: 1,
    event_type: 'alert',
    src_ip: src,
    src_port: 40000,
    dest_ip: LAB_ADDR.gwScan4,
    dest_port: 22,
    proto: 'TCP',
    alert: {
      action: 'allowed',
      gid: 1,
      signature_id: sid,
      rev: 1,
      signature,
      category: 'Attempted Information Leak',
      severity: 2,
    },
  });
  await new Promise<void>((resolve, reject) => {
    const s = connect({ path: join(gw.dir, 'eve.sock') }, () => s.end(`${line}\n`, () => resolve()));
    s.on('error', reject);
  });
}
