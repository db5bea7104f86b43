/**
 * The engine against the kernel over time: restore at start (remaining time, never an expired
 * ban, reconcile instead of flush + re-add), self-healing after the table or a set vanished,
 * the kernel scanners poll, and lifting bans (unban, allowlist). Works on the engine's parts.
 */
import { isNftsentryError, ErrorCodes } from '../errors.ts';
import { parsePrefix, prefixContains, parseIp, isFullLength, type IpAddress, type IpPrefix } from '../net/ip.ts';
import type { ElementChange } from '../nft/elements.ts';
import type { Engine } from './engine.ts';
import { parseBanTarget, type BanSetName } from './ban-target.ts';
import { reconcile, remainingSec } from './reconcile.ts';
import { readBanSets, PROBE } from './kernel-sync.ts';
import { readKernelScanners } from '../nft/scanners.ts';
import type { NftBackend } from './ban-backend.ts';
import { TABLE_FAMILY, TABLE_NAME } from '../nft/ruleset.ts';

export type EngineInternals = Engine;

/** Loads the store into memory, drops what expired meanwhile, and makes the kernel agree. */
export async function restoreBans(e: Engine): Promise<void> {
  const started = performance.now();
  const nowMs = e.clock();
  const rows = e.store.loadOffenders(nowMs - e.config.policy.escalation.forget_after * 1000);
  const expired: string[] = [];
  for (const r of rows) {
    const expiresMs = r.expires_ms === null ? null : Number(r.expires_ms);
    const active = Number(r.active) === 1 && (expiresMs === null || expiresMs > nowMs);
    if (Number(r.active) === 1 && !active) expired.push(r.target);
    // The set follows from the target (a store written before ban6net64 says bannet6 for a /64).
    const entry = { set: parseBanTarget(r.target)?.set ?? (r.set_name as BanSetName), expiresMs, durationSec: r.duration_sec === null ? null : Number(r.duration_sec),
      offences: Number(r.offences), lastOffenceMs: Number(r.last_offence_ms) };
    if (active) e.index.setActive(r.target, entry);
    else {
      e.index.setActive(r.target, entry);
      e.index.setInactive(r.target);
    }
  }
  e.store.deactivate(expired);
  for (const g of e.store.loadGrace(nowMs)) e.index.setGrace(g.target, Number(g.until_ms));
  e.stats.restored = e.index.activeSize;
  if (e.dryRun) return;
  const loadedMs = performance.now() - started;
  // 1. Every active ban with its remaining time, in one transaction: `add` keeps what the kernel
  //    holds (nothing is flushed) and puts back what it lost. Bans are enforced from here on.
  const add = [...e.index.activeEntries()].map(([key, o]) => ({ set: o.set, key, timeoutSec: remainingSec(o.expiresMs, nowMs) }));
  await e.backend.apply({ add });
  e.log.info({ active: e.index.activeSize, expiredDropped: expired.length, loadMs: Math.round(loadedMs),
    totalMs: Math.round(performance.now() - started) }, 'bans restored');
  // 2. Then the full reconcile against what the kernel holds (adopts elements the store does not
  //    know: a crash between nft and the store leaves such bans), off the start-up path.
  e.reconciled = syncBanSets(e).then(
    (plan) => e.log.info({ ...plan, totalMs: Math.round(performance.now() - started) }, 'kernel reconciled'),
    (err) => e.log.warn({ err: (err as Error).message }, 'kernel reconcile failed; self-healing will retry'),
  );
}

/** Reads the ban sets, sends what is missing or wrong, adopts unknown kernel elements. */
async function syncBanSets(e: Engine): Promise<{ added: number; refreshed: number; kept: number; adopted: number; readMs: number; applyMs: number }> {
  const t0 = performance.now();
  const kernel = await readBanSets(e.runner);
  const readMs = performance.now() - t0;
  const nowMs = e.clock();
  const plan = reconcile(e.index.activeEntries(), kernel, nowMs);
  const t1 = performance.now();
  await e.backend.apply(plan.batch);
  const applyMs = performance.now() - t1;
  let adopted = 0;
  const writes = [];
  const moved: { add: ElementChange[]; remove: ElementChange[] } = { add: [], remove: [] };
  for (const u of plan.unknown) {
    const target = parseBanTarget(u.key);
    if (!target) continue;
    if (target.set !== u.set) {
      // In a set that no longer holds such targets (an IPv6 /64 in bannet6 from before ban6net64):
      // out of there; an active ban is already in its own set, an unknown one is adopted into it.
      moved.remove.push({ set: u.set, key: u.key });
      if (e.index.active(target.text)) continue;
    }
    // Lifted while we were reading: the kernel element is on its way out, not a lost ban.
    if ((e.liftedAt.get(target.text) ?? -Infinity) >= t0) continue;
    if (e.ctx.protection.whyPrefixProtected(target.prefix) && target.prefix.length < (target.family === 4 ? 32 : 128)) {
      e.flusher.queueRemove({ set: u.set, key: u.key });
      continue;
    }
    if (target.prefix.length === (target.family === 4 ? 32 : 128) && e.ctx.protection.whyProtected(target.prefix.network)) {
      e.flusher.queueRemove({ set: u.set, key: u.key });
      continue;
    }
    if (target.set !== u.set) moved.add.push({ set: target.set, key: target.text, timeoutSec: u.expiresSec });
    const expiresMs = u.expiresSec === null ? null : nowMs + u.expiresSec * 1000;
    const prev = e.index.get(target.text);
    const offences = prev ? prev.offences : 1;
    e.index.setActive(target.text, { set: target.set, expiresMs, durationSec: u.expiresSec, offences, lastOffenceMs: nowMs });
    writes.push({ target: target.text, family: target.family, set: target.set, source: 'manual' as const, reason: 'adopted from kernel',
      sid: null, signature: null, nowMs, expiresMs, durationSec: u.expiresSec, offences });
    adopted++;
  }
  e.store.recordBans(writes);
  e.stats.adopted += adopted;
  if (moved.remove.length > 0) await e.backend.apply(moved);
  return { added: plan.batch.add?.length ?? 0, refreshed: plan.batch.refresh?.length ?? 0, kept: plan.kept, adopted,
    readMs: Math.round(readMs), applyMs: Math.round(applyMs) };
}

/**
 * Probes the ban sets (every tick, through the co-process) and the prerouting rules (every
 * `rules_check_ms`: `nft flush table` empties the chains but keeps the sets); when something is
 * gone, re-applies the base ruleset and every active ban.
 */
export async function healKernel(e: Engine): Promise<void> {
  if (e.dryRun) return;
  let why: string | null = null;
  try {
    await (e.backend as NftBackend).send({ remove: PROBE });
    const every = e.config.engine.rules_check_ms;
    const now = performance.now();
    if (every > 0 && now - e.lastRulesCheck >= every) {
      // Costly: `nft list chain` reads every set's elements (~0.6 s of CPU with 100k bans).
      e.lastRulesCheck = now;
      const chain = await e.runner.json(['list', 'chain', TABLE_FAMILY, TABLE_NAME, 'prerouting']);
      if (!JSON.stringify(chain).includes('"@ban4"')) why = 'the prerouting rules are gone';
    }
  } catch (err) {
    if (!isNftsentryError(err, ErrorCodes.NFT_NOT_FOUND)) throw err;
    why = 'table inet nftsentry or a ban set is gone';
  }
  if (!why) return;
  const started = performance.now();
  e.log.warn({ why }, 're-applying the ruleset and the bans');
  await e.applyBaseRuleset();
  const plan = await syncBanSets(e);
  e.kernelSeen.clear();
  e.stats.heals++;
  e.stats.lastHealMs = e.clock();
  e.log.warn({ bans: plan.added + plan.refreshed + plan.kept, durationMs: Math.round(performance.now() - started) }, 'self-healed');
}

/** New entries of the kernel's scanners sets become offences (escalation included). */
export async function syncKernelScanners(e: Engine): Promise<void> {
  if (e.dryRun || !e.config.scan_detection.enabled) return;
  e.stats.kernelScanPolls++;
  let scanners;
  try {
    scanners = await readKernelScanners(e.runner, e.kernelSeen);
  } catch (err) {
    e.stats.kernelScanErrors++;
    if (isNftsentryError(err, ErrorCodes.NFT_NOT_FOUND)) return;
    throw err;
  }
  const nowMs = e.clock();
  const present = new Set<string>();
  for (const s of scanners) {
    present.add(s.address);
    if (!e.kernelSeen.has(s.address)) e.handleKernelScan(s.address, s.reason, nowMs);
  }
  e.kernelSeen = present;
}

/**
 * Ends every active ban whose target matches (unban, allowlist change): memory, store, kernel
 * (its own transaction), and the kernel's scanners entries inside it. Returns how many.
 */
export async function liftBans(e: Engine, matches: (prefix: IpPrefix, target: string) => boolean): Promise<number> {
  const lifted: Lifted[] = [];
  for (const [text, o] of e.index.activeEntries()) {
    const p = parsePrefix(text);
    if (p && matches(p, text)) lifted.push({ text, set: o.set, prefix: p });
  }
  return liftTargets(e, lifted);
}

/** Lifts one ban by its target text (an unban): a lookup, not a scan of every active ban. */
export async function liftBan(e: Engine, target: string): Promise<number> {
  const o = e.index.active(target);
  const p = o ? parsePrefix(target) : null;
  return o && p ? liftTargets(e, [{ text: target, set: o.set, prefix: p }]) : 0;
}

interface Lifted {
  text: string;
  set: BanSetName;
  prefix: IpPrefix;
}

async function liftTargets(e: Engine, lifted: Lifted[]): Promise<number> {
  if (lifted.length === 0) return 0;
  const now = performance.now();
  for (const [t, at] of e.liftedAt) if (at < now - 600_000) e.liftedAt.delete(t);
  // Each removal is waited for on its own (removals go before the alert backlog), not the backlog.
  const applied: Array<Promise<void>> = [];
  for (const l of lifted) {
    e.liftedAt.set(l.text, now);
    e.index.setInactive(l.text);
    e.ctx.tracker.forgetSource(l.text);
    applied.push(e.flusher.queueManualRemove({ set: l.set, key: l.text }));
  }
  // Through the flusher: a burst row of these targets not yet written must not land after it.
  e.flusher.deactivate(lifted.map((l) => l.text));
  if (!e.dryRun) {
    const removeScanner = (a: IpAddress) => {
      const fam = a.family === 4 ? '4' : '6';
      const changes: ElementChange[] = [{ set: `scanners${fam}`, key: a.text }, { set: `scan_reason${fam}`, key: a.text, data: 0 }];
      for (const c of changes) applied.push(e.flusher.queueManualRemove(c));
      e.kernelSeen.delete(a.text);
    };
    // A single address needs no read: a removal is add+delete in one transaction, which succeeds
    // whether the kernel holds the element or not. Only a wider prefix has to find the scanners
    // it covers, which takes reading the sets (processes started from this thread: avoided when
    // it can be, it is most of an unban's latency under load).
    const wide = lifted.filter((l) => !isFullLength(l.prefix));
    for (const l of lifted) if (isFullLength(l.prefix)) removeScanner(l.prefix.network);
    if (wide.length > 0) {
      try {
        for (const s of await readKernelScanners(e.runner)) {
          const a = parseIp(s.address);
          if (a && wide.some((l) => prefixContains(l.prefix, a))) removeScanner(a);
        }
      } catch (err) {
        e.log.warn({ err: (err as Error).message }, 'cannot read the scanners sets while lifting bans');
      }
    }
  }
  await Promise.all(applied);
  return lifted.length;
}
