/**
 * The Operations the HTTP API and the CLI call, on a running Engine: lookups from the store,
 * manual bans through the same decision core (protection applies, thresholds do not), unbans
 * with a grace period, allowlist changes that lift the bans they cover, status.
 */
import { NftsentryError, ErrorCodes } from '../errors.ts';
import { prefixCovers, type IpPrefix } from '../net/ip.ts';
import type { Engine } from './engine.ts';
import type { AllowEntry, BanListFilter, BanView } from './operations.ts';
import { decideManual } from './decide.ts';
import { banTargetOf } from './ban-target.ts';
import { banViewOf } from '../store/ban-queries.ts';
import { liftBan, liftBans } from './engine-sync.ts';

export function listBans(e: Engine, filter: BanListFilter): { total: number; items: BanView[] } {
  return e.store.queries.listBans(filter, e.clock());
}

/** The exact target's active ban, else the longest active prefix ban (from memory) holding the address. */
export function getBan(e: Engine, address: IpPrefix): BanView | null {
  return e.store.queries.getBan(address, e.clock(), e.index.prefixTargets());
}

export async function ban(e: Engine, request: { address: IpPrefix; durationSec: number | null; reason: string }): Promise<BanView> {
  const nowMs = e.clock();
  const reason = request.reason.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 256) || 'manual';
  const d = decideManual(request.address, request.durationSec, reason, e.ctx, nowMs);
  if (d.kind === 'skip') {
    throw new NftsentryError(ErrorCodes.BAN_REFUSED, `${request.address.text} may not be banned (${d.why})`, { details: { why: d.why } });
  }
  e.stats.count(d);
  // Waits for this ban's own element (sent ahead of any alert backlog), not for the backlog.
  await e.applyBan(d, nowMs, true);
  return getBan(e, request.address) ?? banViewOf(e.store.queries.get(d.target.text)!, nowMs);
}

export async function unban(e: Engine, address: IpPrefix): Promise<boolean> {
  const target = banTargetOf(address);
  const lifted = await liftBan(e, target.text);
  if (lifted === 0) return false;
  const untilMs = e.clock() + e.config.api.unban_grace * 1000;
  e.index.setGrace(target.text, untilMs);
  e.store.setGrace(target.text, untilMs);
  return true;
}

export async function addAllow(e: Engine, prefix: IpPrefix, note: string): Promise<{ entry: AllowEntry; liftedBans: number }> {
  const entry = e.allowlist.add(prefix, note, e.clock());
  await e.allowChanged();
  const liftedBans = await liftBans(e, (t) => prefixCovers(prefix, t) || prefixCovers(t, prefix));
  return { entry, liftedBans };
}

export async function status(e: Engine): Promise<Record<string, unknown>> {
  let drops: Record<string, number> | { error: string } = {};
  if (!e.dryRun) {
    try {
      drops = Object.fromEntries((await e.dropCounters()).map((c) => [c.name, c.packets]));
    } catch (err) {
      drops = { error: (err as Error).message };
    }
  }
  return {
    version: e.version,
    dryRun: e.dryRun,
    ruleset: { applied: e.rulesetAppliedMs !== null, appliedMs: e.rulesetAppliedMs },
    sources: e.sourceStats(),
    drops,
    bans: { active: e.index.activeSize, bySource: e.store.queries.countActiveBySource(), offendersKnown: e.index.size },
    engine: { ...e.stats.snapshot(), nft: { ...e.flusher.stats, pending: e.flusher.pending } },
  };
}
