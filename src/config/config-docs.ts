/**
 * What each config key does, by its path in the schema (schema-walk.ts): the text of the
 * generated reference (docs/config-reference.yaml, `npm run config-reference`). A path with `[]`
 * covers every variant of a list of alternatives (`sources.inputs[].format`). `example` is shown
 * for a key that has no default. The reference test fails for a key without an entry here, and
 * for an entry whose key is gone. A text must not begin with `word:` (it would read as a key that
 * is commented out).
 */
import { FLEET_DOCS, REDIS_SOURCE_DOCS } from '../fleet/fleet-docs.ts';

export interface KeyDoc {
  /** Empty in an entry that only gives one variant its own example. */
  text: string;
  example?: unknown;
}

export const CONFIG_DOCS: Record<string, KeyDoc> = {
  services: { text: 'Ports open to everyone. A port, or a range "8000-8080".' },
  'services.tcp': { text: 'TCP ports open to everyone.', example: [22, 80, 443] },
  'services.udp': { text: 'UDP ports open to everyone.' },
  'services.restricted': { text: 'Ports open only to the listed sources.' },
  'services.restricted[].proto': { text: 'tcp | udp', example: 'tcp' },
  'services.restricted[].ports': { text: 'Ports and ranges.', example: [9100] },
  'services.restricted[].from': { text: 'Sources allowed (addresses or CIDRs).', example: ['198.51.100.0/24'] },
  allowlist: {
    text: 'Trusted sources: accepted before any rate limit, never banned, never counted by the scan meters; a ban that covers them is ignored by the kernel. Put your admin networks here.',
  },
  home_networks: {
    text: "The gateway's own side (LAN, VPN). Alerts are blamed on the party outside these, and these are never banned.",
  },
  icmp: { text: 'ICMP. Errors and IPv6 neighbour discovery always pass.' },
  'icmp.echo': { text: 'Answer ping (rate-limited by rate_limits.icmp_echo).' },
  rate_limits: { text: 'Per-source rate limits. rate: N/second|minute|hour|day; burst: packets allowed at once.' },
  'rate_limits.icmp_echo': { text: 'Echo requests per source.' },
  'rate_limits.udp_new': { text: 'New UDP flows per source.' },
  'rate_limits.tcp_syn': { text: 'New TCP connections (SYN) per source.' },
  'rate_limits.icmp_echo.enabled': { text: 'Apply this limit.' },
  'rate_limits.icmp_echo.rate': { text: 'Sustained rate.' },
  'rate_limits.icmp_echo.burst': { text: 'Packets allowed at once.' },
  'rate_limits.udp_new.enabled': { text: 'Apply this limit.' },
  'rate_limits.udp_new.rate': { text: 'Sustained rate.' },
  'rate_limits.udp_new.burst': { text: 'Packets allowed at once.' },
  'rate_limits.tcp_syn.enabled': { text: 'Apply this limit.' },
  'rate_limits.tcp_syn.rate': { text: 'Sustained rate.' },
  'rate_limits.tcp_syn.burst': { text: 'Packets allowed at once.' },
  'rate_limits.meter_timeout': { text: "How long a source's rate-limit state is kept after its last packet." },
  scan_detection: {
    text: 'Scan detection in the kernel: new attempts that reached no service feed per-source meters keyed by (source, protocol, port), so retransmissions count once. A detected scanner is dropped in prerouting for ban_timeout, at packet speed.',
  },
  'scan_detection.enabled': { text: 'Run the kernel scan detection.' },
  'scan_detection.ban_timeout': { text: 'How long the kernel keeps a detected scanner in the scanners set.' },
  'scan_detection.fast': { text: 'Banned when MORE than `ports` distinct closed ports are probed within `window`.' },
  'scan_detection.fast.enabled': { text: 'Use this meter.' },
  'scan_detection.fast.ports': { text: 'Distinct closed ports.' },
  'scan_detection.fast.window': { text: 'Counted from the first probe.' },
  'scan_detection.slow': {
    text: 'Catches slow scans (nmap -T0/-T1) and the "a few probes, then wait" evasion of short windows.',
  },
  'scan_detection.slow.enabled': { text: 'Use this meter.' },
  'scan_detection.slow.ports': { text: 'Distinct closed ports.' },
  'scan_detection.slow.window': { text: 'Counted from the first probe.' },
  'scan_detection.trap_ports': {
    text: 'Touching one of these once is enough. They must not be services: pick ports nobody should use here.',
  },
  'scan_detection.trap_ports.tcp': { text: 'TCP trap ports.' },
  'scan_detection.trap_ports.udp': { text: 'UDP trap ports.' },
  'scan_detection.exempt_home_networks': { text: 'Home networks are never counted by the kernel meters.' },
  forward: { text: 'Traffic routed through this host to hosts behind it (and containers).' },
  'forward.policy': {
    text: 'accept keeps Docker/containers and routing working; drop makes this a default-deny gateway (then list what is served, and the LAN interfaces).',
  },
  'forward.trusted_interfaces': { text: 'Traffic arriving on these interfaces (the LAN side) is forwarded.' },
  'forward.services': { text: 'With policy drop: ports that hosts behind the gateway serve to everyone.' },
  'forward.services.tcp': { text: 'TCP ports.' },
  'forward.services.udp': { text: 'UDP ports.' },
  'forward.scan_detection': { text: 'Trap ports on routed traffic always; the meters too when policy is drop.' },
  knock: {
    text: 'Port knocking, off when absent. Obscurity, not authentication: anyone who sees the traffic sees the sequence (docs/operations.md).',
  },
  'knock.protocol': { text: 'tcp (a SYN each) | udp (a datagram each).' },
  'knock.sequence': {
    text: 'Ports knocked on in this order, each once (1-16); not trap ports or services. Knocks are dropped and never count as a scan.',
    example: [7001, 7002, 7003],
  },
  'knock.ports': {
    text: 'Guarded ports (a port or "from-to"): new connections only from a source that knocked right, for open_for.',
    example: [2222],
  },
  'knock.stage_timeout': { text: 'Most time between two knocks (at most 1h); a slower or a wrong knock starts over.' },
  'knock.open_for': { text: 'How long the knocking source may open new connections; established ones stay.' },
  ttl_normalize: {
    text: 'TTL (IPv6 hop limit) rewrite of unicast packets to this host, off when absent; never of one arriving with 255. Defeats TTL-based IDS evasion only for an IDS that sees packets after it (NFQUEUE), not an AF_PACKET capture.',
  },
  'ttl_normalize.ttl': { text: 'The TTL set (1-255).' },
  'ttl_normalize.forward': {
    text: 'Routed packets too. Never raise the TTL of packets that leave your network (routing loops, traceroute).',
  },
  sources: { text: 'Where alerts come from (docs/ingestion.md).' },
  'sources.queue_capacity': {
    text: 'Alerts waiting for the ban engine. When it is full, socket sources drop (and count) new alerts; file and stdin sources wait (the file is their buffer).',
  },
  'sources.inputs': {
    text: 'The sources, several at once. Default: one unix_stream source at /run/nftsentry/eve.sock.',
  },
  'sources.inputs[].type': {
    text: 'The kind of source. With unix_stream Suricata connects (eve-log filetype unix_stream); with unix_dgram it sends one event per datagram; file follows eve.json or alert_json.txt; stdin reads a pipeline (replay).',
  },
  'sources.inputs[].name': {
    text: 'The name in stats, logs and bookmarks; defaults to the type. Two sources of one type need names.',
    example: 'suricata',
  },
  'sources.inputs[unix_dgram].name': { text: '', example: 'suricata-dgram' },
  'sources.inputs[file].name': { text: '', example: 'eve' },
  'sources.inputs[stdin].name': { text: '', example: 'replay' },
  'sources.inputs[].format': {
    text: 'eve | snort | auto. auto: lines with event_type are EVE, lines with a rule are Snort 3 alert_json.',
  },
  'sources.inputs[].max_line_bytes': {
    text: 'Longest accepted line. A longer one is skipped up to its newline and counted as bad (too_long).',
  },
  'sources.inputs[].snort_timezone': { text: 'Snort 3 prints local time unless run with -U.' },
  'sources.inputs[].strict_json': {
    text: 'Validate every line as strict JSON (exact bad-line counts, about 2-3x slower).',
  },
  'sources.inputs[unix_stream].path': {
    text: 'The socket nftsentry listens on (absolute, at most 107 bytes). A stale socket file is replaced; a live socket or any other file is an error.',
    example: '/run/nftsentry/eve.sock',
  },
  'sources.inputs[unix_dgram].path': {
    text: 'The socket nftsentry receives on (as for unix_stream).',
    example: '/run/nftsentry/eve.dgram',
  },
  'sources.inputs[file].path': { text: 'The file to follow.', example: '/var/log/suricata/eve.json' },
  'sources.inputs[].mode': { text: 'Octal, quoted. Who may connect: connecting needs write permission.' },
  'sources.inputs[].owner': {
    text: 'User of the socket file: a name or a numeric id. Default: unchanged.',
    example: 'root',
  },
  'sources.inputs[].group': {
    text: 'Group of the socket file, so that the IDS (running as that group) may connect.',
    example: 'suricata',
  },
  'sources.inputs[].max_connections': {
    text: 'Most simultaneous clients. At the cap a new client takes the place of the one idle longest, or is refused.',
  },
  'sources.inputs[].idle_timeout': {
    text: 'A client that has sent nothing this long after connecting is closed; one that has sent data stays.',
  },
  'sources.inputs[].receive_buffer_bytes': { text: 'SO_RCVBUF; the kernel caps it at net.core.rmem_max.' },
  'sources.inputs[].start': {
    text: 'Without a bookmark: read from the end (only new lines) or the beginning. With one, reading resumes there.',
  },
  'sources.inputs[].poll_ms': {
    text: 'The safety-net poll of a file source: inotify wakes it on each append, rotation or truncation; the poll catches what inotify cannot tell, and is the only wakeup where fs.watch fails.',
  },
  'sources.inputs[].rotate_grace_ms': {
    text: 'After a rename rotation, how long the old file is still read (the IDS writes on until it reopens).',
  },
  'sources.inputs[].bookmark_interval_ms': {
    text: 'How often the position is saved while lines arrive (also at stop). After a crash, at most this much is read again.',
  },
  api: { text: 'The control plane: HTTP API, CLI client, metrics (docs/api.md).' },
  'api.enabled': { text: 'Serve the API. Without it the CLI client commands fail.' },
  'api.socket': { text: 'Listen on a unix socket instead of TCP (host and port are then ignored).' },
  'api.socket.path': { text: 'Socket path.', example: '/run/nftsentry/api.sock' },
  'api.socket.mode': { text: 'Octal, quoted: who may connect.' },
  'api.worker': { text: 'Serve HTTP from its own worker thread, so requests are answered while the engine is busy.' },
  'api.worker_nice': { text: 'Nice value of that thread; below 0 needs CAP_SYS_NICE (ignored otherwise).' },
  'api.host': { text: 'TCP listen address (no host names). Not loopback: refused unless allow_remote.' },
  'api.port': { text: 'TCP port.' },
  'api.token_file': {
    text: 'Bearer token for every /v1 route: generated on first start when missing (mode 0600). Must be a regular file owned by its reader, with no group or other permission bits.',
  },
  'api.tokens': {
    text: 'More bearer tokens besides token_file (which is the token named admin, read-write). The journal names the token of every manual ban, unban and allowlist change.',
  },
  'api.tokens[].name': { text: 'Shown as the actor. 1-64 of A-Z a-z 0-9 _ . - (not admin).', example: 'grafana' },
  'api.tokens[].token_file': {
    text: 'The token, checked as token_file is (owned by the reader, no group or other bits); it must exist.',
    example: '/etc/nftsentry/grafana.token',
  },
  'api.tokens[].role': {
    text: 'read-only (every write route answers 403 E_READ_ONLY_TOKEN) or read-write.',
    example: 'read-only',
  },
  'api.allow_remote': { text: 'Confirms listening on a non-loopback address (the token is required either way).' },
  'api.body_limit_bytes': { text: 'Largest request body.' },
  'api.default_ban_duration': { text: 'POST /v1/bans without a duration bans for this long.' },
  'api.unban_grace': { text: 'After an unban, alerts from that address are not acted on for this long.' },
  'api.auth_failures': { text: 'Failed authentications within auth_window before a client is locked out.' },
  'api.auth_window': { text: 'Window of auth_failures.' },
  'api.auth_lockout': { text: 'How long a locked-out client gets 429 on every further failing attempt.' },
  'api.allowlist_min_prefix': { text: 'Shortest prefix POST /v1/allowlist takes without "force": true.' },
  'api.allowlist_min_prefix.ipv4': { text: 'IPv4 prefix length.' },
  'api.allowlist_min_prefix.ipv6': { text: 'IPv6 prefix length.' },
  'api.max_page_size': { text: 'Longest page of GET /v1/bans.' },
  'api.request_timeout': { text: 'Server-side time limit of one request.' },
  'api.tls': {
    text: 'Certificate and key the API serves HTTPS with. Unset: beyond loopback a self-signed pair is made on first start beside token_file (fingerprint in the log and `nftsentry status`); plain HTTP to that address is then refused.',
  },
  'api.tls.cert': { text: 'PEM certificate (chain) file.', example: '/etc/nftsentry/api-cert.pem' },
  'api.tls.key': { text: 'PEM private key file.', example: '/etc/nftsentry/api-key.pem' },
  'api.ui_session': { text: 'How long a dashboard login (its session cookie) lasts.' },
  policy: { text: 'What the ban engine bans, and for how long.' },
  'policy.rules': {
    text: 'Rules in order. Every rule whose match fits an alert counts it (per outside source); the first whose threshold the alert completes decides the ban. An alert no rule matches is never acted on.',
  },
  'policy.rules[].name': { text: "Shown as the ban's reason. 1-64 of A-Z a-z 0-9 _ . : -", example: 'et-scan' },
  'policy.rules[].match': { text: 'Every key given must match (AND); an empty match matches all.' },
  'policy.rules[].match.sids': { text: 'Sids and inclusive ranges.', example: [2001219, '2010935-2010939'] },
  'policy.rules[].match.signature_prefix': { text: 'Signature starts with one of these (case-sensitive).' },
  'policy.rules[].match.signature_pattern': {
    text: 'Regular expression, case-insensitive.',
    example: 'nmap.*user-agent',
  },
  'policy.rules[].match.category': {
    text: 'One of these (case-insensitive).',
    example: ['Attempted Information Leak'],
  },
  'policy.rules[].match.max_severity': {
    text: 'Severity (Suricata) / priority (Snort) at most this; 1 is the worst.',
    example: 2,
  },
  'policy.rules[].match.proto': { text: 'As the IDS prints it (case-insensitive).', example: ['TCP', 'UDP'] },
  'policy.rules[].match.action': {
    text: 'IDS action: allowed, blocked, alert, drop... (case-insensitive).',
    example: ['allowed'],
  },
  'policy.rules[].threshold': { text: 'Per source, within window; every number given must be reached.' },
  'policy.rules[].threshold.alerts': { text: 'Matching alerts.' },
  'policy.rules[].threshold.distinct_signatures': { text: 'Distinct sids (0: not checked).' },
  'policy.rules[].threshold.distinct_ports': {
    text: 'Distinct destination ports of the victim side (0: not checked).',
  },
  'policy.rules[].threshold.window': { text: 'The window.' },
  'policy.rules[].ban': { text: 'First offence; escalation multiplies it for repeat offenders.' },
  'policy.ipv6_prefix': {
    text: 'IPv6 sources are banned by this prefix (64: the usual end-site subnet; 128: the address).',
  },
  'policy.ipv4_aggregate': {
    text: 'Once min_addresses of one /prefix are banned, the next offender there bans the whole prefix.',
  },
  'policy.ipv4_aggregate.enabled': { text: 'Aggregate IPv4 bans.' },
  'policy.ipv4_aggregate.prefix': { text: 'Prefix length.' },
  'policy.ipv4_aggregate.min_addresses': { text: 'Banned addresses before the prefix is banned.' },
  'policy.escalation': { text: 'Repeat offenders: the n-th ban lasts ban * factor^(n-1), at most max.' },
  'policy.escalation.enabled': { text: 'Escalate.' },
  'policy.escalation.factor': { text: 'Multiplier per offence.' },
  'policy.escalation.max': { text: 'Longest ban.' },
  'policy.escalation.forget_after': { text: 'Offences older than this are forgotten.' },
  'policy.kernel_scan_ban': { text: 'Scanners the kernel caught: first-offence ban, escalated like any other.' },
  'policy.unknown_direction': {
    text: 'Who is blamed when an alert has no source/target hint and neither side is a home network: source (src_ip) or skip.',
  },
  'policy.max_tracked_sources': { text: '(rule, source) pairs counted at once; the least recently seen go first.' },
  'policy.max_active_bans': {
    text: 'Most automatic bans in force. At the cap a new one becomes the /24 (IPv4) or /48 (IPv6) of the bans inside it, else it is refused (counted, logged); operator bans are never dropped. The kernel ban sets get size = cap + max(1000, cap/10).',
  },
  store: { text: 'Bans, offender history, API allowlist entries, file bookmarks.' },
  journal: {
    text: 'The decision journal in the store: every decision on an alert or kernel detection (banned, or why not), manual bans, unbans and allowlist changes with who did them. Read by nftsentry explain.',
  },
  'journal.enabled': { text: 'Keep the journal.' },
  'journal.max_entries': { text: 'Rows kept at most; the oldest go first.' },
  'journal.max_age': { text: 'Rows older than this go.' },
  'store.path': { text: 'node:sqlite database (WAL), or ":memory:".' },
  engine: { text: 'How decisions reach nft (docs/engine.md).' },
  'engine.dry_run': { text: 'Decide and log, never touch nft.' },
  'engine.flush_interval_ms': {
    text: 'Decisions wait at most this long before their transaction (0: when nft is free).',
  },
  'engine.max_batch': { text: 'Largest number of element changes in one nft transaction.' },
  'engine.coprocess_max_elements': {
    text: 'Transactions up to this many elements go through the long-lived `nft -i`; larger ones through a file (0: always the file).',
  },
  'engine.pipeline': { text: 'Alert transactions in flight at once (2: a second co-process).' },
  'engine.burst_batch': { text: 'In a burst, a batch may grow to this many elements...' },
  'engine.burst_wait_ms': { text: '...for at most this long.' },
  'engine.kernel_scan_poll_ms': { text: "How often the kernel's scanners sets are read." },
  'engine.kernel_monitor': {
    text: 'Self-healing: a long-lived `nft monitor` reports changes made to table inet nftsentry by others, and the damage is put back.',
  },
  'engine.heal_poll_ms': { text: 'Without kernel_monitor: how often the table and ban sets are probed.' },
  'engine.rules_check_ms': { text: 'How often the whole table is checked against what it should be (0: never).' },
  'engine.own_addresses_poll_ms': { text: "How often the gateway's own addresses are re-read (never banned)." },
  'engine.expire_poll_ms': { text: 'How often expired bans are marked inactive in the store.' },
  ...REDIS_SOURCE_DOCS,
  ...FLEET_DOCS,
};
