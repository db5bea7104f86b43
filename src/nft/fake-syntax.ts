/**
 * The nft language as nftsentry writes it, read by the in-memory nft (fake.ts): table blocks
 * declaring sets, maps, counters and chains with their rules; `add|create|delete element`;
 * `flush`, `delete` and `add rule`; `list`. Anything else is a syntax error, as it would be for a
 * statement nft does not know: the fake refuses rather than guesses. Pure.
 */
import { Reader, tokenize, unexpected, type Token } from './fake-tokens.ts';
import { NftInputError, parseDuration } from './fake-values.ts';

export interface ElementSpec {
  parts: string[];
  timeoutMs?: number;
  expiresMs?: number;
  data?: string;
}

export interface SetSpec {
  kind: 'set';
  setKind: 'set' | 'map';
  name: string;
  keyTypes: string[];
  dataType?: string;
  flags: string[];
  size?: number;
  timeoutMs?: number;
  autoMerge: boolean;
  elements: ElementSpec[];
}

export interface BaseChainSpec {
  type: string;
  hook: string;
  prio: number;
  policy?: string;
}

export interface RuleSpec {
  tokens: Token[];
  text: string;
}

export interface ChainSpec {
  kind: 'chain';
  name: string;
  base?: BaseChainSpec;
  policy?: string;
  rules: RuleSpec[];
}

export interface CounterSpec {
  kind: 'counter';
  name: string;
  comment?: string;
}

export type TableItem = SetSpec | ChainSpec | CounterSpec;

interface Located {
  /** The command's source text, for error messages and the transaction record. */
  text: string;
  line: number;
}

export type Command = Located & (
  | { kind: 'table'; family: string; table: string; items: TableItem[] }
  | { kind: 'element'; op: 'add' | 'create' | 'delete'; family: string; table: string; set: string; elements: ElementSpec[] }
  | { kind: 'flush'; what: 'ruleset' }
  | { kind: 'flush'; what: 'table'; family: string; table: string }
  | { kind: 'flush'; what: 'chain' | 'set' | 'map'; family: string; table: string; name: string }
  | { kind: 'delete'; what: 'table'; family: string; table: string }
  | { kind: 'delete'; what: 'chain' | 'set' | 'map' | 'counter'; family: string; table: string; name: string }
  | { kind: 'rule'; family: string; table: string; chain: string; rule: RuleSpec }
  | { kind: 'list'; what: string; family?: string; table?: string; name?: string }
);

const FAMILIES = new Set(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']);
const PRIORITIES: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };

/** `[FAMILY] NAME`: nft takes family `ip` when none is named. */
function familyAndTable(r: Reader): { family: string; table: string } {
  const first = r.word();
  if (FAMILIES.has(first) && !r.atItemEnd() && !r.is('{')) return { family: first, table: r.word() };
  return { family: 'ip', table: first };
}

/** `{ element, element... }`: newlines inside are only spacing. */
function elementList(r: Reader): ElementSpec[] {
  r.expect('{');
  const out: ElementSpec[] = [];
  for (;;) {
    r.skipNewlines();
    if (r.is('}')) break;
    const el: ElementSpec = { parts: [r.word()] };
    while (r.is('.')) {
      r.next();
      el.parts.push(r.word());
    }
    for (r.skipNewlines(); !r.is(',') && !r.is('}'); r.skipNewlines()) {
      if (r.is(':')) {
        r.next();
        el.data = r.word();
        continue;
      }
      const key = r.word();
      if (key === 'timeout') el.timeoutMs = parseDuration(r.word());
      else if (key === 'expires') el.expiresMs = parseDuration(r.word());
      else if (key === 'comment') r.word();
      else throw new NftInputError(`syntax error, unexpected "${key}" in an element`);
    }
    out.push(el);
    if (r.is(',')) r.next();
  }
  r.expect('}');
  return out;
}

function setItem(r: Reader, setKind: 'set' | 'map'): SetSpec {
  const spec: SetSpec = { kind: 'set', setKind, name: r.word(), keyTypes: [], flags: [], autoMerge: false, elements: [] };
  r.expect('{');
  for (r.skipNewlines(); !r.is('}'); r.skipNewlines()) {
    const key = r.word();
    if (key === 'type') {
      spec.keyTypes.push(r.word());
      while (r.is('.')) {
        r.next();
        spec.keyTypes.push(r.word());
      }
      if (r.is(':')) {
        r.next();
        spec.dataType = r.word();
      }
    } else if (key === 'flags') {
      spec.flags.push(r.word());
      while (r.is(',')) {
        r.next();
        spec.flags.push(r.word());
      }
    } else if (key === 'size') spec.size = Number(r.word());
    else if (key === 'timeout') spec.timeoutMs = parseDuration(r.word());
    else if (key === 'gc-interval') parseDuration(r.word());
    else if (key === 'auto-merge') spec.autoMerge = true;
    else if (key === 'comment' || key === 'policy') r.word();
    else if (key === 'elements') {
      r.expect('=');
      spec.elements = elementList(r);
    } else throw new NftInputError(`syntax error, unexpected "${key}" in a set declaration`);
    r.endItem();
  }
  r.expect('}');
  if (spec.keyTypes.length === 0) throw new NftInputError(`set '${spec.name}' requires key datatype`);
  if ((setKind === 'map') !== (spec.dataType !== undefined)) throw new NftInputError(`syntax error in ${setKind} ${spec.name}: data type`);
  return spec;
}

/** One rule: its tokens up to a newline or `;` outside braces and parentheses. */
function ruleItem(r: Reader): RuleSpec {
  const tokens: Token[] = [];
  let depth = 0;
  while (r.peek() && (depth > 0 || !r.atItemEnd())) {
    const t = r.next();
    if (t.kind === 'nl') continue;
    if (t.kind === 'punct' && (t.text === '{' || t.text === '(')) depth++;
    if (t.kind === 'punct' && (t.text === '}' || t.text === ')')) depth--;
    tokens.push(t);
  }
  return { tokens, text: r.source.slice(tokens[0]!.start, tokens.at(-1)!.end) };
}

function chainItem(r: Reader): ChainSpec {
  const spec: ChainSpec = { kind: 'chain', name: r.word(), rules: [] };
  r.expect('{');
  for (r.skipNewlines(); !r.is('}'); r.skipNewlines()) {
    if (r.is(';')) {
      r.next();
      continue;
    }
    if (r.is('type')) {
      r.next();
      const type = r.word();
      r.expect('hook');
      const hook = r.word();
      r.expect('priority');
      const name = r.word();
      let prio = PRIORITIES[name] ?? Number(name);
      if (r.is('+') || r.is('-')) prio += (r.next().text === '+' ? 1 : -1) * Number(r.word());
      if (!Number.isInteger(prio)) throw new NftInputError(`syntax error, unknown priority "${name}"`);
      spec.base = { type, hook, prio };
    } else if (r.is('policy')) {
      r.next();
      spec.policy = r.word();
    } else {
      spec.rules.push(ruleItem(r));
    }
    r.endItem();
  }
  r.expect('}');
  if (spec.base && spec.policy) spec.base.policy = spec.policy;
  return spec;
}

function counterItem(r: Reader): CounterSpec {
  const spec: CounterSpec = { kind: 'counter', name: r.word() };
  if (!r.is('{')) return spec;
  r.next();
  for (r.skipNewlines(); !r.is('}'); r.skipNewlines()) {
    const key = r.word();
    if (key === 'comment') spec.comment = r.word();
    else if (key === 'packets') {
      r.word();
      r.expect('bytes');
      r.word();
    } else throw new NftInputError(`syntax error, unexpected "${key}" in a counter declaration`);
    r.endItem();
  }
  r.expect('}');
  return spec;
}

function tableBody(r: Reader): TableItem[] {
  const items: TableItem[] = [];
  r.expect('{');
  for (r.skipNewlines(); !r.is('}'); r.skipNewlines()) {
    const what = r.word();
    if (what === 'set' || what === 'map') items.push(setItem(r, what));
    else if (what === 'chain') items.push(chainItem(r));
    else if (what === 'counter') items.push(counterItem(r));
    else throw new NftInputError(`syntax error, unexpected "${what}" in a table block`);
    r.endItem();
  }
  r.expect('}');
  return items;
}

type Body = Command extends infer C ? (C extends unknown ? Omit<C, 'text' | 'line'> : never) : never;

function command(r: Reader): Body {
  const verb = r.word();
  if (verb === 'table') return { kind: 'table', ...familyAndTable(r), items: r.is('{') ? tableBody(r) : [] };
  if (verb === 'list') {
    const what = r.word();
    if (what === 'ruleset' || what === 'tables') return { kind: 'list', what };
    if (what === 'counters' && r.atItemEnd()) return { kind: 'list', what };
    if (what === 'counters') r.expect('table');
    const ft = familyAndTable(r);
    return what === 'table' || what === 'counters' ? { kind: 'list', what, ...ft } : { kind: 'list', what, ...ft, name: r.word() };
  }
  const what = r.word();
  if (verb === 'add' && what === 'table') return { kind: 'table', ...familyAndTable(r), items: [] };
  if (what === 'element' && (verb === 'add' || verb === 'create' || verb === 'delete')) {
    return { kind: 'element', op: verb, ...familyAndTable(r), set: r.word(), elements: elementList(r) };
  }
  if (verb === 'add' && what === 'rule') {
    const ft = familyAndTable(r);
    return { kind: 'rule', ...ft, chain: r.word(), rule: ruleItem(r) };
  }
  if (verb === 'flush' && what === 'ruleset') return { kind: 'flush', what };
  if (verb === 'flush' && what === 'table') return { kind: 'flush', what, ...familyAndTable(r) };
  if (verb === 'flush' && (what === 'chain' || what === 'set' || what === 'map')) return { kind: 'flush', what, ...familyAndTable(r), name: r.word() };
  if (verb === 'delete' && what === 'table') return { kind: 'delete', what, ...familyAndTable(r) };
  if (verb === 'delete' && (what === 'chain' || what === 'set' || what === 'map' || what === 'counter')) {
    return { kind: 'delete', what, ...familyAndTable(r), name: r.word() };
  }
  throw new NftInputError(`syntax error, unexpected "${verb} ${what}"`);
}

/** A script (or one `nft -i` line, or nft's joined arguments) -> its commands, in order. */
export function parseCommands(source: string): Command[] {
  const r = new Reader(source, tokenize(source));
  const out: Command[] = [];
  for (r.skipNewlines(); r.peek(); r.skipNewlines()) {
    if (r.is(';')) {
      r.next();
      continue;
    }
    const first = r.peek()!;
    const body = command(r);
    const last = r.tokens[r.pos - 1]!;
    out.push({ ...body, text: source.slice(first.start, last.end), line: first.line } as Command);
    r.endItem();
    if (r.is('}')) throw unexpected(r.next(), 'expecting end of file');
  }
  return out;
}
