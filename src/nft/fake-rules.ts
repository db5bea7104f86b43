/**
 * Rules for the in-memory nft (fake.ts): the statements nftsentry's templates use (matches on
 * payload, meta and ct selectors, set references, anonymous sets, verdicts, named counters,
 * jump/goto, limit, `add`/`update`/`delete @set { ... }`, payload statements `ip ttl set N`;
 * expressions in fake-expressions.ts), read into the JSON shapes `nft -j` prints, with
 * the references the kernel tracks (sets, chains, counters) and the key types nft checks against a
 * referenced set ("datatype mismatch"). A statement outside this list is a syntax error. Pure.
 */
import type { Token } from './fake-tokens.ts';
import { NftInputError, parseDuration } from './fake-values.ts';
import { expression, RuleReader, value } from './fake-expressions.ts';

const VERDICTS = new Set(['accept', 'drop', 'return', 'continue']);

/** A set named by a rule, with the key types of the expression it is looked up or updated with. */
export interface SetUse {
  name: string;
  /** Per part of the key; null where the fake does not know a selector's type. */
  types: Array<string | null>;
  /** The token naming the set (for the error position). */
  at: Token;
}

export interface CompiledRule {
  expr: unknown[];
  sets: SetUse[];
  chains: string[];
  counters: string[];
}

/** `limit rate [over] N/UNIT [burst N packets]`, after `limit`. */
function limit(r: RuleReader): unknown {
  if (r.word() !== 'rate') throw new NftInputError('syntax error, expecting "rate"');
  let inv = false;
  if (r.peek()?.text === 'over') {
    r.next();
    inv = true;
  }
  const [rate, per] = r.word().split('/');
  const out: Record<string, unknown> = { rate: Number(rate), per };
  if (r.peek()?.text === 'burst') {
    r.next();
    out.burst = Number(r.word());
    if (r.peek()?.text === 'packets' || r.peek()?.text === 'bytes') r.next();
  }
  if (inv) out.inv = true;
  return { limit: out };
}

/** `add|update|delete @SET { EXPR [timeout T] [limit ...] [: DATA] }`, after the verb. */
function setStatement(r: RuleReader, op: string, out: CompiledRule): unknown {
  const at = r.next();
  if (!at.text.startsWith('@'))
    throw new NftInputError(`syntax error, unexpected "${at.text}", expecting set reference`);
  const start = r.pos;
  if (!r.is('{')) throw new NftInputError('syntax error, expecting "{"');
  r.next();
  const key = expression(r, true);
  if (!key) throw new NftInputError('syntax error, expecting a key expression');
  out.sets.push({ name: at.text.slice(1), types: key.types, at });
  let timeout: number | undefined;
  const stmts: unknown[] = [];
  let isMap = false;
  while (!r.is('}')) {
    const t = r.next();
    if (t.text === 'timeout') timeout = parseDuration(r.word()) / 1000;
    else if (t.text === 'limit') stmts.push(limit(r));
    else if (t.text === ':') {
      isMap = true;
      r.word();
    } else throw new NftInputError(`syntax error, unexpected "${t.text}" in a set statement`);
  }
  r.next();
  // nft 1.0.6 has no JSON for a map statement: it prints the statement's text.
  if (isMap)
    return r.tokens
      .slice(start - 2, r.pos)
      .map((t) => t.text)
      .join(' ');
  const elem = timeout === undefined ? key.json : { elem: { val: key.json, timeout } };
  return { set: { op, elem, set: at.text, ...(stmts.length > 0 ? { stmt: stmts } : {}) } };
}

/** A rule's tokens -> its JSON expressions and what it refers to. Throws NftInputError. */
export function compileRule(tokens: readonly Token[]): CompiledRule {
  const r = new RuleReader(tokens);
  const out: CompiledRule = { expr: [], sets: [], chains: [], counters: [] };
  while (r.peek()) {
    const t = r.peek()!;
    if (t.kind === 'word' && VERDICTS.has(t.text)) {
      r.next();
      out.expr.push({ [t.text]: null });
    } else if (t.text === 'jump' || t.text === 'goto') {
      r.next();
      const target = r.word();
      out.chains.push(target);
      out.expr.push({ [t.text]: { target } });
    } else if (t.text === 'counter') {
      r.next();
      if (r.peek()?.text === 'name') {
        r.next();
        const name = r.word();
        out.counters.push(name);
        out.expr.push({ counter: name });
      } else {
        out.expr.push({ counter: { packets: 0, bytes: 0 } });
      }
    } else if (t.text === 'limit') {
      r.next();
      out.expr.push(limit(r));
    } else if (['add', 'update', 'delete'].includes(t.text) && r.peek(1)?.text.startsWith('@')) {
      r.next();
      out.expr.push(setStatement(r, t.text, out));
    } else {
      const left = expression(r);
      if (!left) throw new NftInputError(`syntax error, unexpected "${t.text}"`);
      if (r.peek()?.text === 'set') {
        // A payload statement (`ip ttl set 64`): nft -j calls it mangle.
        r.next();
        out.expr.push({ mangle: { key: left.json, value: value(r) } });
        continue;
      }
      let op = left.flagLike ? 'in' : '==';
      if (r.is('==') || r.is('!=')) op = r.next().text;
      const at = r.peek();
      if (at?.kind === 'word' && at.text.startsWith('@'))
        out.sets.push({ name: at.text.slice(1), types: left.types, at });
      out.expr.push({ match: { op, left: left.json, right: value(r) } });
    }
  }
  return out;
}
