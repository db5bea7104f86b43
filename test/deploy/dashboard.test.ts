/**
 * deploy/grafana/nftsentry-dashboard.json and deploy/prometheus/nftsentry-alerts.yml name only
 * metrics that exist: every name they use is in a /metrics scrape of a daemon (Daemon on the
 * in-memory FakeNft, its API as `nftsentry run` starts it, in its worker thread on a unix socket)
 * that has banned once and read one source.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startDaemonApi } from '../../src/api/daemon-api.ts';
import type { ApiHandle } from '../../src/api/server.ts';
import { Daemon } from '../../src/cli/commands/daemon.ts';
import { parseConfigText } from '../../src/config/config.ts';
import { SourceStats } from '../../src/ingest/source-stats.ts';
import { silentLogger } from '../../src/log.ts';
import { parseIp, parsePrefix } from '../../src/net/ip.ts';
import { interfaceAddress } from '../../src/net/subnet.ts';
import { FakeNft } from '../../src/nft/fake.ts';
import { waitFor } from '../helpers.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'nftsentry-dashboard-'));
let daemon: Daemon | null = null;
let api: ApiHandle | null = null;

afterAll(async () => {
  await api?.close();
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function get(socketPath: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Metric names in PromQL text: nftsentry_* and process_* (label names and functions are not metrics). */
function metricNames(text: string): string[] {
  return [...new Set(text.match(/\b(?:nftsentry|process)_[a-z0-9_]+\b/g) ?? [])];
}

/** Every series name a scrape shows, histograms' _bucket/_sum/_count included. */
function scrapedNames(scrape: string): Set<string> {
  const names = new Set<string>();
  for (const line of scrape.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)/.exec(line);
    if (!m) continue;
    names.add(m[1]!);
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m[1]}${s}`);
  }
  return names;
}

describe('deploy: dashboard and alert rules', () => {
  it('every metric the dashboard and the alert rules name is in a real /metrics scrape', async () => {
    const socketPath = join(dir, 'api.sock');
    const config = parseConfigText(`home_networks: [10.0.0.0/8]
store: { path: ${join(dir, 'state.db')} }
api: { socket: { path: ${socketPath} }, token_file: ${join(dir, 'api.token')}, worker_nice: 0 }
engine: { heal_poll: 1m, kernel_scan_poll: 1m }`);
    daemon = new Daemon(config, {
      log: silentLogger(),
      nft: new FakeNft(),
      readOwnAddresses: async () => [interfaceAddress(parseIp('198.18.0.1')!, 24)],
    });
    await daemon.start();
    await daemon.operations.ban({ address: parsePrefix('198.51.100.7')!, durationSec: 60, reason: 'x' });
    const source = new SourceStats('eve', 'file');
    api = await startDaemonApi(config, daemon, { log: silentLogger(), sources: () => [source.snapshot()] });
    await get(socketPath, '/healthz');
    let scrape = '';
    await waitFor(
      async () => {
        scrape = await get(socketPath, '/metrics');
        return scrape.includes('nftsentry_api_requests_total{') ? true : undefined;
      },
      10_000,
      'a scrape that counts the first request',
    );
    const have = scrapedNames(scrape);
    const dashboard = readFileSync(join(ROOT, 'deploy/grafana/nftsentry-dashboard.json'), 'utf8');
    const rules = readFileSync(join(ROOT, 'deploy/prometheus/nftsentry-alerts.yml'), 'utf8');
    JSON.parse(dashboard);
    const groups = (parseYaml(rules) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups;
    const exprs = groups.flatMap((g) => g.rules.map((r) => r.expr)).join('\n');
    const used = metricNames(`${dashboard}\n${exprs}`);
    expect(used.length).toBeGreaterThan(15);
    expect(used.filter((n) => !have.has(n))).toEqual([]);
    // The alerts the issue asks for are there.
    const alerts = groups.flatMap((g) => g.rules.map((r) => r.alert));
    for (const a of ['SourceDisconnected', 'StoreDegraded', 'FlusherFailing', 'HealsHappening'])
      expect(alerts).toContain(`Nftsentry${a}`);
  });
});
