/**
 * Element changes in the in-memory nft (fake-txn.ts), as Linux 6.18 and nft 1.0.6 make them
 * (checked in a namespace; test/kernel/fake-agrees.test.ts keeps checking):
 *
 * - `add element` of an element that exists keeps it: a different timeout (or none) replaces its
 *   timeout and restarts its expiry, the same timeout changes nothing; different map data fails
 *   ("File exists"); `create element` of one that exists fails.
 * - Concatenated interval sets (the kernel's pipapo): an element whose first or last point lies
 *   in another element fails ("File exists"); one that only contains another is taken.
 * - Plain interval sets are checked by nft itself: an overlap fails before the kernel sees it
 *   ("interval overlaps with an existing one", "conflicting intervals specified"), as does
 *   deleting a missing element ("element does not exist"); with auto-merge, overlapping and
 *   adjacent intervals become one.
 * - `delete element` of a missing element fails ("No such file or directory"); an element whose
 *   time is up counts as missing.
 * - A timeout on a set without `flags timeout`, or a map element without data: "Invalid argument".
 */
import type { ElementSpec } from './fake-declarations.ts';
import { isLive, type FakeElement, type FakeSet } from './fake-state.ts';
import { keyContains, keyId, NftInputError, parseData, parseKey, type Field } from './fake-values.ts';

/** What element changes need of the transaction they run in. */
export interface ElementContext {
  readonly now: number;
  /** The set's elements, to change: copied once per transaction. */
  own(s: FakeSet): Map<string, FakeElement>;
  /** Records a kernel-side failure of the current command (`Could not process rule: ...`). */
  kernel(message: string): void;
}

function overlap(a: readonly Field[], b: readonly Field[]): boolean {
  return a.every((f, i) => f.lo <= b[i]!.hi && b[i]!.lo <= f.hi);
}

function live(ctx: ElementContext, s: FakeSet): FakeElement[] {
  return [...s.elements.values()].filter((e) => isLive(e, ctx.now));
}

/** auto-merge: the new interval and every live one it overlaps or touches become one. */
function merge(ctx: ElementContext, s: FakeSet, key: Field[]): void {
  const els = ctx.own(s);
  let { lo, hi } = key[0]!;
  for (const [id, e] of [...els]) {
    const f = e.key[0]!;
    if (f.lo <= hi + 1n && lo <= f.hi + 1n) {
      if (f.lo < lo) lo = f.lo;
      if (f.hi > hi) hi = f.hi;
      els.delete(id);
    }
  }
  const merged = [{ lo, hi }];
  els.set(keyId(merged), { key: merged, timeoutMs: null, expiresAt: null });
}

export function addElements(
  ctx: ElementContext,
  s: FakeSet,
  specs: readonly ElementSpec[],
  op: 'add' | 'create',
): void {
  const interval = s.flags.includes('interval');
  const plainInterval = interval && s.keyTypes.length === 1;
  const batch: Field[][] = [];
  for (const spec of specs) {
    const key = parseKey(s.keyTypes, spec.parts, interval);
    if (s.kind === 'set' && spec.data !== undefined)
      throw new NftInputError(`syntax error, unexpected ":", ${s.name} is not a map`);
    const data = s.kind === 'map' && spec.data !== undefined ? parseData(s.dataType!, spec.data) : undefined;
    if ((s.kind === 'map' && data === undefined) || (spec.timeoutMs !== undefined && !s.flags.includes('timeout'))) {
      ctx.kernel('Invalid argument');
      continue;
    }
    const timeoutMs = spec.timeoutMs || s.timeoutMs || null;
    const id = keyId(key);
    const found = s.elements.get(id);
    const exact = found && isLive(found, ctx.now) ? found : undefined;
    if (plainInterval) {
      if (batch.some((b) => overlap(b, key))) throw new NftInputError('conflicting intervals specified');
      batch.push(key);
      if (s.autoMerge) {
        merge(ctx, s, key);
        continue;
      }
      if (!exact && live(ctx, s).some((e) => overlap(e.key, key)))
        throw new NftInputError('interval overlaps with an existing one');
    } else if (interval && !exact) {
      const start = key.map((f) => f.lo);
      const end = key.map((f) => f.hi);
      if (live(ctx, s).some((e) => keyContains(e.key, start) || keyContains(e.key, end))) {
        ctx.kernel('File exists');
        continue;
      }
    }
    if (exact) {
      if (op === 'create' || (s.kind === 'map' && exact.data !== data)) ctx.kernel('File exists');
      else if (exact.timeoutMs !== timeoutMs) {
        ctx.own(s).set(id, { ...exact, timeoutMs, expiresAt: timeoutMs === null ? null : ctx.now + timeoutMs });
      }
      continue;
    }
    const expiresMs = timeoutMs === null ? null : (spec.expiresMs ?? timeoutMs);
    const els = ctx.own(s);
    // A set with a size takes no element beyond it: the kernel's ENFILE.
    if (s.size !== undefined && !found && els.size >= s.size) {
      ctx.kernel('Too many open files in system');
      continue;
    }
    els.delete(id);
    els.set(id, {
      key,
      timeoutMs,
      expiresAt: expiresMs === null ? null : ctx.now + expiresMs,
      ...(data === undefined ? {} : { data }),
    });
  }
}

export function deleteElements(ctx: ElementContext, s: FakeSet, specs: readonly ElementSpec[]): void {
  const interval = s.flags.includes('interval');
  for (const spec of specs) {
    const id = keyId(parseKey(s.keyTypes, spec.parts, interval));
    const e = s.elements.get(id);
    if (!e || !isLive(e, ctx.now)) {
      if (interval && s.keyTypes.length === 1) throw new NftInputError('element does not exist');
      ctx.kernel('No such file or directory');
      continue;
    }
    ctx.own(s).delete(id);
  }
}
