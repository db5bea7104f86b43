/**
 * Suricata EVE `alert` record -> normalised Alert. Pure: takes the parsed object (and the raw text,
 * to read `flow_id` without losing digits beyond 2^53).
 *
 * Fields read (Suricata 4 to 8 print them all the same way): timestamp, src_ip/src_port,
 * dest_ip/dest_port, proto, in_iface, flow_id, host, alert.{action,gid,signature_id,rev,signature,
 * category,severity,source,target}. Addresses are canonicalised (Suricata prints IPv6 fully
 * expanded). A malformed optional hint (alert.source/target) is left out, the alert is kept.
 */
import type { Alert, Endpoint, ParseResult } from './alert.ts';
import {
  bad,
  endpoint,
  isBad,
  isObj,
  optionalString,
  optionalUint,
  requiredObject,
  requiredString,
  requiredUint,
  type Bad,
  type Obj,
} from './alert-fields.ts';

const EVE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

/** `2017-01-30T16:12:27.008466+0100` -> epoch ms; null when it is not such a time. */
export function parseEveTime(text: string): number | null {
  const m = EVE_TIME.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  let t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  if (new Date(t).getUTCDate() !== d) return null; // 31 February
  const tz = m[8];
  if (tz && tz !== 'Z') {
    const sign = tz[0] === '-' ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    const offH = Number(digits.slice(0, 2));
    const offM = Number(digits.slice(2, 4));
    if (offH > 23 || offM > 59) return null;
    t -= sign * (offH * 60 + offM) * 60_000;
  }
  return t;
}

const FLOW_ID = /"flow_id"\s*:\s*(\d{1,20})\b/;

/** Reads an optional `{ip, port}` hint; a malformed one is ignored (undefined). */
function hint(v: unknown): Endpoint | undefined {
  if (!isObj(v)) return undefined;
  const e = endpoint(v.ip, v.port, 'hint');
  return isBad(e) ? undefined : e;
}

export function parseEveAlert(o: Obj, text: string): ParseResult {
  const a = requiredObject(o, 'alert');
  if (isBad(a)) return a;
  const ts = requiredString(o, 'timestamp');
  if (isBad(ts)) return ts;
  const timeMs = parseEveTime(ts);
  if (timeMs === null) return bad('bad_time', 'timestamp is not an ISO 8601 time');
  const src = endpoint(o.src_ip, o.src_port, 'src');
  if (isBad(src)) return src;
  const dest = endpoint(o.dest_ip, o.dest_port, 'dest');
  if (isBad(dest)) return dest;
  const proto = readProto(o.proto);
  if (isBad(proto)) return proto;

  const gid = requiredUint(a, 'gid', 'alert.gid');
  if (isBad(gid)) return gid;
  const sid = requiredUint(a, 'signature_id', 'alert.signature_id');
  if (isBad(sid)) return sid;
  const rev = requiredUint(a, 'rev', 'alert.rev');
  if (isBad(rev)) return rev;
  const signature = requiredString(a, 'signature', 'alert.signature');
  if (isBad(signature)) return signature;
  const category = optionalString(a, 'category', 'alert.category');
  if (isBad(category)) return category;
  const severity = optionalUint(a, 'severity', 'alert.severity');
  if (isBad(severity)) return severity;
  const action = optionalString(a, 'action', 'alert.action');
  if (isBad(action)) return action;
  const iface = optionalString(o, 'in_iface');
  if (isBad(iface)) return iface;
  const sensor = optionalString(o, 'host');
  if (isBad(sensor)) return sensor;

  const alert: Alert = {
    ids: 'suricata',
    timeMs,
    src,
    dest,
    proto,
    gid,
    sid,
    rev,
    signature,
    category: category ?? '',
    severity,
    action: action ?? 'allowed',
  };
  const attacker = hint(a.source);
  const target = hint(a.target);
  if (attacker) alert.attacker = attacker;
  if (target) alert.target = target;
  if (iface !== undefined) alert.iface = iface;
  if (sensor !== undefined) alert.sensor = sensor;
  const flowId = readFlowId(o.flow_id, text);
  if (flowId !== undefined) alert.flowId = flowId;
  return { kind: 'alert', alert };
}

function readProto(v: unknown): string | Bad {
  if (v === undefined || v === null) return bad('missing_field', 'proto');
  // Old Suricata prints unknown protocols as their number ("047" or 47).
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255) return String(v);
  if (typeof v !== 'string' || v.length === 0 || v.length > 32)
    return bad('wrong_type', 'proto is not a protocol name');
  return v.toUpperCase();
}

function readFlowId(v: unknown, text: string): string | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return undefined;
  if (Number.isSafeInteger(v)) return String(v);
  return FLOW_ID.exec(text)?.[1] ?? String(v);
}
