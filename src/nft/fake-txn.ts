/**
 * One transaction of the in-memory nft (fake.ts): the commands of a script or of one `nft -i`
 * line, run in order on a copy of the state. Two kinds of failure, as with the real nft:
 * nft's own (syntax, an unknown set or table, a datatype mismatch, a bad element, an overlapping
 * plain interval) stops everything before the kernel sees anything; a kernel one (an element that
 * exists with other data or overlaps, a missing element, chain or table, a re-declaration that
 * differs, an object still in use) fails the whole batch, and nft reports it only when nothing
 * failed on its side. Either way the caller keeps the old state: the transaction is atomic.
 *
 * Objects as Linux 6.18 and nft 1.0.6 keep them (checked in a namespace): re-declaring a set with
 * the same type and flags keeps it and its elements (a new size or timeout is taken), one with
 * another type or flags fails ("File exists"); a base chain's policy may change, its hook may not;
 * a table block's rules are appended to its chains; `flush table` empties the chains and keeps
 * the sets; a set, chain or counter a rule refers to cannot be deleted ("Device or resource
 * busy"). Element changes: fake-elements.ts.
 */
import { addElements, deleteElements, type ElementContext } from './fake-elements.ts';
import { compileRule } from './fake-rules.ts';
import {
  copyRuleset,
  findSet,
  findTable,
  isLive,
  nearSet,
  nextHandle,
  tableId,
  type FakeElement,
  type FakeRuleset,
  type FakeSet,
  type FakeTable,
} from './fake-state.ts';
import type { ChainSpec, SetSpec, TableItem } from './fake-declarations.ts';
import type { Command } from './fake-syntax.ts';
import type { Token } from './fake-tokens.ts';
import { NftInputError, TYPES, typeDesc } from './fake-values.ts';

export interface TxnFailure {
  /** nft's message, after `Error: `. */
  message: string;
  /** The command it belongs to. */
  command: string;
}

const FLAG_ORDER = ['constant', 'dynamic', 'interval', 'timeout'];
const NOT_FOUND = 'No such file or directory';

export class FakeTransaction implements ElementContext {
  readonly work: FakeRuleset;
  readonly now: number;
  private readonly owned = new WeakSet<FakeSet>();
  private kernelError: TxnFailure | null = null;
  private current = '';

  constructor(state: FakeRuleset, now: number) {
    this.work = copyRuleset(state);
    this.now = now;
  }

  /** Runs the commands; the failure nft reports (its own first, else the kernel's), or null. */
  run(commands: readonly Command[]): TxnFailure | null {
    for (const cmd of commands) {
      this.current = cmd.text;
      try {
        this.command(cmd);
      } catch (err) {
        if (err instanceof NftInputError) return { message: err.message, command: cmd.text };
        throw err;
      }
    }
    return this.kernelError;
  }

  kernel(message: string): void {
    this.kernelError ??= { message: `Could not process rule: ${message}`, command: this.current };
  }

  /** The set's elements, copied once per transaction (expired ones dropped on the way). */
  own(s: FakeSet): Map<string, FakeElement> {
    if (!this.owned.has(s)) {
      s.elements = new Map([...s.elements].filter(([, e]) => isLive(e, this.now)));
      this.owned.add(s);
    }
    return s.elements;
  }

  private command(cmd: Command): void {
    switch (cmd.kind) {
      case 'table':
        this.tableBlock(cmd.family, cmd.table, cmd.items);
        break;
      case 'element': {
        const s = findSet(findTable(this.work, cmd.family, cmd.table, true), cmd.set, undefined, true);
        if (cmd.op === 'delete') deleteElements(this, s, cmd.elements);
        else addElements(this, s, cmd.elements, cmd.op);
        break;
      }
      case 'rule': {
        const t = findTable(this.work, cmd.family, cmd.table, true);
        if (!t.chains.has(cmd.chain)) throw new NftInputError(NOT_FOUND);
        this.addRule(t, cmd.chain, cmd.rule.tokens, cmd.rule.text);
        break;
      }
      case 'flush':
        this.flush(cmd);
        break;
      case 'delete':
        this.delete(cmd);
        break;
      case 'list':
        throw new NftInputError('syntax error, a list command in a transaction');
    }
  }

  private tableBlock(family: string, name: string, items: readonly TableItem[]): void {
    const id = tableId(family, name);
    let t = this.work.tables.get(id);
    if (!t) {
      t = {
        family,
        name,
        handle: this.work.nextTableHandle++,
        nextHandle: 1,
        sets: new Map(),
        chains: new Map(),
        counters: new Map(),
      };
      this.work.tables.set(id, t);
    }
    // nft sends a block's chains first, then its objects, its sets, the rules, the elements.
    for (const item of items) if (item.kind === 'chain') this.declareChain(t, item);
    for (const item of items)
      if (item.kind === 'counter' && !t.counters.has(item.name)) {
        t.counters.set(item.name, {
          name: item.name,
          handle: nextHandle(t),
          comment: item.comment,
          packets: 0,
          bytes: 0,
        });
      }
    for (const item of items) if (item.kind === 'set') this.declareSet(t, item);
    for (const item of items)
      if (item.kind === 'chain') for (const rule of item.rules) this.addRule(t, item.name, rule.tokens, rule.text);
    for (const item of items)
      if (item.kind === 'set' && item.elements.length > 0)
        addElements(this, t.sets.get(item.name)!, item.elements, 'add');
  }

  private declareChain(t: FakeTable, spec: ChainSpec): void {
    const old = t.chains.get(spec.name);
    const base = spec.base ? { ...spec.base, policy: spec.base.policy ?? 'accept' } : undefined;
    if (!old) {
      t.chains.set(spec.name, { name: spec.name, handle: nextHandle(t), base, rules: [] });
    } else if (spec.base) {
      const same =
        old.base &&
        old.base.type === spec.base.type &&
        old.base.hook === spec.base.hook &&
        old.base.prio === spec.base.prio;
      if (!same) this.kernel('Operation not supported');
      else if (spec.base.policy) old.base = { ...old.base!, policy: spec.base.policy };
    }
  }

  private declareSet(t: FakeTable, spec: SetSpec): void {
    for (const type of [...spec.keyTypes, ...(spec.dataType ? [spec.dataType] : [])]) {
      if (!Object.hasOwn(TYPES, type)) throw new NftInputError(`unknown datatype ${type}`);
    }
    const unknown = spec.flags.find((f) => !FLAG_ORDER.includes(f));
    if (unknown) throw new NftInputError(`syntax error, unexpected ${unknown}`);
    const flags = FLAG_ORDER.filter((f) => spec.flags.includes(f));
    if (spec.autoMerge && !flags.includes('interval'))
      throw new NftInputError('auto-merge only works with interval sets');
    const old = t.sets.get(spec.name);
    if (!old) {
      const s: FakeSet = {
        name: spec.name,
        kind: spec.setKind,
        handle: nextHandle(t),
        keyTypes: spec.keyTypes,
        dataType: spec.dataType,
        flags,
        size: spec.size,
        timeoutMs: spec.timeoutMs,
        autoMerge: spec.autoMerge,
        counter: spec.counter,
        elements: new Map(),
      };
      this.owned.add(s);
      t.sets.set(spec.name, s);
      return;
    }
    const same =
      old.kind === spec.setKind &&
      old.keyTypes.join('.') === spec.keyTypes.join('.') &&
      old.dataType === spec.dataType &&
      old.flags.join(',') === flags.join(',') &&
      old.counter === spec.counter;
    if (!same) {
      this.kernel('File exists');
      return;
    }
    if (spec.size !== undefined) old.size = spec.size;
    if (spec.timeoutMs !== undefined) old.timeoutMs = spec.timeoutMs;
  }

  private addRule(t: FakeTable, chain: string, tokens: readonly Token[], text: string): void {
    const compiled = compileRule(tokens);
    for (const use of compiled.sets) {
      const s = t.sets.get(use.name);
      if (!s) throw new NftInputError(NOT_FOUND);
      const known = use.types.every((x) => x !== null);
      if (known && use.types.join('.') !== s.keyTypes.join('.')) {
        throw new NftInputError(
          `datatype mismatch, expected ${typeDesc(use.types as string[])}, expression has type ${typeDesc(s.keyTypes)}`,
        );
      }
    }
    for (const c of compiled.chains) if (!t.chains.has(c)) throw new NftInputError(NOT_FOUND);
    for (const c of compiled.counters) if (!t.counters.has(c)) throw new NftInputError(NOT_FOUND);
    t.chains.get(chain)!.rules.push({ handle: nextHandle(t), text, ...compiled });
  }

  private flush(cmd: Extract<Command, { kind: 'flush' }>): void {
    if (cmd.what === 'ruleset') {
      this.work.tables.clear();
    } else if (cmd.what === 'set' || cmd.what === 'map') {
      const s = findSet(findTable(this.work, cmd.family, cmd.table, true), cmd.name, cmd.what, true);
      s.elements = new Map();
      this.owned.add(s);
    } else {
      const t = this.work.tables.get(tableId(cmd.family, cmd.table));
      const chains = cmd.what === 'table' ? [...(t?.chains.values() ?? [])] : [t?.chains.get(cmd.name)];
      if (!t || chains.includes(undefined)) this.kernel(NOT_FOUND);
      else for (const c of chains) c!.rules = [];
    }
  }

  private delete(cmd: Extract<Command, { kind: 'delete' }>): void {
    const id = tableId(cmd.family, cmd.table);
    const t = this.work.tables.get(id);
    if (!t) this.kernel(NOT_FOUND);
    else if (cmd.what === 'table') this.work.tables.delete(id);
    else this.deleteObject(t, cmd.what, cmd.name);
  }

  /** A set, map, chain or counter: a missing one, or one a rule refers to, fails in the kernel. */
  private deleteObject(t: FakeTable, what: 'set' | 'map' | 'chain' | 'counter', name: string): void {
    const rules = [...t.chains.values()].flatMap((c) => c.rules);
    let exists: boolean;
    let inUse: boolean;
    let remove: () => void;
    if (what === 'set' || what === 'map') {
      exists = t.sets.get(name)?.kind === what;
      // nft looks the set up itself only to suggest a near name; else the kernel finds it missing.
      if (!exists && nearSet(t, name, what)) findSet(t, name, what, true);
      inUse = rules.some((r) => r.sets.some((u) => u.name === name));
      remove = () => t.sets.delete(name);
    } else {
      const objects = what === 'chain' ? t.chains : t.counters;
      exists = objects.has(name);
      inUse = rules.some((r) => (what === 'chain' ? r.chains : r.counters).includes(name));
      remove = () => objects.delete(name);
    }
    if (!exists) this.kernel(NOT_FOUND);
    else if (inUse) this.kernel('Device or resource busy');
    else remove();
  }
}
