/**
 * Checks of nft, the kernel and the sysctls the base ruleset depends on. Pure: facts in,
 * findings out.
 *
 * Conntrack sizing: every connection the host accepts (and every one it forwards) holds an entry
 * until it times out; when `nf_conntrack_count` reaches `nf_conntrack_max`, the kernel drops new
 * connections ("nf_conntrack: table full, dropping packet"), allowlisted admins included. An entry
 * costs about CONNTRACK_ENTRY_BYTES of kernel memory, a hash bucket 8 bytes; lookups walk a
 * bucket's chain, so many entries per bucket make every packet slower.
 */
import { type DoctorFacts, type Finding, isUnreadable, ok, problem, warning } from './doctor-facts.ts';

/** The nft release the tests run against (Debian 12's); older ones are not tested. */
export const TESTED_NFT_VERSION = '1.0.6';
/** Kernel memory of one conntrack entry (struct nf_conn with its extensions), for sizing advice. */
export const CONNTRACK_ENTRY_BYTES = 320;
/** Below this, a scan or a burst of connections fills the table in seconds: a problem. */
export const CONNTRACK_MAX_FLOOR = 16_384;
/** The size worth having when memory allows it (the kernel's own default on 4 GB and more is 262144). */
export const CONNTRACK_MAX_GOOD = 65_536;
/** Entries per hash bucket above which lookups get slow. */
export const CONNTRACK_MAX_PER_BUCKET = 8;

const SYSCTL_FILE = '/etc/sysctl.d/90-nftsentry.conf';

/** `sysctl -w` now, and the same line in a sysctl.d file for the next boot. */
export function sysctlFix(key: string, value: number | string): string {
  return `sysctl -w ${key}=${value} && echo '${key} = ${value}' >> ${SYSCTL_FILE}`;
}

function versionParts(v: string): number[] {
  return v.split('.').map((x) => Number.parseInt(x, 10) || 0);
}

/** -1, 0 or 1 as `a` is older than, the same as or newer than `b` (dotted numbers). */
export function compareVersions(a: string, b: string): number {
  const x = versionParts(a);
  const y = versionParts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

const FEATURE_TEXT = {
  timeouts: 'set elements with timeouts (every ban expires by itself in the kernel)',
  dynamic_sets: 'dynamic sets updated from the packet path with per-element limits (the scan meters and rate limits)',
  concatenations:
    'concatenated interval sets (`address . protocol`, `protocol . port`: allowlist, services, prefix bans)',
} as const;

export function nftChecks(f: DoctorFacts): Finding[] {
  const out: Finding[] = [];
  const kernel = f.proc.kernelRelease ? ` on kernel ${f.proc.kernelRelease}` : '';
  const v = f.nft.version;
  if (isUnreadable(v)) {
    out.push(
      problem('nft.version', `nft cannot run: ${v.error}`, 'apt-get install nftables  # and run doctor as root'),
    );
    return out;
  }
  out.push(
    compareVersions(v, TESTED_NFT_VERSION) >= 0
      ? ok('nft.version', `nft ${v}${kernel}`)
      : warning(
          'nft.version',
          `nft ${v} is older than ${TESTED_NFT_VERSION}, the release nftsentry is tested with; the feature checks below say whether it can load the ruleset`,
          'apt-get install --only-upgrade nftables  # or a backport',
        ),
  );
  for (const [name, text] of Object.entries(FEATURE_TEXT) as Array<[keyof typeof FEATURE_TEXT, string]>) {
    const r = f.nft.features?.[name];
    if (!r) continue;
    out.push(
      r.ok
        ? ok(`nft.feature.${name}`, `nft and the kernel support ${text}`)
        : problem(
            `nft.feature.${name}`,
            `nft or the kernel${kernel} refuses ${text}: ${r.error}`,
            'upgrade nftables and the kernel (nftsentry needs nft >= 1.0 and Linux >= 5.10)',
          ),
    );
  }
  const check = f.nft.rulesetCheck;
  if (check) {
    out.push(
      check.ok
        ? ok('nft.ruleset_check', 'the base ruleset passes `nft -c` (nothing loaded)')
        : problem(
            'nft.ruleset_check',
            `nft -c refuses the base ruleset rendered from ${f.configPath}: ${check.error}`,
            `nftsentry -c ${f.configPath} check  # prints nft's full error`,
          ),
    );
  }
  return out;
}

export function syncookiesCheck(f: DoctorFacts): Finding {
  const v = f.proc.tcpSyncookies;
  const id = 'sysctl.tcp_syncookies';
  if (v === null) return warning(id, 'net.ipv4.tcp_syncookies cannot be read', 'sysctl net.ipv4.tcp_syncookies');
  if (v === 0) {
    return problem(
      id,
      'net.ipv4.tcp_syncookies is 0: a SYN flood (spoofed sources the rate limits cannot pin on one address) fills the listen backlog and real clients cannot connect',
      sysctlFix('net.ipv4.tcp_syncookies', 1),
    );
  }
  return ok(id, `net.ipv4.tcp_syncookies is ${v}: SYN cookies answer when the backlog is full`);
}

const mb = (bytes: number) => `${Math.round(bytes / 1_048_576)} MB`;

/** The conntrack size this memory affords: 5 % of it, at least the floor, at most the good size. */
export function suggestedConntrackMax(memTotalBytes: number | null): number {
  if (memTotalBytes === null) return CONNTRACK_MAX_GOOD;
  const affordable = Math.floor((memTotalBytes * 0.05) / CONNTRACK_ENTRY_BYTES);
  return Math.max(CONNTRACK_MAX_FLOOR, Math.min(CONNTRACK_MAX_GOOD, 2 ** Math.floor(Math.log2(affordable))));
}

export function conntrackChecks(f: DoctorFacts): Finding[] {
  const { conntrackMax: max, conntrackBuckets: buckets, conntrackCount: count, memTotalBytes: mem } = f.proc;
  const out: Finding[] = [];
  if (max === null) {
    out.push(
      warning(
        'conntrack.max',
        'nf_conntrack is not loaded (no /proc/sys/net/netfilter/nf_conntrack_max): its size cannot be checked; the base ruleset loads it',
        `nftsentry -c ${f.configPath} apply && nftsentry -c ${f.configPath} doctor`,
      ),
    );
    return out;
  }
  const good = suggestedConntrackMax(mem);
  const memText = mem === null ? '' : ` of ${mb(mem)} memory`;
  if (max < CONNTRACK_MAX_FLOOR) {
    out.push(
      problem(
        'conntrack.max',
        `nf_conntrack_max is ${max}: a burst of connections or a scan fills the table in seconds, and then the kernel drops every new connection ("nf_conntrack: table full, dropping packet"), allowlisted ones too`,
        sysctlFix('net.netfilter.nf_conntrack_max', good),
      ),
    );
  } else if (max < good) {
    out.push(
      warning(
        'conntrack.max',
        `nf_conntrack_max is ${max}; this machine affords ${good} (${mb(good * CONNTRACK_ENTRY_BYTES)}${memText}) and a busy gateway needs it before the table fills ("table full, dropping packet")`,
        sysctlFix('net.netfilter.nf_conntrack_max', good),
      ),
    );
  } else if (mem !== null && max * CONNTRACK_ENTRY_BYTES > mem / 4) {
    out.push(
      warning(
        'conntrack.max',
        `nf_conntrack_max is ${max}: a full table would take ${mb(max * CONNTRACK_ENTRY_BYTES)}${memText}, more than a quarter of it`,
        sysctlFix(
          'net.netfilter.nf_conntrack_max',
          Math.max(good, 2 ** Math.floor(Math.log2(mem / 4 / CONNTRACK_ENTRY_BYTES))),
        ),
      ),
    );
  } else {
    out.push(
      ok('conntrack.max', `nf_conntrack_max is ${max} (${mb(max * CONNTRACK_ENTRY_BYTES)} when full${memText})`),
    );
  }
  if (count !== null) {
    const use = count / max;
    const text = `${count} of ${max} conntrack entries in use (${Math.round(use * 100)} %)`;
    const fix = `${sysctlFix('net.netfilter.nf_conntrack_max', Math.max(good, 2 ** Math.ceil(Math.log2(count * 2))))}  # and see what holds them: conntrack -S; conntrack -L | awk '{print $1, $4}' | sort | uniq -c | sort -rn | head`;
    if (use >= 0.9) out.push(problem('conntrack.usage', `${text}: new connections are dropped when it is full`, fix));
    else if (use >= 0.75) out.push(warning('conntrack.usage', `${text}: close to full`, fix));
    else out.push(ok('conntrack.usage', text));
  }
  if (buckets !== null && buckets > 0) {
    const ratio = max / buckets;
    if (ratio > CONNTRACK_MAX_PER_BUCKET) {
      const hashsize = 2 ** Math.ceil(Math.log2(max / 4));
      out.push(
        warning(
          'conntrack.buckets',
          `nf_conntrack_buckets is ${buckets} for a nf_conntrack_max of ${max}: a full table chains ${Math.round(ratio)} entries per bucket, and every packet's lookup walks its chain`,
          `echo ${hashsize} > /sys/module/nf_conntrack/parameters/hashsize && echo 'options nf_conntrack hashsize=${hashsize}' > /etc/modprobe.d/nftsentry-conntrack.conf`,
        ),
      );
    } else {
      out.push(
        ok(
          'conntrack.buckets',
          `nf_conntrack_buckets is ${buckets} (${ratio.toFixed(1)} entries per bucket when full)`,
        ),
      );
    }
  }
  out.push(acctCheck(f));
  return out;
}

/** Conntrack accounting matters only when the ruleset reads per-connection byte or packet counts. */
function acctCheck(f: DoctorFacts): Finding {
  const uses =
    f.rulesetText !== null && /\bct\s+(?:original\s+|reply\s+)?(?:bytes|packets|avgpkt)\b/.test(f.rulesetText);
  const acct = f.proc.conntrackAcct;
  if (!uses) {
    return ok(
      'conntrack.acct',
      `conntrack accounting is ${acct === null ? 'unknown' : acct ? 'on' : 'off'}; the ruleset does not need it (its counters are named nft counters)`,
    );
  }
  if (acct === 0) {
    return warning(
      'conntrack.acct',
      'the ruleset matches per-connection byte or packet counts (ct bytes/packets) but nf_conntrack_acct is 0: they stay 0',
      sysctlFix('net.netfilter.nf_conntrack_acct', 1),
    );
  }
  return ok('conntrack.acct', 'conntrack accounting is on, as the ruleset needs');
}
