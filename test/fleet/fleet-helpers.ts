/**
 * Daemons of a fleet in this process: each a real Daemon on its own in-memory FakeNft and store
 * file, with its own clock (an offset from the wall clock: a skewed node), and its Fleet on the
 * test's Redis. Logs are kept per node (pino into an array) so tests can read what was logged.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Daemon } from '../../src/cli/commands/daemon.ts';
import { parseConfigText } from '../../src/config/config.ts';
import { Fleet } from '../../src/fleet/fleet.ts';
import { parseIp } from '../../src/net/ip.ts';
import { interfaceAddress } from '../../src/net/subnet.ts';
import { FakeNft } from '../../src/nft/fake.ts';
import { readSet } from '../../src/nft/state.ts';

export interface Node {
  name: string;
  daemon: Daemon;
  fleet: Fleet;
  nft: FakeNft;
  offsetMs: number;
  logs: Array<Record<string, unknown>>;
  /** The kernel's ban4 keys. */
  ban4(): Promise<string[]>;
  /** A ban's expiry here, as wall-clock ms (this node's skew taken out); undefined: not banned. */
  expiryWall(target: string): number | null | undefined;
}

export interface NodeOptions {
  dir: string;
  redisSocket: string;
  offsetMs?: number;
  allow?: string[];
  fleetExtra?: string;
  /** Real nft in this namespace (created by the caller) instead of the in-memory fake. */
  netns?: string;
}

export async function startNode(name: string, o: NodeOptions): Promise<Node> {
  const offsetMs = o.offsetMs ?? 0;
  const clock = () => Date.now() + offsetMs;
  const nft = new FakeNft({ clock });
  const kernel = o.netns ? { netns: o.netns } : { nft };
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) logs.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const log = pino({ level: 'info' }, sink);
  const config = parseConfigText(`home_networks: [10.0.0.0/8]
allowlist: [192.0.2.0/28${(o.allow ?? []).map((a) => `, ${a}`).join('')}]
store: { path: ${o.dir}/${name}.db }
api: { unban_grace: 1h }
engine: { heal_poll: 1m, kernel_scan_poll: 1m, flush_interval: 0s }
policy: { rules: [ { name: et-scan, match: { signature_prefix: [ET SCAN] }, ban: 1h } ] }
fleet: { name: t, node: ${name}, redis: { url: ${o.redisSocket} }, check: 200ms ${o.fleetExtra ?? ''} }
`);
  const daemon = new Daemon(config, {
    log,
    ...kernel,
    clock,
    readOwnAddresses: async () => [interfaceAddress(parseIp('198.18.0.1')!, 24)],
  });
  await daemon.start();
  const fleet = new Fleet(config.fleet!, daemon, log);
  daemon.operations.attachFleet(fleet);
  fleet.start();
  return {
    name,
    daemon,
    fleet,
    nft,
    offsetMs,
    logs,
    ban4: async () => (await readSet(daemon.nft, 'ban4')).map((e) => e.key).sort(),
    expiryWall: (target) => {
      const a = daemon.ledger.active(target);
      if (!a) return undefined;
      return a.expiresMs === null ? null : a.expiresMs - offsetMs;
    },
  };
}

export async function stopNode(n: Node): Promise<void> {
  await n.fleet.stop();
  await n.daemon.stop();
}
