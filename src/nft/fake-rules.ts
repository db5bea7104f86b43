/**
 * Rules for the in-memory nft (fake.ts): the statements nftsentry's templates use (matches on
 * payload, meta and ct selectors, set references, anonymous sets, verdicts, named counters,
 * jump/goto, limit, `add`/`update @set { ... }`), read into the JSON shapes `nft -j` prints, with
 * the references the kernel tracks (sets, chains, counters) and the key types nft checks against a
 * referenced set ("datatype mismatch"). A statement outside this list is a syntax error. Pure.
 */
import type { Token } from './fake-tokens.ts';
import { NftInputError, parseDuration } from './fake-values.ts';

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

const PAYLOAD: Record<string, Record<string, string | null>> = {
  ip: { saddr: 'ipv4_addr', daddr: 'ipv4_addr', protocol: 'inet_proto', ttl: null, length: null },
  ip6: { saddr: 'ipv6_addr', daddr: 'ipv6_addr', nexthdr: 'inet_proto', hoplimit: null, length: null },
  tcp: { dport: 'inet_service', sport: 'inet_service', flags: null },
  udp: { dport: 'inet_service', sport: 'inet_service' },
  th: { dport: 'inet_service', sport: 'inet_service' },
  icmp: { type: null, code: null },
  icmpv6: { type: null, code: null },
};
const META: Record<string, string | null> = {
  l4proto: 'inet_proto',
  nfproto: null,
  iif: null,
  iifname: null,
  oif: null,
  oifname: null,
  mark: 'mark',
};
const CT: Record<string, string | null> = { state: null, status: null, mark: 'mark', direction: null };
const META_SHORT = new Set(['iif', 'iifname', 'oif', 'oifname']);
const VERDICTS = new Set(['accept', 'drop', 'return', 'continue']);

interface Expr {
  json: unknown;
  types: Array<string | null>;
  /** ct state and tcp flags match with `in` when no operator is written. */
  flagLike: boolean;
}

class RuleReader {
  pos = 0;
  readonly tokens: readonly Token[];

  constructor(tokens: readonly Token[]) {
    this.tokens = tokens;
  }

  peek(offset = 0): Token | undefined {
    return this.tokens[this.pos + offset];
  }

  is(text: string): boolean {
    const t = this.peek();
    return t !== undefined && t.kind === 'punct' && t.text === text;
  }

  next(): Token {
    const t = this.tokens[this.pos++];
    if (!t) throw new NftInputError('syntax error, unexpected end of rule');
    return t;
  }

  word(): string {
    const t = this.next();
    if (t.kind !== 'word' && t.kind !== 'string') throw new NftInputError(`syntax error, unexpected "${t.text}"`);
    return t.text;
  }
}

/**
 * `jhash EXPR mod N [seed S]`, after `jhash`: an integer, typed `mark` here (what nftsentry's bucket
 * sets are declared with). nft prints no seed when the kernel drew it.
 */
function jhash(r: RuleReader): Expr {
  const inner = expression(r);
  if (!inner) throw new NftInputError(`syntax error, unexpected "${r.peek()?.text ?? 'end of rule'}" after jhash`);
  if (r.peek()?.text !== 'mod') throw new NftInputError('syntax error, expecting "mod"');
  r.next();
  const mod = Number(r.word());
  const out: Record<string, unknown> = { mod };
  if (r.peek()?.text === 'seed') {
    r.next();
    out.seed = Number(scalar(r.word()));
  }
  return { json: { jhash: { ...out, expr: inner.json } }, types: ['mark'], flagLike: false };
}

/** A selector (`ip saddr`, `meta l4proto`, `iif`...), with `& MASK` when there is one. */
function selector(r: RuleReader): Expr | null {
  const head = r.peek();
  if (head?.kind !== 'word') return null;
  let e: Expr;
  if (head.text === 'jhash') {
    r.next();
    return jhash(r);
  }
  if (Object.hasOwn(PAYLOAD, head.text) && Object.hasOwn(PAYLOAD[head.text]!, r.peek(1)?.text ?? '')) {
    r.next();
    const field = r.word();
    e = {
      json: { payload: { protocol: head.text, field } },
      types: [PAYLOAD[head.text]![field]!],
      flagLike: head.text === 'tcp' && field === 'flags',
    };
  } else if (head.text === 'meta' && Object.hasOwn(META, r.peek(1)?.text ?? '')) {
    r.next();
    const key = r.word();
    e = { json: { meta: { key } }, types: [META[key]!], flagLike: false };
  } else if (head.text === 'ct' && Object.hasOwn(CT, r.peek(1)?.text ?? '')) {
    r.next();
    const key = r.word();
    e = { json: { ct: { key } }, types: [CT[key]!], flagLike: key === 'state' || key === 'status' };
  } else if (META_SHORT.has(head.text)) {
    r.next();
    e = { json: { meta: { key: head.text } }, types: [META[head.text]!], flagLike: false };
  } else {
    return null;
  }
  if (r.is('&')) {
    r.next();
    e = { ...e, json: { '&': [e.json, value(r)] } };
  }
  return e;
}

/** `a . b . c` of selectors. */
function expression(r: RuleReader): Expr | null {
  const first = selector(r);
  if (!first) return null;
  const parts = [first];
  while (r.is('.')) {
    r.next();
    const p = selector(r);
    if (!p) throw new NftInputError(`syntax error, unexpected "${r.peek()?.text ?? 'end of rule'}" in a concatenation`);
    parts.push(p);
  }
  if (parts.length === 1) return first;
  return { json: { concat: parts.map((p) => p.json) }, types: parts.flatMap((p) => p.types), flagLike: false };
}

function scalar(text: string): unknown {
  if (/^\d+$/.test(text)) return Number(text);
  if (/^0x[0-9a-f]+$/i.test(text)) return Number.parseInt(text.slice(2), 16);
  const slash = text.indexOf('/');
  if (
    slash > 0 &&
    /^\d+$/.test(text.slice(slash + 1)) &&
    text.slice(0, slash).includes(':') !== text.slice(0, slash).includes('.')
  ) {
    return { prefix: { addr: text.slice(0, slash), len: Number(text.slice(slash + 1)) } };
  }
  const range = /^(\d+)-(\d+)$/.exec(text);
  if (range) return { range: [Number(range[1]), Number(range[2])] };
  return text;
}

/** A right-hand side: a word, `a|b`, `(a|b)`, `a,b`, an anonymous set `{ ... }`. */
function value(r: RuleReader): unknown {
  if (r.is('{')) {
    r.next();
    const items: unknown[] = [];
    while (!r.is('}')) {
      const parts = [scalar(r.word())];
      while (r.is('.')) {
        r.next();
        parts.push(scalar(r.word()));
      }
      items.push(parts.length === 1 ? parts[0] : { concat: parts });
      if (r.is(',')) r.next();
    }
    r.next();
    return { set: items };
  }
  if (r.is('(')) {
    r.next();
    const inner = value(r);
    if (!r.is(')')) throw new NftInputError('syntax error, expecting ")"');
    r.next();
    return inner;
  }
  const words = [r.word()];
  while (r.is('|') || r.is(',')) {
    r.next();
    words.push(r.word());
  }
  return words.length === 1 ? scalar(words[0]!) : words.map(scalar);
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

/** `add|update @SET { EXPR [timeout T] [limit ...] [: DATA] }`, after the verb. */
function setStatement(r: RuleReader, op: string, out: CompiledRule): unknown {
  const at = r.next();
  if (!at.text.startsWith('@'))
    throw new NftInputError(`syntax error, unexpected "${at.text}", expecting set reference`);
  const start = r.pos;
  if (!r.is('{')) throw new NftInputError('syntax error, expecting "{"');
  r.next();
  const key = expression(r);
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
    } else if ((t.text === 'add' || t.text === 'update') && r.peek(1)?.text.startsWith('@')) {
      r.next();
      out.expr.push(setStatement(r, t.text, out));
    } else {
      const left = expression(r);
      if (!left) throw new NftInputError(`syntax error, unexpected "${t.text}"`);
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
