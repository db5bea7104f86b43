/**
 * The nft language as nftsentry writes it, read by the in-memory nft (fake.ts): table blocks
 * declaring sets, maps, counters and chains with their rules; `add|create|delete element`;
 * `flush`, `delete` and `add rule`; `list`. Anything else is a syntax error, as it would be for a
 * statement nft does not know: the fake refuses rather than guesses. Pure.
 */
import {
  elementList,
  ruleItem,
  tableBody,
  type ElementSpec,
  type RuleSpec,
  type TableItem,
} from './fake-declarations.ts';
import { Reader, tokenize, unexpected } from './fake-tokens.ts';
import { NftInputError } from './fake-values.ts';

interface Located {
  /** The command's source text, for error messages and the transaction record. */
  text: string;
  line: number;
}

export type Command = Located &
  (
    | { kind: 'table'; family: string; table: string; items: TableItem[] }
    | {
        kind: 'element';
        op: 'add' | 'create' | 'delete';
        family: string;
        table: string;
        set: string;
        elements: ElementSpec[];
      }
    | { kind: 'flush'; what: 'ruleset' }
    | { kind: 'flush'; what: 'table'; family: string; table: string }
    | { kind: 'flush'; what: 'chain' | 'set' | 'map'; family: string; table: string; name: string }
    | { kind: 'delete'; what: 'table'; family: string; table: string }
    | { kind: 'delete'; what: 'chain' | 'set' | 'map' | 'counter'; family: string; table: string; name: string }
    | { kind: 'rule'; family: string; table: string; chain: string; rule: RuleSpec }
    | { kind: 'list'; what: string; family?: string; table?: string; name?: string }
  );

const FAMILIES = new Set(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']);

/** `[FAMILY] NAME`: nft takes family `ip` when none is named. */
function familyAndTable(r: Reader): { family: string; table: string } {
  const first = r.word();
  if (FAMILIES.has(first) && !r.atItemEnd() && !r.is('{')) return { family: first, table: r.word() };
  return { family: 'ip', table: first };
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
    return what === 'table' || what === 'counters'
      ? { kind: 'list', what, ...ft }
      : { kind: 'list', what, ...ft, name: r.word() };
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
  if (verb === 'flush' && (what === 'chain' || what === 'set' || what === 'map'))
    return { kind: 'flush', what, ...familyAndTable(r), name: r.word() };
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
