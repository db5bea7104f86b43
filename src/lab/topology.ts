/**
 * The lab: a gateway, a scanner and a legitimate client in three namespaces, and optionally a host
 * behind the gateway (for forwarded traffic). Only 198.18.0.0/15 and 2001:db8::/32 are used.
 *
 *   scanner 198.18.0.2 / 2001:db8::2     --- eth-scan  198.18.0.1 / 2001:db8::1  \
 *   client  198.18.1.2 / 2001:db8:1::2   --- eth-cli   198.18.1.1 / 2001:db8:1::1  > gateway
 *   inner   198.18.2.2 / 2001:db8:2::2   --- eth-in    198.18.2.1 / 2001:db8:2::1 /  (optional)
 */
import { Netns, linkVeth, addAddress } from './netns.ts';

export const LAB_ADDR = {
  gwScan4: '198.18.0.1',
  gwScan6: '2001:db8::1',
  scanner4: '198.18.0.2',
  scanner6: '2001:db8::2',
  gwClient4: '198.18.1.1',
  gwClient6: '2001:db8:1::1',
  client4: '198.18.1.2',
  client6: '2001:db8:1::2',
  gwInner4: '198.18.2.1',
  gwInner6: '2001:db8:2::1',
  inner4: '198.18.2.2',
  inner6: '2001:db8:2::2',
} as const;

export interface LabTopology {
  gw: Netns;
  scanner: Netns;
  client: Netns;
  inner: Netns | null;
  destroy(): Promise<void>;
}

async function leaf(
  gw: Netns,
  role: string,
  gwIf: string,
  gw4: string,
  gw6: string,
  host4: string,
  host6: string,
): Promise<Netns> {
  const ns = await Netns.create(role);
  await linkVeth(gw, gwIf, ns, 'eth0');
  await addAddress(gw, gwIf, `${gw4}/24`);
  await addAddress(gw, gwIf, `${gw6}/64`);
  await addAddress(ns, 'eth0', `${host4}/24`);
  await addAddress(ns, 'eth0', `${host6}/64`);
  await ns.run('ip', ['route', 'add', 'default', 'via', gw4]);
  await ns.run('ip', ['-6', 'route', 'add', 'default', 'via', gw6]);
  return ns;
}

export async function createLabTopology(options: { inner?: boolean } = {}): Promise<LabTopology> {
  const made: Netns[] = [];
  try {
    const gw = await Netns.create('gw');
    made.push(gw);
    await gw.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    const A = LAB_ADDR;
    const scanner = await leaf(gw, 'scan', 'eth-scan', A.gwScan4, A.gwScan6, A.scanner4, A.scanner6);
    made.push(scanner);
    const client = await leaf(gw, 'cli', 'eth-cli', A.gwClient4, A.gwClient6, A.client4, A.client6);
    made.push(client);
    const inner = options.inner ? await leaf(gw, 'in', 'eth-in', A.gwInner4, A.gwInner6, A.inner4, A.inner6) : null;
    if (inner) made.push(inner);
    return {
      gw,
      scanner,
      client,
      inner,
      async destroy() {
        await Promise.allSettled(made.map((ns) => ns.delete()));
      },
    };
  } catch (err) {
    await Promise.allSettled(made.map((ns) => ns.delete()));
    throw err;
  }
}
