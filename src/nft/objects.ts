/**
 * The objects of `table inet nftsentry` by name: the chains, and every set and map in exactly one
 * list by what fills it (bans, the config, the kernel meters, scan reasons). The names here and
 * the declarations in `nft/00-objects.nft` agree (test/unit/ruleset-objects.test.ts).
 */
export const TABLE_FAMILY = 'inet';
export const TABLE_NAME = 'nftsentry';
export const TABLE = `${TABLE_FAMILY} ${TABLE_NAME}`;

export const CHAINS = [
  'prerouting',
  'input',
  'forward',
  'tcp_flags',
  'scan_detect',
  'scan_fast',
  'scan_fast_full',
  'scan_slow',
  'scan_slow_full',
  'scan_ban_trap',
  'knock',
] as const;

/**
 * Sets filled from the config: flushed and refilled on every apply. All concatenations (why:
 * nft/00-objects.nft): the address ones `address . protocol`, the port ones `protocol . port`.
 */
export const CONFIG_SETS = ['allow4', 'allow6', 'home4', 'home6', 'services', 'fwd_services', 'trap_ports'] as const;

/**
 * Sets of older versions that are no longer declared (the port sets were one per protocol, plain
 * interval sets): deleted by an upgrade (nft/apply.ts), or nft would go on reading them.
 */
export const OBSOLETE_SETS = [
  'services_tcp',
  'services_udp',
  'fwd_services_tcp',
  'fwd_services_udp',
  'trap_tcp',
  'trap_udp',
] as const;

/**
 * Per-source meter state, the hash buckets that stand in for a full per-source set, and the port
 * knocking state (knock sequences under way, admitted sources): flushed on every apply (a reload
 * restarts the counting, and a knocker knocks again; established connections are kept).
 */
export const METER_SETS = [
  'scan_fast_seen4',
  'scan_fast_seen6',
  'scan_slow_seen4',
  'scan_slow_seen6',
  'scan_fast4',
  'scan_fast6',
  'scan_slow4',
  'scan_slow6',
  'rl_icmp4',
  'rl_icmp6',
  'rl_udp4',
  'rl_udp6',
  'rl_syn4',
  'rl_syn6',
  'scan_fast_buckets4',
  'scan_fast_buckets6',
  'scan_slow_buckets4',
  'scan_slow_buckets6',
  'rl_icmp_buckets4',
  'rl_icmp_buckets6',
  'rl_udp_buckets4',
  'rl_udp_buckets6',
  'rl_syn_buckets4',
  'rl_syn_buckets6',
  'knock4',
  'knock6',
  'knock_open4',
  'knock_open6',
] as const;

/**
 * The `size` of each ban set: `policy.max_active_bans` plus room for operator bans, which the cap
 * never refuses below it (engine/ban-cap.ts). nft refuses an element beyond a set's size
 * (ENFILE, "Too many open files in system"), so the engine's cap must bind first.
 */
export function banSetSize(maxActiveBans: number): number {
  return maxActiveBans + Math.max(1000, Math.ceil(maxActiveBans / 10));
}

/** Sets whose elements survive every apply. */
export const BAN_SETS = {
  ban4: 'ban4',
  ban6: 'ban6',
  ban6net64: 'ban6net64',
  bannet4: 'bannet4',
  bannet6: 'bannet6',
  scanners4: 'scanners4',
  scanners6: 'scanners6',
} as const;

/**
 * Hash sets of network addresses, one fixed prefix length each: an element is the network
 * address of a prefix of that length (the rule masks the source before the lookup). Element
 * changes name such an element `addr/len` like any prefix; nft/elements.ts writes it as `addr`.
 */
export const NETWORK_KEY_SETS = { ban6net64: 64 } as const;

/**
 * Prefix-ban sets keyed `address . protocol` (concatenated interval sets; why: nft/00-objects.nft).
 * A ban covers every protocol: element changes name such an element `addr/len` like any prefix,
 * nft/elements.ts writes it `addr/len . 0-255`, engine/kernel-sync.ts reads it back as `addr/len`.
 * The value is the set's type as `nft -j` prints it, which apply compares to find an older
 * definition.
 */
export const ANY_PROTOCOL_SETS = {
  bannet4: ['ipv4_addr', 'inet_proto'],
  bannet6: ['ipv6_addr', 'inet_proto'],
} as const satisfies Record<string, readonly string[]>;

/** The protocol half of an element in ANY_PROTOCOL_SETS: every protocol. */
export const ANY_PROTOCOL = '0-255';

/**
 * Every set whose type changed since an older version, with its type as `nft -j` prints it:
 * nft/apply.ts replaces a set the kernel holds with another type.
 */
export const SET_TYPES: Record<string, readonly string[]> = {
  ...ANY_PROTOCOL_SETS,
  allow4: ['ipv4_addr', 'inet_proto'],
  allow6: ['ipv6_addr', 'inet_proto'],
  home4: ['ipv4_addr', 'inet_proto'],
  home6: ['ipv6_addr', 'inet_proto'],
};

/**
 * The ban sets declared with `counter` (each element counts the packets and bytes it dropped):
 * nft/apply.ts replaces a set the kernel holds without it, keeping its elements and their time left.
 */
export const COUNTER_SETS = ['ban4', 'ban6', 'ban6net64', 'bannet4', 'bannet6'] as const;

/** Maps beside scanners4/6, holding why the kernel caught each scanner: kept by every apply too. */
export const SCAN_REASON_MAPS = ['scan_reason4', 'scan_reason6'] as const;

/**
 * Marks stored in scan_reason4/6 by the kernel, and what they mean. 4 and 5: the meter crossed was
 * a hash bucket standing in for a full per-source set (nft/40-scan.nft), which a source shares
 * with the few others of its bucket.
 */
export const SCAN_REASONS: Record<number, string> = {
  1: 'trap_port',
  2: 'fast_scan',
  3: 'slow_scan',
  4: 'fast_scan_bucket',
  5: 'slow_scan_bucket',
};

/** The named counters, one per reason of a drop. */
export const DROP_COUNTERS = [
  'drop_banned',
  'drop_banned_net',
  'drop_scanner',
  'drop_flags_null',
  'drop_flags_xmas',
  'drop_flags_syn_fin',
  'drop_flags_syn_rst',
  'drop_flags_fin_rst',
  'drop_flags_fin_noack',
  'drop_flags_psh_noack',
  'drop_flags_urg_noack',
  'drop_new_not_syn',
  'drop_invalid',
  'drop_rate_icmp',
  'drop_rate_udp',
  'drop_rate_syn',
  'drop_scan_trap',
  'drop_scan_fast',
  'drop_scan_slow',
  'drop_knock',
  'drop_policy_input',
  'drop_policy_forward',
] as const;

/**
 * Packets that a full per-source meter (scan or rate limit) could not take, counted by hash bucket
 * instead (nft/00-objects.nft): not a drop; status and metrics show it beside the drops.
 */
export const METER_FULL_COUNTER = 'meter_full';

/** Every named counter of the table. */
export const COUNTERS = [...DROP_COUNTERS, METER_FULL_COUNTER] as const;
