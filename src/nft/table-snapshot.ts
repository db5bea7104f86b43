/**
 * The non-ban parts of `table inet nftsentry` as text, and the one transaction that puts them back
 * (`apply --confirm`'s rollback). Pure: the listing comes in, the script goes out.
 *
 * A snapshot is `nft -s list table inet nftsentry` (stateless: no counter values), the form
 * `nft list ruleset > file; nft -f file` relies on, so every rule re-parses as nft printed it. The
 * rollback script, against the table as it is now:
 *   - flushes every chain there is, deletes the chains the snapshot lacks (and a base chain whose
 *     type, hook or priority differs), then declares the snapshot's chains with their rules;
 *   - flushes the config sets (CONFIG_SETS) and declares them with the snapshot's elements;
 *   - declares any other object of the snapshot that is missing now, without elements;
 *   - never flushes, deletes or fills a ban set or scan reason map: their elements stay as they are.
 * No snapshot (there was no table before the apply): every chain is flushed and deleted, the sets
 * stay.
 */
import { CONFIG_SETS, TABLE, TABLE_FAMILY, TABLE_NAME } from './objects.ts';

/** One object of the table as the listing prints it. */
export interface TableBlock {
  /** `chain`, `set`, `map`, `counter`... */
  kind: string;
  name: string;
  /** The whole block, from its `kind name {` line to its closing brace. */
  text: string;
}

const BLOCK_START =
  /^\s*(chain|set|map|counter|quota|limit|flowtable|secmark|synproxy|ct helper|ct timeout|ct expectation)\s+("[^"]*"|\S+)\s*\{/;

/** Braces opened minus closed on one line, outside double-quoted strings. */
function braceDelta(line: string): number {
  let delta = 0;
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '{') delta++;
    else if (!quoted && ch === '}') delta--;
  }
  return delta;
}

/**
 * The blocks of `table inet nftsentry` in a listing; null when the listing has no such table.
 * Throws on a listing that does not close its braces (not nft's output).
 */
export function parseTableListing(listing: string): TableBlock[] | null {
  const lines = listing.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^table ${TABLE_FAMILY} ${TABLE_NAME} \\{\\s*$`).test(l));
  if (start < 0) return null;
  const blocks: TableBlock[] = [];
  let depth = 1;
  let current: { kind: string; name: string; lines: string[] } | null = null;
  for (const line of lines.slice(start + 1)) {
    if (depth === 1 && !current) {
      if (/^\s*\}\s*$/.test(line)) return blocks;
      const m = BLOCK_START.exec(line);
      if (m) current = { kind: m[1]!, name: m[2]!.replace(/^"|"$/g, ''), lines: [] };
    }
    depth += braceDelta(line);
    if (current) {
      current.lines.push(line);
      if (depth === 1) {
        blocks.push({ kind: current.kind, name: current.name, text: current.lines.join('\n') });
        current = null;
      }
    }
    if (depth < 1) throw new Error('table listing: unbalanced braces');
  }
  throw new Error(`table listing: table ${TABLE} not closed`);
}

const CONFIG: ReadonlySet<string> = new Set(CONFIG_SETS);

/** The block without its `elements = { ... }` (which may span lines). */
export function withoutElements(text: string): string {
  const at = text.indexOf('elements = {');
  if (at < 0) return text;
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) {
      const lineStart = text.lastIndexOf('\n', at) + 1;
      const before = text.slice(0, at).trim() === '' ? '' : text.slice(0, lineStart);
      return before + text.slice(text.indexOf('\n', i) + 1);
    }
  }
  return text;
}

/**
 * The listing with the elements of every set but the config sets removed: what a rollback reads
 * of a snapshot, without the bans and meters (which may be many). Pure.
 */
export function compactSnapshot(listing: string): string {
  const blocks = parseTableListing(listing);
  if (!blocks) return listing;
  let out = listing;
  for (const b of blocks) {
    if ((b.kind === 'set' || b.kind === 'map') && !CONFIG.has(b.name))
      out = out.replace(b.text, () => withoutElements(b.text));
  }
  return out;
}

/** A chain's `type ... hook ... priority ...;` (its policy aside); null for a regular chain. */
export function chainHook(block: TableBlock): string | null {
  const m = /^\s*(type [^;]*;)/m.exec(block.text.split('\n').slice(1).join('\n'));
  return m ? m[1]!.replace(/\s+/g, ' ') : null;
}

const key = (b: TableBlock) => `${b.kind} ${b.name}`;

/**
 * The script that puts the snapshot's chains, rules and config sets back over `current` (both
 * listings; `snapshot` null: there was no table). Empty when there is nothing to do.
 */
export function rollbackScript(snapshot: string | null, current: string | null): string {
  const before = snapshot === null ? null : parseTableListing(snapshot);
  const now = current === null ? [] : (parseTableListing(current) ?? []);
  const nowByKey = new Map(now.map((b) => [key(b), b]));
  const beforeByKey = new Map((before ?? []).map((b) => [key(b), b]));
  const chainsNow = now.filter((b) => b.kind === 'chain');
  const out: string[] = [];
  for (const c of chainsNow) out.push(`flush chain ${TABLE} ${c.name}`);
  for (const c of chainsNow) {
    const was = beforeByKey.get(key(c));
    if (!was || chainHook(was) !== chainHook(c)) out.push(`delete chain ${TABLE} ${c.name}`);
  }
  if (before === null) return out.length ? `${out.join('\n')}\n` : '';
  const declared: string[] = [];
  for (const b of before) {
    if (b.kind === 'chain') continue;
    const present = nowByKey.has(key(b));
    if (b.kind === 'set' && CONFIG.has(b.name)) {
      if (present) out.push(`flush set ${TABLE} ${b.name}`);
      declared.push(b.text);
    } else if (!present) {
      declared.push(b.kind === 'counter' ? b.text : withoutElements(b.text));
    }
  }
  for (const b of before) if (b.kind === 'chain') declared.push(b.text);
  const table = [`table ${TABLE} {`, ...declared, '}'].join('\n');
  return `${[...out, table].join('\n')}\n`;
}
