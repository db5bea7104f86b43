/**
 * How each daemon of the peer benchmark is configured and started inside its own namespace: the
 * repo's configs (bench/peers/fail2ban/, bench/peers/crowdsec/) copied into the run's temporary
 * directory with its paths filled in, and the real nftsentry with a file and a socket source.
 * Each gives the same policy: the source of an ET SCAN alert is banned on its first alert for 1 h.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PeerNs, Proc } from './ns.ts';
import { sleep } from './ns.ts';

const HERE = new URL('.', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;
/** The Debian package's offline hub (crowdsec 1.4.6 ships it; no internet needed). */
const HUB = '/usr/share/crowdsec/hub';

export interface Running {
  procs: Proc[];
  /** nftsentry's unix_stream source. */
  socketPath?: string;
}

export interface Peer {
  key: string;
  label: string;
  start(ns: PeerNs, dir: string): Promise<Running>;
  /** What the daemon's own log says went wrong in a run (counted), for the report. */
  diagnose?(dir: string): string[];
}

/** Copies a config tree and replaces @NAME@ tokens in every file. */
function install(from: string, to: string, vars: Record<string, string>): void {
  cpSync(from, to, { recursive: true });
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else {
        let text = readFileSync(p, 'utf8');
        for (const [k, v] of Object.entries(vars)) text = text.replaceAll(`@${k}@`, v);
        writeFileSync(p, text);
      }
    }
  };
  walk(to);
}

export const nftsentry: Peer = {
  key: 'nftsentry',
  label: 'nftsentry',
  async start(ns, dir) {
    const socketPath = join(dir, 'eve.sock');
    const cfg = join(dir, 'nftsentry.yaml');
    writeFileSync(
      cfg,
      `# The peer benchmark's policy: ET SCAN source banned on its first alert for 1 h (IPv6 per address, as the peers do).
services: { tcp: [22] }
api: { port: 8080, token_file: ${dir}/api.token }
store: { path: ${dir}/state.db }
sources:
  inputs:
    - { type: file, name: eve, path: ${dir}/eve.json, start: end }
    - { type: unix_stream, path: ${socketPath} }
policy:
  ipv6_prefix: 128
  rules:
    - { name: et-scan, match: { signature_prefix: [ET SCAN] }, threshold: { alerts: 1, window: 10m }, ban: 1h }
`,
    );
    const proc = ns.spawn(
      'nftsentry',
      process.execPath,
      [join(ROOT, 'src/cli/main.ts'), '-c', cfg, 'run'],
      join(dir, 'nftsentry.log'),
      {
        NFTSENTRY_FORBID_HOST_NETNS: '1',
        NFTSENTRY_HOST_NETNS_INODE: String(statSync('/proc/self/ns/net').ino),
        NFTSENTRY_LOG_LEVEL: process.env.NSPEER_LOG_LEVEL ?? 'warn',
      },
    );
    return { procs: [proc], socketPath };
  },
};

export const fail2ban: Peer = {
  key: 'fail2ban',
  label: 'fail2ban',
  async start(ns, dir) {
    const conf = join(dir, 'fail2ban');
    install(join(HERE, 'fail2ban'), conf, { DIR: dir });
    const proc = ns.spawn(
      'fail2ban-server',
      'fail2ban-server',
      ['-xf', '-c', conf, 'start'],
      join(dir, 'fail2ban.log'),
    );
    return { procs: [proc] };
  },
};

export const crowdsec: Peer = {
  key: 'crowdsec',
  label: 'CrowdSec + bouncer',
  async start(ns, dir) {
    const conf = join(dir, 'crowdsec');
    install(join(HERE, 'crowdsec'), conf, { DIR: conf, HUB, EVE: join(dir, 'eve.json') });
    mkdirSync(join(conf, 'data'));
    mkdirSync(join(conf, 'notifications'));
    mkdirSync(join(conf, 'parsers/s01-parse'));
    mkdirSync(join(conf, 'parsers/s02-enrich'));
    symlinkSync(
      `${HUB}/parsers/s01-parse/crowdsecurity/suricata-logs.yaml`,
      join(conf, 'parsers/s01-parse/suricata-logs.yaml'),
    );
    symlinkSync(
      `${HUB}/parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml`,
      join(conf, 'parsers/s02-enrich/dateparse-enrich.yaml'),
    );
    symlinkSync('/etc/crowdsec/patterns', join(conf, 'patterns'));
    writeFileSync(join(conf, 'local_api_credentials.yaml'), '');
    const config = join(conf, 'config.yaml');
    await ns.run('cscli', ['-c', config, 'machines', 'add', 'nspeer', '--auto', '--force']);
    const key = (await ns.run('cscli', ['-c', config, 'bouncers', 'add', 'nspeer-bouncer', '-o', 'raw'])).trim();
    if (!/^[A-Za-z0-9]{16,}$/.test(key)) throw new Error(`cscli bouncers add: unexpected key "${key}"`);
    const bouncerYaml = join(conf, 'bouncer.yaml');
    writeFileSync(bouncerYaml, readFileSync(bouncerYaml, 'utf8').replaceAll('@KEY@', key));
    const agent = ns.spawn('crowdsec', 'crowdsec', ['-c', config, '-no-capi'], join(dir, 'crowdsec.log'));
    // The bouncer gives up if the local API does not answer, so it starts once the API does.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ok = await ns.run('cscli', ['-c', config, 'lapi', 'status'], 10_000).then(
        () => true,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline || agent.child.exitCode !== null) throw new Error('crowdsec local API did not come up');
      await sleep(250);
    }
    const bouncer = ns.spawn('bouncer', 'crowdsec-firewall-bouncer', ['-c', bouncerYaml], join(dir, 'bouncer.log'));
    return { procs: [agent, bouncer] };
  },
  diagnose(dir) {
    const text = readFileSync(join(dir, 'crowdsec.log'), 'utf8');
    const locked = text.match(/failed sending alert to LAPI.*database is locked/g)?.length ?? 0;
    return locked
      ? [`${locked} alert pushes refused by the local API ("database is locked"): those alerts are lost`]
      : [];
  },
};

export const PEERS: readonly Peer[] = [nftsentry, fail2ban, crowdsec];
