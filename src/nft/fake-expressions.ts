/**
 * Expressions of the in-memory nft's rules (fake-rules.ts): a token reader, selectors (`ip saddr`,
 * `meta l4proto`, `ct state`, `jhash ...`), concatenations, and right-hand values (words, flags,
 * anonymous sets), read into the JSON shapes `nft -j` prints, each with the key types nft checks
 * against a referenced set. Pure.
 */
import type { Token } from './fake-tokens.ts';
import { NftInputError } from './fake-values.ts';

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
  pkttype: null,
};
const CT: Record<string, string | null> = { state: null, status: null, mark: 'mark', direction: null };
const META_SHORT = new Set(['iif', 'iifname', 'oif', 'oifname']);

export interface Expr {
  json: unknown;
  types: Array<string | null>;
  /** ct state and tcp flags match with `in` when no operator is written. */
  flagLike: boolean;
}

export class RuleReader {
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
export function selector(r: RuleReader): Expr | null {
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

/**
 * `a . b . c` of selectors. `constants`: later parts may be constants (`ip saddr . 7003` in a set
 * statement's key), of a type the fake does not know.
 */
export function expression(r: RuleReader, constants = false): Expr | null {
  const first = selector(r);
  if (!first) return null;
  const parts = [first];
  while (r.is('.')) {
    r.next();
    const constant = constants && r.peek()?.kind === 'word' && /^[\w:./-]+$/.test(r.peek()!.text);
    const p = selector(r) ?? (constant ? { json: scalar(r.word()), types: [null], flagLike: false } : null);
    if (!p) throw new NftInputError(`syntax error, unexpected "${r.peek()?.text ?? 'end of rule'}" in a concatenation`);
    parts.push(p);
  }
  if (parts.length === 1) return first;
  return { json: { concat: parts.map((p) => p.json) }, types: parts.flatMap((p) => p.types), flagLike: false };
}

export function scalar(text: string): unknown {
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
export function value(r: RuleReader): unknown {
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
