/** The config reference's text for the `fleet` section and the `redis` source (config-docs.ts takes these). */

/** config-docs.ts's KeyDoc (not imported: config-docs.ts imports this file). */
type KeyDoc = { text: string; example?: unknown };

export const FLEET_DOCS: Record<string, KeyDoc> = {
  fleet: {
    text: 'Gateways sharing their bans through one Redis (docs/fleet.md). Absent: Redis is never contacted. Between the nodes of a fleet only node (and, if needed, redis.url) differ.',
  },
  'fleet.name': { text: 'The fleet: its Redis keys are nftsentry:<name>:*, so several fleets can share one Redis.' },
  'fleet.node': {
    text: "This gateway's name in the fleet; others show its bans with source fleet:<node>.",
    example: 'gw-a',
  },
  'fleet.redis': { text: 'Where the fleet meets.' },
  'fleet.redis.url': {
    text: 'The Redis of the fleet, as redis://user:password@host:port (an ACL user, docs/fleet.md), rediss://... for TLS (use it whenever Redis is not on this host), or a unix socket path.',
    example: 'redis://gw-a:secret@198.18.0.10:6379',
  },
  'fleet.redis.tls_ca': {
    text: 'CA bundle (PEM) that signed the rediss:// server certificate; default the system store.',
    example: '/etc/nftsentry/redis-ca.pem',
  },
  'fleet.redis.connect_timeout_ms': {
    text: 'A connection attempt gives up after this; it is retried (backoff up to 1 s).',
  },
  'fleet.redis.command_timeout_ms': {
    text: 'A command fails after this (a blocking read: its block time plus this); unpublished events stay in the outbox.',
  },
  'fleet.redis.sentinel': {
    text: "Redis Sentinel (docs/fleet.md): the sentinels name the master and the connection follows a failover. Set, redis.url gives only the data nodes' user, password, db and TLS (rediss://: the sentinels too); its host:port are not used.",
  },
  'fleet.redis.sentinel.name': {
    text: "The master's name, as in the sentinels' sentinel monitor <name> <ip> <port> <quorum>.",
    example: 'nftsentry',
  },
  'fleet.redis.sentinel.nodes': {
    text: 'The sentinels, as host:port (an IPv4 address, an IPv6 address in brackets, or a host name); the others are learnt from them.',
    example: ['198.18.0.11:26379', '198.18.0.12:26379', '[2001:db8::13]:26379'],
  },
  'fleet.redis.sentinel.username': {
    text: "The sentinels' ACL user (absent: default), with password.",
    example: 'nftsentry',
  },
  'fleet.redis.sentinel.password': {
    text: "The sentinels' password (their requirepass, or the user's); absent: no AUTH to the sentinels.",
    example: 'change-me',
  },
  'fleet.publish': {
    text: "Which of this node's bans go to the fleet: alerts (suricata, snort), kernel (scan detections), manual (API, CLI).",
  },
  'fleet.accept': { text: "Which of the other nodes' bans are applied here, by what they came from (as publish)." },
  'fleet.accept_from': {
    text: 'Only bans from these nodes are applied here; empty: any node of the fleet.',
    example: ['gw-b', 'gw-c'],
  },
  'fleet.max_duration': {
    text: "Others' bans last at most this long here (a permanent one too); a fleet unban's tombstone lasts at least this long.",
  },
  'fleet.stream_maxlen': {
    text: 'The event stream is trimmed to about this many events (XADD MAXLEN ~); a node away longer resyncs from the per-ban keys and tombstones.',
  },
  'fleet.check_ms': {
    text: 'How often the connection, the outbox and the epoch key (did Redis lose its data?) are checked.',
  },
};

export const REDIS_SOURCE_DOCS: Record<string, KeyDoc> = {
  'sources.inputs[redis].name': { text: '', example: 'suricata-redis' },
  'sources.inputs[].url': {
    text: "Redis holding Suricata's eve-log (filetype: redis): redis://, rediss:// or a unix socket path.",
    example: 'redis://127.0.0.1:6379',
  },
  'sources.inputs[].tls_ca': { text: 'CA bundle for rediss://.', example: '/etc/nftsentry/redis-ca.pem' },
  'sources.inputs[].key': { text: "Suricata's redis.key: the list, stream or channel.", example: 'suricata' },
  'sources.inputs[redis].mode': {
    text: 'How Suricata writes. list = LMOVE into a processing list, dropped once handed over (nothing lost on a crash); stream = consumer group with XACK (Suricata 8 xadd); channel = SUBSCRIBE, lossy (nothing is kept while nftsentry is away).',
  },
  'sources.inputs[].push': { text: "For mode list: Suricata's mode lpush (its default, also called list) or rpush." },
  'sources.inputs[].processing_key': {
    text: 'For mode list: the processing list; default <key>:nftsentry:<name>.',
    example: 'suricata:nftsentry:gw-a',
  },
  'sources.inputs[].consumer_group': {
    text: 'For mode stream: the consumer group (created at the stream start when missing).',
  },
  'sources.inputs[].consumer': {
    text: 'For mode stream: this reader in the group; its unacknowledged entries are read again at start.',
  },
  'sources.inputs[].field': {
    text: "For mode stream: the entry's field holding the event; when absent, the first field holding a JSON object.",
  },
  'sources.inputs[].connect_timeout_ms': { text: 'A connection attempt gives up after this; it is retried.' },
  'sources.inputs[].command_timeout_ms': {
    text: 'A command fails after this (a blocking read: its block time plus this).',
  },
};
