/** Shared helpers for the engine tests: configs, alerts, a decision context with explicit time. */
import { parseConfigText, type Config } from '../../src/config/config.ts';
import type { Alert } from '../../src/ingest/alert.ts';
import type { DecideContext } from '../../src/engine/decide.ts';
import { OffenderIndex } from '../../src/engine/offender-index.ts';
import { Protection } from '../../src/engine/protection.ts';
import { ThresholdTracker } from '../../src/engine/threshold-tracker.ts';
import { parseIp } from '../../src/net/ip.ts';
import type { BanWrite } from '../../src/store/store.ts';
import { interfaceAddress, type InterfaceAddress } from '../../src/net/subnet.ts';

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

export function config(yaml = ''): Readonly<Config> {
  return parseConfigText(
    `home_networks: [10.0.0.0/8, 2001:db8:ffff::/48]\nallowlist: [203.0.113.10, 2001:db8:aaaa::1]\n${yaml}`,
  );
}

/** `198.18.0.1/24` (an address on its subnet) or `198.18.0.1` (no subnet) -> an interface address. */
export function own(text: string): InterfaceAddress {
  const [addr, len] = text.split('/');
  const a = parseIp(addr!)!;
  return interfaceAddress(a, len === undefined ? (a.family === 4 ? 32 : 128) : Number(len));
}

export function ctxFor(
  cfg: Readonly<Config>,
  owned: string[] = ['10.0.0.1'],
): DecideContext & { index: OffenderIndex } {
  const p = cfg.policy;
  const index = new OffenderIndex(
    p.escalation.forget_after * 1000,
    p.ipv4_aggregate.enabled ? p.ipv4_aggregate.prefix : null,
  );
  return {
    policy: p,
    protection: new Protection(cfg.allowlist, cfg.home_networks, owned.map(own)),
    tracker: new ThresholdTracker(p.max_tracked_sources),
    state: index,
    index,
  };
}

let flow = 0;
export function alert(over: Partial<Alert> & { srcIp?: string; destIp?: string; destPort?: number } = {}): Alert {
  const { srcIp, destIp, destPort, ...rest } = over;
  return {
    ids: 'suricata',
    timeMs: T0,
    src: { ip: srcIp ?? '198.51.100.7', port: 40000 },
    dest: { ip: destIp ?? '10.1.2.3', port: destPort ?? 22 },
    proto: 'TCP',
    gid: 1,
    sid: 2001219,
    rev: 20,
    signature: 'ET SCAN Potential SSH Scan',
    category: 'Attempted Information Leak',
    severity: 2,
    action: 'allowed',
    flowId: String(++flow),
    ...rest,
  };
}

/** The store row of a one-hour ban4 ban decided at 1 s (flusher and queue tests). */
export function banWrite(target: string): BanWrite {
  return {
    target,
    family: 4,
    set: 'ban4',
    source: 'suricata',
    reason: 'r',
    sid: 1,
    signature: 's',
    nowMs: 1000,
    expiresMs: 3_601_000,
    durationSec: 3600,
    offences: 1,
  };
}
