/**
 * Checks of the config against where it runs: the SSH session it is reached over and the
 * interfaces it has. Pure.
 */
import type { Config } from '../config/config.ts';
import { type IpAddress, type IpPrefix, parseIp, prefixContains, unmapV4 } from '../net/ip.ts';
import type { InterfaceAddress } from '../net/subnet.ts';
import { type DoctorFacts, type Finding, isUnreadable, ok, problem, warning } from './doctor-facts.ts';

/** The client address and server port of SSH_CONNECTION (`client cport server sport`); null if it is not one. */
export function parseSshConnection(text: string | undefined): { client: IpAddress; port: number } | null {
  const [clientText, , , portText] = (text ?? '').trim().split(/\s+/);
  const ip = clientText ? parseIp(clientText) : null;
  const port = Number(portText);
  if (!ip || !Number.isInteger(port) || port < 1 || port > 65_535) return null;
  return { client: unmapV4(ip) ?? ip, port };
}

const inRanges = (ranges: ReadonlyArray<readonly [number, number]>, port: number) =>
  ranges.some(([a, b]) => a <= port && port <= b);

/** The SSH client and the allowlist: empty, client outside it, client's port closed to it. */
export function sshChecks(config: Readonly<Config>, sshConnection: string | undefined, configPath: string): Finding[] {
  const ssh = parseSshConnection(sshConnection);
  const apply = `nftsentry -c ${configPath} apply`;
  if (!ssh) {
    return [
      ok(
        'config.allowlist',
        config.allowlist.length
          ? `allowlist: ${config.allowlist.map((p) => p.text).join(', ')}`
          : 'the allowlist is empty; this session is not over SSH (no SSH_CONNECTION)',
      ),
    ];
  }
  const { client, port } = ssh;
  const out: Finding[] = [];
  const allowlisted = config.allowlist.some((p) => prefixContains(p, client));
  if (config.allowlist.length === 0) {
    out.push(
      problem(
        'config.allowlist',
        `this session is over SSH from ${client.text} and the allowlist is empty: a ban, a rate limit or a scan meter can cut you off, and a new session that conntrack never saw is dropped as "new but not SYN"`,
        `add "allowlist: [${client.text}]" to ${configPath}, then ${apply}  # at once, without a reload: nftsentry allow ${client.text}`,
      ),
    );
  } else {
    out.push(ok('config.allowlist', `allowlist: ${config.allowlist.map((p) => p.text).join(', ')}`));
    out.push(
      allowlisted
        ? ok('config.ssh_client', `your SSH client ${client.text} is allowlisted`)
        : warning(
            'config.ssh_client',
            `your SSH client ${client.text} is not in the allowlist: nothing keeps a ban or a rate limit from cutting this session off`,
            `add ${client.text} to allowlist in ${configPath}, then ${apply}  # at once: nftsentry allow ${client.text}`,
          ),
    );
  }
  const portOpen =
    inRanges(config.services.tcp, port) ||
    config.services.restricted.some(
      (r) => r.proto === 'tcp' && inRanges(r.ports, port) && r.from.some((p) => prefixContains(p, client)),
    );
  if (!portOpen && !allowlisted) {
    out.push(
      problem(
        'config.ssh_port',
        `port ${port} (this SSH session's) is not open to ${client.text}: a new SSH session from there is dropped`,
        `add ${port} to services.tcp in ${configPath}, then ${apply}`,
      ),
    );
  }
  return out;
}

/** True when a home network and an interface's subnet share addresses. */
function overlaps(home: IpPrefix, own: InterfaceAddress): boolean {
  return prefixContains(home, own.address) || prefixContains(own.subnet, home.network);
}

export function homeNetworkChecks(
  config: Readonly<Config>,
  interfaces: DoctorFacts['interfaces'],
  configPath: string,
): Finding[] {
  const id = 'config.home_networks';
  if (config.home_networks.length === 0) return [ok(id, 'no home_networks configured')];
  if (isUnreadable(interfaces))
    return [warning(id, `cannot read the interfaces: ${interfaces.error}`, 'ip -j addr show')];
  const subnets = [...new Set(interfaces.map((i) => i.subnet.text))];
  const lost = config.home_networks.filter((h) => !interfaces.some((i) => overlaps(h, i)));
  if (lost.length === 0) {
    return [
      ok(id, `every home network is on an interface here: ${config.home_networks.map((p) => p.text).join(', ')}`),
    ];
  }
  return lost.map((h) =>
    warning(
      id,
      `home network ${h.text} matches no interface here (${subnets.join(', ') || 'no addresses'}): it is exempt from the scan meters and treated as home although no interface is on it; a typo?`,
      `correct home_networks in ${configPath} (the interfaces' subnets: ip -br addr), then nftsentry -c ${configPath} apply`,
    ),
  );
}

export function configChecks(f: DoctorFacts): Finding[] {
  if (isUnreadable(f.config)) {
    return [
      problem(
        'config.valid',
        `${f.configPath}: ${f.config.error}`,
        `nftsentry -c ${f.configPath} check  # then fix the keys it names`,
      ),
    ];
  }
  return [
    ok('config.valid', `${f.configPath} is valid`),
    ...sshChecks(f.config, f.sshConnection, f.configPath),
    ...homeNetworkChecks(f.config, f.interfaces, f.configPath),
  ];
}
