/**
 * Snort 3 `alert_json` record -> normalised Alert. Pure.
 *
 * Default fields: timestamp (no year), pkt_num, proto, pkt_gen, pkt_len, dir, src_ap, dst_ap,
 * rule ("gid:sid:rev"), action. Optional fields used when present: msg, class, priority, src_addr,
 * src_port, dst_addr, dst_port, gid/sid/rev, seconds, iface, target (the address of the side the
 * rule's `target:` option names).
 *
 * `src_ap` is "addr:port" without brackets, so an IPv6 address makes the colons ambiguous; Snort
 * always prints the port (0 when there is none), so the last colon is the separator:
 * "fe80::215:5dff:fea8:993b:0" is fe80::215:5dff:fea8:993b port 0. Snort prints ":0" for a packet
 * without IP (ARP): such an alert is skipped as `no_address`, since nothing in it can be banned.
 */
import type { Alert, Endpoint, ParseResult } from './alert.ts';
import {
  address,
  bad,
  hasPorts,
  isBad,
  optionalString,
  optionalUint,
  port,
  requiredString,
  requiredUint,
  type Bad,
  type Obj,
} from './alert-fields.ts';
import { parseSnortTime, snortFractionMs, type TimeZoneMode } from './snort-time.ts';

export interface SnortOptions {
  /** Used to infer the year the timestamp leaves out. */
  nowMs: number;
  /** Snort prints local time unless run with -U. */
  zone: TimeZoneMode;
}

const NO_ADDRESS = Symbol('no address');
const RULE = /^(\d{1,10}):(\d{1,10}):(\d{1,10})$/;

function splitAddrPort(ap: unknown, path: string): { ip: string; port: number } | Bad | typeof NO_ADDRESS {
  if (ap === undefined || ap === null) return bad('missing_field', path);
  if (typeof ap !== 'string') return bad('wrong_type', `${path} is not a string`);
  const colon = ap.lastIndexOf(':');
  if (colon < 0) return bad('bad_address', `${path} is not addr:port`);
  const portText = ap.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65_535) return bad('bad_port', `${path} has no valid port`);
  const addrText = ap.slice(0, colon);
  if (addrText === '') return NO_ADDRESS;
  const ip = address(addrText, path);
  return isBad(ip) ? ip : { ip, port: Number(portText) };
}

function readEndpoint(o: Obj, side: 'src' | 'dst', proto: string): Endpoint | Bad | typeof NO_ADDRESS {
  let ep: { ip: string; port: number | null };
  if (o[`${side}_addr`] !== undefined) {
    if (o[`${side}_addr`] === '') return NO_ADDRESS;
    const ip = address(o[`${side}_addr`], `${side}_addr`);
    if (isBad(ip)) return ip;
    const p = port(o[`${side}_port`], `${side}_port`);
    if (isBad(p)) return p;
    ep = { ip, port: p };
  } else {
    const ap = splitAddrPort(o[`${side}_ap`], `${side}_ap`);
    if (ap === NO_ADDRESS || isBad(ap)) return ap;
    ep = ap;
  }
  return hasPorts(proto) ? ep : { ip: ep.ip, port: null };
}

function readRule(o: Obj): { gid: number; sid: number; rev: number } | Bad {
  if (typeof o.rule === 'string') {
    const m = RULE.exec(o.rule);
    if (!m) return bad('wrong_type', 'rule is not gid:sid:rev');
    return { gid: Number(m[1]), sid: Number(m[2]), rev: Number(m[3]) };
  }
  if (o.rule !== undefined && o.rule !== null) return bad('wrong_type', 'rule is not a string');
  const gid = requiredUint(o, 'gid');
  if (isBad(gid)) return gid;
  const sid = requiredUint(o, 'sid');
  if (isBad(sid)) return sid;
  const rev = requiredUint(o, 'rev');
  if (isBad(rev)) return rev;
  return { gid, sid, rev };
}

function readTime(o: Obj, options: SnortOptions): number | Bad {
  const ts = requiredString(o, 'timestamp');
  if (isBad(ts)) return ts;
  if (typeof o.seconds === 'number' && Number.isInteger(o.seconds) && o.seconds > 0) {
    return o.seconds * 1000 + snortFractionMs(ts);
  }
  return parseSnortTime(ts, options.nowMs, options.zone) ?? bad('bad_time', 'timestamp is not MM/DD-HH:MM:SS.ffffff');
}

/**
 * Which side the rule's `target:` names. Snort 3 prints the target's address (alert_json's
 * `target` field); `src`/`dst` are read too. An address that is neither side's is no hint.
 */
function targetSide(v: unknown, src: Endpoint, dest: Endpoint): 'src' | 'dst' | undefined {
  if (v === 'src' || v === 'dst') return v;
  if (typeof v !== 'string') return undefined;
  const ip = address(v, 'target');
  if (isBad(ip) || src.ip === dest.ip) return undefined;
  if (ip === src.ip) return 'src';
  if (ip === dest.ip) return 'dst';
  return undefined;
}

export function parseSnortAlert(o: Obj, options: SnortOptions): ParseResult {
  const timeMs = readTime(o, options);
  if (isBad(timeMs)) return timeMs;
  const protoText = requiredString(o, 'proto');
  if (isBad(protoText)) return protoText;
  const proto = protoText.toUpperCase();
  const src = readEndpoint(o, 'src', proto);
  if (isBad(src)) return src;
  const dest = readEndpoint(o, 'dst', proto);
  if (isBad(dest)) return dest;
  const rule = readRule(o);
  if (isBad(rule)) return rule;
  const msg = optionalString(o, 'msg');
  if (isBad(msg)) return msg;
  const cls = optionalString(o, 'class');
  if (isBad(cls)) return cls;
  const priority = optionalUint(o, 'priority');
  if (isBad(priority)) return priority;
  const action = optionalString(o, 'action');
  if (isBad(action)) return action;
  const iface = optionalString(o, 'iface');
  if (isBad(iface)) return iface;
  if (src === NO_ADDRESS || dest === NO_ADDRESS) return { kind: 'skip', why: 'no_address' };

  const alert: Alert = {
    ids: 'snort',
    timeMs,
    src,
    dest,
    proto,
    ...rule,
    signature: msg ?? '',
    category: cls === undefined || cls === 'none' ? '' : cls,
    severity: priority,
    action: action ?? 'alert',
  };
  const side = targetSide(o.target, src, dest);
  if (side === 'src') {
    alert.target = src;
    alert.attacker = dest;
  } else if (side === 'dst') {
    alert.target = dest;
    alert.attacker = src;
  }
  if (iface !== undefined) alert.iface = iface;
  return { kind: 'alert', alert };
}
