/**
 * `list` for the in-memory nft (fake.ts), in the shapes nft 1.0.6 prints: `-j` JSON (metainfo,
 * then per table: the table, its counters, sets and maps, chains, then the chains' rules), and a
 * text listing close to nft's (rules printed as written). Expired elements are not
 * listed; `expires` is the whole seconds left, as nft prints it. Pure.
 */
import type { Command } from './fake-syntax.ts';
import {
  findTable,
  isLive,
  type FakeChain,
  type FakeCounter,
  type FakeElement,
  type FakeRuleset,
  type FakeSet,
  type FakeTable,
} from './fake-state.ts';
import { formatDuration, keyJson, keyText, NftInputError } from './fake-values.ts';

export const METAINFO = { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } };

type ListCommand = Extract<Command, { kind: 'list' }>;

export interface ListOptions {
  now: number;
  /** `-t`: sets without their elements. */
  terse: boolean;
}

function elementJson(s: FakeSet, e: FakeElement, now: number): unknown {
  const val = keyJson(s.keyTypes, e.key);
  const withTime =
    e.timeoutMs === null && !s.counter
      ? val
      : {
          elem: {
            val,
            ...(e.timeoutMs === null ? {} : { timeout: Math.floor(e.timeoutMs / 1000) }),
            ...(e.expiresAt === null ? {} : { expires: Math.floor((e.expiresAt - now) / 1000) }),
            ...(s.counter ? { counter: { packets: 0, bytes: 0 } } : {}),
          },
        };
  return s.kind === 'map' ? [withTime, e.data] : withTime;
}

function liveElements(s: FakeSet, now: number): FakeElement[] {
  const out = [...s.elements.values()].filter((e) => isLive(e, now));
  // A plain interval set lists in address order.
  if (s.flags.includes('interval') && s.keyTypes.length === 1)
    out.sort((a, b) => (a.key[0]!.lo < b.key[0]!.lo ? -1 : 1));
  return out;
}

function setJson(t: FakeTable, s: FakeSet, o: ListOptions): unknown {
  const type = s.keyTypes.length === 1 ? s.keyTypes[0] : s.keyTypes;
  const flags = s.flags.filter((f) => f !== 'dynamic');
  const elem = o.terse ? [] : liveElements(s, o.now).map((e) => elementJson(s, e, o.now));
  return {
    [s.kind]: {
      family: t.family,
      name: s.name,
      table: t.name,
      type,
      handle: s.handle,
      ...(s.kind === 'map' ? { map: s.dataType } : {}),
      ...(s.size === undefined ? {} : { size: s.size }),
      ...(flags.length > 0 ? { flags } : {}),
      ...(s.timeoutMs === undefined ? {} : { timeout: Math.floor(s.timeoutMs / 1000) }),
      ...(elem.length > 0 ? { elem } : {}),
      ...(s.counter ? { stmt: [{ counter: null }] } : {}),
    },
  };
}

function counterJson(t: FakeTable, c: FakeCounter): unknown {
  return {
    counter: {
      family: t.family,
      name: c.name,
      table: t.name,
      handle: c.handle,
      ...(c.comment === undefined ? {} : { comment: c.comment }),
      packets: c.packets,
      bytes: c.bytes,
    },
  };
}

function chainJson(t: FakeTable, c: FakeChain): unknown[] {
  const base = c.base ? { type: c.base.type, hook: c.base.hook, prio: c.base.prio, policy: c.base.policy } : {};
  return [
    { chain: { family: t.family, table: t.name, name: c.name, handle: c.handle, ...base } },
    ...c.rules.map((r) => ({
      rule: { family: t.family, table: t.name, chain: c.name, handle: r.handle, expr: r.expr },
    })),
  ];
}

function tableJson(t: FakeTable, o: ListOptions): unknown[] {
  const chains = [...t.chains.values()].map((c) => chainJson(t, c));
  return [
    { table: { family: t.family, name: t.name, handle: t.handle } },
    ...[...t.counters.values()].map((c) => counterJson(t, c)),
    ...[...t.sets.values()].map((s) => setJson(t, s, o)),
    ...chains.map((c) => c[0]),
    ...chains.flatMap((c) => c.slice(1)),
  ];
}

function findChain(t: FakeTable, name: string): FakeChain {
  const c = t.chains.get(name);
  if (!c) throw new NftInputError('No such file or directory');
  return c;
}

function findListedSet(t: FakeTable, name: string, kind: string): FakeSet {
  const s = t.sets.get(name);
  if (!s || s.kind !== kind) throw new NftInputError('No such file or directory');
  return s;
}

/** The objects `nft -j list ...` prints (after metainfo). Throws NftInputError. */
export function listJson(state: FakeRuleset, cmd: ListCommand, o: ListOptions): unknown[] {
  const tables = [...state.tables.values()];
  if (cmd.what === 'ruleset') return tables.flatMap((t) => tableJson(t, o));
  if (cmd.what === 'tables')
    return tables.map((t) => ({ table: { family: t.family, name: t.name, handle: t.handle } }));
  if (cmd.what === 'counters' && cmd.table === undefined)
    return tables.flatMap((t) => [...t.counters.values()].map((c) => counterJson(t, c)));
  const t = findTable(state, cmd.family!, cmd.table!, false);
  switch (cmd.what) {
    case 'table':
      return tableJson(t, o);
    case 'counters':
      return [...t.counters.values()].map((c) => counterJson(t, c));
    case 'chain':
      return chainJson(t, findChain(t, cmd.name!));
    case 'set':
    case 'map':
      return [setJson(t, findListedSet(t, cmd.name!, cmd.what), o)];
    default:
      throw new NftInputError(`syntax error, unexpected "${cmd.what}"`);
  }
}

function setText(s: FakeSet, o: ListOptions): string[] {
  const lines = [
    `\t${s.kind} ${s.name} {`,
    `\t\ttype ${s.keyTypes.join(' . ')}${s.kind === 'map' ? ` : ${s.dataType}` : ''}`,
  ];
  if (s.size !== undefined) lines.push(`\t\tsize ${s.size}`);
  if (s.flags.length > 0) lines.push(`\t\tflags ${s.flags.join(',')}`);
  if (s.timeoutMs !== undefined) lines.push(`\t\ttimeout ${formatDuration(s.timeoutMs)}`);
  if (s.counter) lines.push('\t\tcounter');
  const els = o.terse
    ? []
    : liveElements(s, o.now).map((e) => {
        let text = keyText(s.keyTypes, e.key);
        if (s.counter) text += ' counter packets 0 bytes 0';
        if (e.timeoutMs !== null) text += ` timeout ${formatDuration(e.timeoutMs)}`;
        if (e.expiresAt !== null) text += ` expires ${formatDuration(e.expiresAt - o.now)}`;
        return s.kind === 'map' ? `${text} : 0x${(e.data ?? 0).toString(16).padStart(8, '0')}` : text;
      });
  if (els.length > 0) lines.push(`\t\telements = { ${els.join(',\n\t\t\t     ')} }`);
  lines.push('\t}');
  return lines;
}

const PRIORITY_NAMES: Record<number, string> = {
  [-300]: 'raw',
  [-150]: 'mangle',
  [-100]: 'dstnat',
  0: 'filter',
  50: 'security',
  100: 'srcnat',
};

function chainText(c: FakeChain): string[] {
  const lines = [`\tchain ${c.name} {`];
  if (c.base)
    lines.push(
      `\t\ttype ${c.base.type} hook ${c.base.hook} priority ${PRIORITY_NAMES[c.base.prio] ?? c.base.prio}; policy ${c.base.policy};`,
    );
  for (const r of c.rules) lines.push(`\t\t${r.text}`);
  lines.push('\t}');
  return lines;
}

function counterText(c: FakeCounter): string[] {
  return [
    `\tcounter ${c.name} {`,
    ...(c.comment === undefined ? [] : [`\t\tcomment "${c.comment}"`]),
    `\t\tpackets ${c.packets} bytes ${c.bytes}`,
    '\t}',
  ];
}

function tableText(t: FakeTable, blocks: string[][]): string {
  return `table ${t.family} ${t.name} {\n${blocks.map((b) => b.join('\n')).join('\n\n')}${blocks.length > 0 ? '\n' : ''}}\n`;
}

function wholeTable(t: FakeTable, o: ListOptions): string {
  return tableText(t, [
    ...[...t.counters.values()].map(counterText),
    ...[...t.sets.values()].map((s) => setText(s, o)),
    ...[...t.chains.values()].map(chainText),
  ]);
}

/** What `nft list ...` prints. Throws NftInputError. */
export function listText(state: FakeRuleset, cmd: ListCommand, o: ListOptions): string {
  const tables = [...state.tables.values()];
  if (cmd.what === 'ruleset') return tables.map((t) => wholeTable(t, o)).join('');
  if (cmd.what === 'tables') return tables.map((t) => `table ${t.family} ${t.name}\n`).join('');
  if (cmd.what === 'counters' && cmd.table === undefined)
    return tables.map((t) => tableText(t, [...t.counters.values()].map(counterText))).join('');
  const t = findTable(state, cmd.family!, cmd.table!, false);
  switch (cmd.what) {
    case 'table':
      return wholeTable(t, o);
    case 'counters':
      return tableText(t, [...t.counters.values()].map(counterText));
    case 'chain':
      return tableText(t, [chainText(findChain(t, cmd.name!))]);
    case 'set':
    case 'map':
      return tableText(t, [setText(findListedSet(t, cmd.name!, cmd.what), o)]);
    default:
      throw new NftInputError(`syntax error, unexpected "${cmd.what}"`);
  }
}
