/**
 * The automatic bans in force inside each cap aggregate (IPv4 /24, IPv6 /48): what replacing them
 * with one aggregate ban would lift (engine/ban-cap.ts). Keyed by the aggregate's leading bits as
 * a number (24 or 48 bits: exact in a double), valued by the members' target texts (the same
 * strings the offender index holds). Only targets narrower than their aggregate are members.
 * Pure, no IO.
 */
import { type IpPrefix, parsePrefix } from '../net/ip.ts';

export const CAP_AGGREGATE = { 4: 24, 6: 48 } as const;

/** The aggregate key of a prefix narrower than its family's aggregate; null otherwise. */
function keyOf(p: IpPrefix): number | null {
  const b = p.network.bytes;
  if (p.family === 4) return p.length > CAP_AGGREGATE[4] ? (b[0]! << 16) | (b[1]! << 8) | b[2]! : null;
  if (p.length <= CAP_AGGREGATE[6]) return null;
  return ((((b[0]! * 256 + b[1]!) * 256 + b[2]!) * 256 + b[3]!) * 256 + b[4]!) * 256 + b[5]!;
}

export class AggregateIndex {
  private readonly v4 = new Map<number, string[]>();
  private readonly v6 = new Map<number, string[]>();

  add(target: string): void {
    const p = parsePrefix(target);
    const key = p ? keyOf(p) : null;
    if (!p || key === null) return;
    const map = p.family === 4 ? this.v4 : this.v6;
    const list = map.get(key);
    if (list) list.push(target);
    else map.set(key, [target]);
  }

  remove(target: string): void {
    const p = parsePrefix(target);
    const key = p ? keyOf(p) : null;
    if (!p || key === null) return;
    const map = p.family === 4 ? this.v4 : this.v6;
    const list = map.get(key);
    const i = list ? list.indexOf(target) : -1;
    if (!list || i < 0) return;
    list[i] = list[list.length - 1]!;
    list.pop();
    if (list.length === 0) map.delete(key);
  }

  /** The members of `aggregate` (a /24 or /48): automatic bans in force inside it. */
  members(aggregate: IpPrefix): readonly string[] {
    if (aggregate.length !== CAP_AGGREGATE[aggregate.family]) return [];
    const b = aggregate.network.bytes;
    const key =
      aggregate.family === 4
        ? (b[0]! << 16) | (b[1]! << 8) | b[2]!
        : ((((b[0]! * 256 + b[1]!) * 256 + b[2]!) * 256 + b[3]!) * 256 + b[4]!) * 256 + b[5]!;
    return (aggregate.family === 4 ? this.v4 : this.v6).get(key) ?? [];
  }
}
