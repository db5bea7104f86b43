/**
 * The declarations of the in-memory nft's language (fake-syntax.ts reads the commands): element
 * lists, and the body of a table block (sets and maps, counters, chains with their rules). Pure.
 */
import type { Reader, Token } from './fake-tokens.ts';
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
  /** `counter;`: every element counts the packets and bytes it matched. */
  counter: boolean;
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

const PRIORITIES: Record<string, number> = {
  raw: -300,
  mangle: -150,
  dstnat: -100,
  filter: 0,
  security: 50,
  srcnat: 100,
};

/** `{ element, element... }`: newlines inside are only spacing. */
export function elementList(r: Reader): ElementSpec[] {
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
  const spec: SetSpec = {
    kind: 'set',
    setKind,
    name: r.word(),
    keyTypes: [],
    flags: [],
    autoMerge: false,
    counter: false,
    elements: [],
  };
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
    else if (key === 'counter') spec.counter = true;
    else if (key === 'comment' || key === 'policy') r.word();
    else if (key === 'elements') {
      r.expect('=');
      spec.elements = elementList(r);
    } else throw new NftInputError(`syntax error, unexpected "${key}" in a set declaration`);
    r.endItem();
  }
  r.expect('}');
  if (spec.keyTypes.length === 0) throw new NftInputError(`set '${spec.name}' requires key datatype`);
  if ((setKind === 'map') !== (spec.dataType !== undefined))
    throw new NftInputError(`syntax error in ${setKind} ${spec.name}: data type`);
  return spec;
}

/** One rule: its tokens up to a newline or `;` outside braces and parentheses. */
export function ruleItem(r: Reader): RuleSpec {
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

export function tableBody(r: Reader): TableItem[] {
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
