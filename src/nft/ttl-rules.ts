/**
 * TTL normalisation (`ttl_normalize`) as nft statements: every IPv4 packet to this host gets TTL
 * `ttl`, every IPv6 packet hop limit `ttl`, in base chain `ttl_input` (hook input, priority
 * mangle: after routing, before every chain of filter priority, so an NFQUEUE there, Suricata's
 * IPS mode, sees the rewritten packet); with `forward: true` routed packets too, in `ttl_forward`
 * (hook forward, priority mangle: after the kernel's own TTL check and decrement, so a packet that
 * arrives with TTL 1 still dies here and traceroute through the gateway keeps working).
 *
 * Only unicast packets to this host (`meta pkttype host`), and never one that arrives with 255:
 * IPv6 neighbour discovery (RFC 4861), VRRP and GTSM (RFC 5082) prove that a packet comes from the
 * link by exactly that value, and a rewrite would break them; broadcast and multicast (DHCP, MLD
 * with its hop limit 1) are left alone too.
 *
 * What it does not do: AF_PACKET capture (tcpdump, Suricata's af-packet mode) reads packets on the
 * interface, before any netfilter hook, so it sees the TTL the packet arrived with.
 *
 * The chains exist only while the feature is on: hooked chains cost every packet a traversal.
 * When off, the script declares and deletes them in the same transaction, which removes those of
 * an earlier apply and is a no-op otherwise (nft 1.0.6 has no `destroy`). Pure.
 */
import type { Config } from '../config/config.ts';
import { TABLE } from './objects.ts';

/** The TTL chains, with their hook. */
export const TTL_CHAINS = {
  ttl_input: 'type filter hook input priority mangle; policy accept;',
  ttl_forward: 'type filter hook forward priority mangle; policy accept;',
} as const;

function rewrite(ttl: number): string[] {
  const keep = ttl === 255 ? '255' : `{ ${ttl}, 255 }`;
  return [
    `meta pkttype host ip ttl != ${keep} ip ttl set ${ttl}`,
    `meta pkttype host ip6 hoplimit != ${keep} ip6 hoplimit set ${ttl}`,
  ];
}

/** Script lines after the rules: the TTL chains filled, or removed. */
export function ttlStatements(config: Config): string[] {
  const t = config.ttl_normalize;
  const on = { ttl_input: t !== undefined, ttl_forward: t?.forward === true };
  const out = ['# TTL normalisation (ttl_normalize): nft/ttl-rules.ts.'];
  for (const [chain, hook] of Object.entries(TTL_CHAINS) as Array<[keyof typeof TTL_CHAINS, string]>) {
    out.push(`table ${TABLE} {`, `\tchain ${chain} { ${hook} }`, '}');
    if (!on[chain] || !t) {
      out.push(`delete chain ${TABLE} ${chain}`);
      continue;
    }
    out.push(`flush chain ${TABLE} ${chain}`);
    if (chain === 'ttl_input') out.push(`add rule ${TABLE} ${chain} iif "lo" accept`);
    for (const r of rewrite(t.ttl)) out.push(`add rule ${TABLE} ${chain} ${r}`);
  }
  return out;
}
