/**
 * In namespaces, with the real daemon and the real kernel: `nftsentry run` (sources, engine, API)
 * runs in the gateway namespace, the API listens on the gateway's loopback, and every request is
 * a real `curl` run inside that namespace.
 *
 * - A ban by curl puts the element in the kernel and the client loses the service; an unban by
 *   curl removes it and the client gets the service back (IPv4 address, IPv6 address, IPv4 prefix).
 * - Injection attempts are refused with 400 and `nft list table inet nftsentry` stays unchanged.
 *
 * Defined once, run twice: netns.test.ts (API in its worker thread, the default) and
 * netns-main-thread.test.ts (`api.worker: false`).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createLabTopology, LAB_ADDR, type LabTopology } from '../../src/lab/topology.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { readSet } from '../../src/nft/state.ts';
import { CLI, NODE_BIN, REPO, waitFor } from '../helpers.ts';

const PORT = 8765;
const SERVICE_PORT = 8080;
let lab: LabTopology;
let dir: string;
let token: string;
let nft: NftRunner;

interface Answer {
  status: number;
  body: any;
}

/** One curl inside the gateway namespace against the API on its loopback. */
async function api(method: string, path: string, body?: string, auth = true): Promise<Answer> {
  const args = ['-sS', '-m', '5', '-o', '-', '-w', '\n%{http_code}', '-X', method];
  if (auth) args.push('-H', `Authorization: Bearer ${token}`);
  if (body !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', body);
  args.push(`http://127.0.0.1:${PORT}${path}`);
  const r = await lab.gw.exec('curl', args, { timeoutMs: 10_000 });
  const cut = r.stdout.lastIndexOf('\n');
  const text = r.stdout.slice(0, cut);
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON (metrics)
  }
  const status = Number(r.stdout.slice(cut + 1));
  if (!status) throw new Error(`curl ${method} ${path}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return { status, body: json };
}

/** One request from the client namespace to the gateway's service: true when it was served. */
async function served(url: string): Promise<boolean> {
  const r = await lab.client.exec('curl', ['-sS', '-m', '1', '-o', '/dev/null', '-w', '%{http_code}', url], {
    timeoutMs: 5000,
  });
  return r.stdout === '200';
}

const url4 = `http://${LAB_ADDR.gwClient4}:${SERVICE_PORT}/`;
const url6 = `http://[${LAB_ADDR.gwClient6}]:${SERVICE_PORT}/`;

const untilServed = (url: string) =>
  waitFor(async () => ((await served(url)) ? true : undefined), 10_000, `service reachable at ${url}`, 50);
const untilRefused = (url: string) =>
  waitFor(async () => ((await served(url)) ? undefined : true), 10_000, `service cut off at ${url}`, 50);

/** One ET SCAN alert line from `src` into the daemon's EVE socket (Suricata's side of it). */
async function sendAlert(src: string): Promise<void> {
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
      signature_id: 2001219,
      rev: 20,
      signature: 'ET SCAN Potential SSH Scan',
      category: 'Attempted Information Leak',
      severity: 2,
    },
  });
  await new Promise<void>((resolve, reject) => {
    const s = connect({ path: join(dir, 'eve.sock') }, () => s.end(`${line}\n`, () => resolve()));
    s.on('error', reject);
  });
}

/** A sample of /metrics, or 0 when absent. */
async function metric(pattern: RegExp): Promise<number> {
  const m = pattern.exec((await api('GET', '/metrics', undefined, false)).body as string);
  return m ? Number(m[1]) : 0;
}

async function elements(set: string): Promise<Map<string, number | null>> {
  return new Map((await readSet(nft, set)).map((e) => [e.key, e.timeoutSec]));
}

/** The table as nft prints it, without what moves on its own (element expiry countdowns). */
async function tableText(): Promise<string> {
  const { stdout } = await nft.run(['-s', 'list', 'table', 'inet', 'nftsentry']);
  return stdout.replace(/ expires \S+/g, '');
}

export function defineNetnsSuite(worker: boolean): void {
  beforeAll(async () => {
    lab = await createLabTopology();
    nft = new NftRunner({ netns: lab.gw.name });
    dir = mkdtempSync(join(tmpdir(), 'nftsentry-api-netns-'));
    const config = join(dir, 'nftsentry.yaml');
    writeFileSync(
      config,
      [
        'services:',
        `  tcp: [${SERVICE_PORT}]`,
        'store:',
        `  path: ${join(dir, 'state.db')}`,
        'sources:',
        '  inputs:',
        '    - type: unix_stream',
        `      path: ${join(dir, 'eve.sock')}`,
        'api:',
        `  port: ${PORT}`,
        `  token_file: ${join(dir, 'api.token')}`,
        `  worker: ${worker}`,
        '',
      ].join('\n'),
    );
    lab.gw.spawn(NODE_BIN, [join(REPO, 'src', 'lab', 'service.ts'), String(SERVICE_PORT)]);
    const daemon = lab.gw.spawn(NODE_BIN, [CLI, '-c', config, 'run'], {
      env: {
        NFTSENTRY_FORBID_HOST_NETNS: '1',
        NFTSENTRY_HOST_NETNS_INODE: String(statSync('/proc/self/ns/net').ino),
        NFTSENTRY_LOG_LEVEL: 'warn',
      },
      buffer: false,
    });
    let err = '';
    daemon.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    await waitFor(
      async () => {
        if (daemon.exitCode !== null) throw new Error(`nftsentry run exited ${daemon.exitCode}: ${err}`);
        const r = await lab.gw.exec('curl', [
          '-s',
          '-m',
          '1',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          `http://127.0.0.1:${PORT}/readyz`,
        ]);
        return r.stdout === '200' ? true : undefined;
      },
      30_000,
      'nftsentry run to answer /readyz',
      100,
    );
    token = readFileSync(join(dir, 'api.token'), 'utf8').trim();
    expect(statSync(join(dir, 'api.token')).mode & 0o777).toBe(0o600);
    await untilServed(url4);
    await untilServed(url6);
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe(`API (${worker ? 'worker thread' : 'main thread'}) in the gateway namespace, real engine and kernel`, () => {
    it('answers health, readiness, and 401 without the token', async () => {
      expect(await api('GET', '/healthz', undefined, false)).toEqual({ status: 200, body: { status: 'ok' } });
      expect((await api('GET', '/readyz', undefined, false)).status).toBe(200);
      expect((await api('GET', '/v1/bans', undefined, false)).status).toBe(401);
    });

    it('curl ban of the client (IPv4): element in ban4 with its timeout, client loses the service; curl unban gives it back', async () => {
      const ban = await api(
        'POST',
        '/v1/bans',
        JSON.stringify({ address: LAB_ADDR.client4, duration: '1h', reason: 'netns test' }),
      );
      expect(ban.status).toBe(201);
      expect(ban.body).toMatchObject({
        address: LAB_ADDR.client4,
        source: 'manual',
        reason: 'netns test',
        remainingSec: 3600,
      });
      expect((await elements('ban4')).get(LAB_ADDR.client4)).toBe(3600);
      await untilRefused(url4);
      expect(await served(url6)).toBe(true);

      const look = await api('GET', `/v1/bans/${LAB_ADDR.client4}`);
      expect(look.status).toBe(200);

      const unban = await api('DELETE', `/v1/bans/${LAB_ADDR.client4}`);
      expect(unban.status).toBe(200);
      expect((await elements('ban4')).has(LAB_ADDR.client4)).toBe(false);
      await untilServed(url4);
      expect((await api('DELETE', `/v1/bans/${LAB_ADDR.client4}`)).status).toBe(404);
    });

    it('an unban by curl grants the grace period: the same alert stream does not re-ban at once (an alert from another address does)', async () => {
      expect((await api('POST', '/v1/bans', JSON.stringify({ address: LAB_ADDR.scanner4 }))).status).toBe(201);
      expect((await api('DELETE', `/v1/bans/${LAB_ADDR.scanner4}`)).status).toBe(200);
      const graceBefore = await metric(/^nftsentry_alerts_total\{source="any",result="skipped_grace"\} (\d+)$/m);
      await sendAlert(LAB_ADDR.scanner4);
      await waitFor(
        async () =>
          (await metric(/^nftsentry_alerts_total\{source="any",result="skipped_grace"\} (\d+)$/m)) > graceBefore
            ? true
            : undefined,
        10_000,
        'the alert skipped for grace',
        100,
      );
      expect((await elements('ban4')).has(LAB_ADDR.scanner4)).toBe(false);
      // Control: the same alert from an address that was never unbanned is banned.
      await sendAlert('198.18.0.77');
      await waitFor(
        async () => ((await elements('ban4')).has('198.18.0.77') ? true : undefined),
        10_000,
        'the control alert banned',
        100,
      );
      expect((await api('DELETE', '/v1/bans/198.18.0.77')).status).toBe(200);
    });

    it('curl ban of the client (IPv6 address) cuts IPv6 only; unban gives it back', async () => {
      const ban = await api('POST', '/v1/bans', JSON.stringify({ address: '2001:DB8:1:0::2', duration: 600 }));
      expect(ban.status).toBe(201);
      expect(ban.body.address).toBe(LAB_ADDR.client6);
      expect((await elements('ban6')).get(LAB_ADDR.client6)).toBe(600);
      await untilRefused(url6);
      expect(await served(url4)).toBe(true);
      expect((await api('DELETE', `/v1/bans/${encodeURIComponent('2001:db8:1::2')}`)).status).toBe(200);
      expect((await elements('ban6')).size).toBe(0);
      await untilServed(url6);
    });

    it('curl ban of a prefix (slash URL-encoded on the way out) goes into bannet4; unban lifts it', async () => {
      // A /24 would cover the gateway's own 198.18.1.1, which the engine refuses (409).
      expect((await api('POST', '/v1/bans', JSON.stringify({ address: '198.18.1.0/24' }))).status).toBe(409);
      const ban = await api('POST', '/v1/bans', JSON.stringify({ address: '198.18.1.2/31', duration: '10m' }));
      expect(ban.status).toBe(201);
      expect([...(await elements('bannet4')).keys()]).toEqual(['198.18.1.2/31 . 0-255']);
      await untilRefused(url4);
      expect((await api('GET', '/v1/bans?source=manual')).body).toMatchObject({
        total: 1,
        items: [{ address: '198.18.1.2/31' }],
      });
      expect((await api('DELETE', '/v1/bans/198.18.1.2%2F31')).status).toBe(200);
      expect((await elements('bannet4')).size).toBe(0);
      await untilServed(url4);
    });

    it('injection attempts are refused with 400 and the table is unchanged', async () => {
      const before = await tableText();
      const setsBefore = await Promise.all(['ban4', 'ban6', 'bannet4', 'bannet6'].map((s) => elements(s)));
      const long = '1'.repeat(300);
      const bodies: unknown[] = [
        { address: '198.18.0.2}' },
        { address: '198.18.0.2 }' },
        { address: '198.18.0.2;' },
        { address: '198.18.0.2; flush ruleset' },
        { address: '198.18.0.2\nflush ruleset' },
        { address: '198.18.0.2\n' },
        { address: '198.18.0.2 } ; add rule inet nftsentry input accept' },
        { address: long },
        { address: `198.18.0.${long}` },
        { address: 'fe80::1%eth0' },
        { address: '2001:db8::2%eth-scan' },
        { address: '::ffff:198.18.0.2' },
        { address: '::ffff:c612:2' },
        { address: '::ffff:0:0/96' },
        { address: ['198.18.0.2'] },
        { address: '198.18.0.2', duration: -1 },
        { address: '198.18.0.2', duration: '-1h' },
        { address: '198.18.0.2', duration: 1e12 },
        { address: '198.18.0.2', duration: '99999999999' },
        { address: '198.18.0.2', duration: '1h;' },
        { address: '198.18.0.2', duration: '1h\n' },
        { address: '198.18.0.2', duration: 1.5 },
        { address: '198.18.0.2', reason: '"; flush ruleset; #' },
        { address: '198.18.0.2', reason: 'a}b' },
        { address: '198.18.0.2', reason: 'line\nbreak' },
        { address: '198.18.0.2', reason: 'r'.repeat(300) },
      ];
      for (const b of bodies) {
        const r = await api('POST', '/v1/bans', JSON.stringify(b));
        expect(r.status, JSON.stringify(b)).toBe(400);
        expect(r.body.error.code, JSON.stringify(b)).toMatch(/^E_(ADDRESS_INVALID|DURATION_INVALID|BAD_REQUEST)$/);
      }
      const paths = [
        '198.18.0.2%7D',
        '198.18.0.2%3B',
        '198.18.0.2%0A',
        '198.18.0.2%0Aflush%20ruleset',
        long,
        'fe80::1%25eth0',
        '::ffff:198.18.0.2',
        '198.18.0.2%2F24%3B',
      ];
      for (const p of paths) {
        expect((await api('DELETE', `/v1/bans/${p}`)).status, p).toBe(400);
        expect((await api('GET', `/v1/bans/${p}`)).status, p).toBe(400);
      }
      for (const b of [
        { address: '198.18.0.2;' },
        { address: 'fe80::1%eth0' },
        { address: '198.18.0.0/16', note: 'x"; flush ruleset' },
      ]) {
        expect((await api('POST', '/v1/allowlist', JSON.stringify(b))).status, JSON.stringify(b)).toBe(400);
      }
      expect(await tableText()).toBe(before);
      expect(await Promise.all(['ban4', 'ban6', 'bannet4', 'bannet6'].map((s) => elements(s)))).toEqual(setsBefore);
    });

    it('status and metrics show the kernel counters and the bans', async () => {
      const status = await api('GET', '/v1/status');
      expect(status.status).toBe(200);
      expect(status.body).toMatchObject({ ruleset: { applied: true }, bans: { total: 0 } });
      expect(Object.keys(status.body.drops)).toContain('banned');
      expect(status.body.drops.banned.packets).toBeGreaterThan(0);
      const metrics = await api('GET', '/metrics', undefined, false);
      expect(metrics.body).toMatch(/^nftsentry_dropped_packets_total\{reason="banned"\} [1-9]\d*$/m);
      expect(metrics.body).toContain('nftsentry_bans_active{source="manual"} 0');
      expect(metrics.body).toMatch(/^nftsentry_nft_apply_duration_seconds_count [1-9]\d*$/m);
    });
  });
}
