/**
 * The normalised alert: what every IDS line becomes, whatever its format or version.
 * Addresses are canonical (see net/ip.ts): Suricata prints IPv6 fully expanded, Snort compressed.
 */
export type IdsKind = 'suricata' | 'snort';

export interface Endpoint {
  ip: string;
  port: number | null;
}

export interface Alert {
  ids: IdsKind;
  /** Event time, epoch milliseconds (Snort 3 prints no year: the parser infers it). */
  timeMs: number;
  src: Endpoint;
  dest: Endpoint;
  /** Upper case as the IDS prints it: TCP, UDP, ICMP, IPV6-ICMP... */
  proto: string;
  gid: number;
  sid: number;
  rev: number;
  /** The rule's message; empty when the IDS did not print it (Snort 3 default fields). */
  signature: string;
  category: string;
  /** Suricata severity or Snort priority (1 is the most severe); null when absent. */
  severity: number | null;
  /** `allowed`, `blocked` (Suricata), or Snort's action (`allow`, `alert`, `drop`...). */
  action: string;
  /** Set when the rule names who attacks whom (Suricata `alert.source` / `alert.target`). */
  attacker?: Endpoint;
  target?: Endpoint;
  iface?: string;
  flowId?: string;
  /** Suricata `host` (sensor name) when configured. */
  sensor?: string;
}

export type ParseResult =
  | { kind: 'alert'; alert: Alert }
  | { kind: 'skip'; why?: SkipReason }
  | { kind: 'bad'; reason: BadReason; detail?: string };

/** Why a line was refused: stable words, counted per reason. */
export type BadReason =
  | 'too_long'
  | 'not_utf8'
  | 'nul_byte'
  | 'not_json'
  | 'not_object'
  | 'missing_field'
  | 'wrong_type'
  | 'bad_address'
  | 'bad_port'
  | 'bad_time'
  /** A partial line cut off by a disconnect, a truncated file, or a source shutting down. */
  | 'truncated';

/**
 * Why a well-formed line gave no alert: `not_alert` (flow, dns, stats...), `blank` (an empty line),
 * `no_address` (an alert on a non-IP packet, e.g. Snort's ARP alerts print `":0"`).
 */
export type SkipReason = 'not_alert' | 'blank' | 'no_address';
