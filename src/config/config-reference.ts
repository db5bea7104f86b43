/**
 * The config reference (docs/config-reference.yaml): every key of the schema with its default and
 * what it does, generated from the schema's keys (schema-walk.ts) and their descriptions
 * (config-docs.ts). Pure. Its uncommented part is itself a valid config; keys that have no
 * default (and alternatives not used by default) are shown commented out.
 */
import { parse } from 'yaml';
import type { KeyDoc } from './config-docs.ts';
import { formatDurationMs } from './duration.ts';
import { formatDuration, isMsKey, type KeyInfo, type KeyKind } from './schema-walk.ts';

export interface Reference {
  text: string;
  /** Keys of the schema without a description. */
  undocumented: string[];
  /** Descriptions whose key is not in the schema. */
  unused: string[];
}

const HEADER = `# nftsentry configuration reference: every key, its default and what it does.
# Generated from the config schema by \`npm run config-reference\`; do not edit by hand.
# Keys left out take the default shown. Unknown or misspelt keys are errors.
# Durations: seconds, or 500ms, 90s, 15m, 1h, 7d, 1w, 1h30m. Addresses: IPv4 or IPv6, bare or CIDR, host
# bits clear (10.0.0.0/8, not 10.0.0.1/8). One YAML 1.2 document of at most 512 KiB; anchors and
# aliases work, merge keys (<<) and tags do not.
# Check a file with \`nftsentry -c FILE check\`; see its ruleset with \`nftsentry -c FILE render\`.
`;

const WIDTH = 100;

function wrap(text: string, indent: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + 2 + line.length + 1 + word.length > WIDTH) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out.map((l) => `${indent}# ${l}`);
}

/** A value as inline YAML: plain scalars where YAML reads them back unchanged, else quoted. */
/** Whether `v` written plain reads back as the same string. */
function parsesAs(v: string): boolean {
  try {
    return parse(v) === v;
  } catch {
    return false;
  }
}

export function inline(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(inline).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `{ ${Object.entries(v)
      .map(([k, x]) => `${k}: ${inline(x)}`)
      .join(', ')} }`;
  }
  if (typeof v === 'string') {
    // The pattern first: text such as `[2001:db8::1]:26379` is no YAML value at all (parse throws).
    const plain = v !== '' && !/^[-?,[\]{}#&*!|>'"%@` ]|[:,[\]{}]| #|\s$/.test(v) && parsesAs(v);
    return plain ? v : JSON.stringify(v);
  }
  return String(v);
}

class Renderer {
  readonly lines: string[] = [];
  readonly used = new Set<string>();
  readonly undocumented: string[] = [];
  private readonly docs: Record<string, KeyDoc>;
  constructor(docs: Record<string, KeyDoc>) {
    this.docs = docs;
  }

  /** The description of a key: its own entry, or the one for every variant (`[]`), merged. */
  doc(path: string): KeyDoc | undefined {
    const found: KeyDoc[] = [];
    for (const p of new Set([path, path.replace(/\[[a-z_]+\]/g, '[]')])) {
      const d = this.docs[p];
      if (d) {
        this.used.add(p);
        found.push(d);
      }
    }
    const text = found.find((d) => d.text)?.text;
    if (!text) {
      this.undocumented.push(path);
      return undefined;
    }
    return { text, example: found.find((d) => d.example !== undefined)?.example };
  }

  key(k: KeyInfo, indent: string, given: unknown, commented: boolean, item = false): void {
    const doc = this.doc(k.path);
    const value = given ?? k.default;
    const hint = this.hint(k);
    const off = commented || (value === undefined && !k.required);
    // An item's first key carries the list's dash; its description goes above the dash.
    const at = item ? indent.slice(0, -2) : indent;
    const lead = `${at}${off ? '# ' : ''}${item ? '- ' : ''}`;
    this.lines.push(
      ...wrap(`${doc?.text ?? ''}${hint ? ` (${hint})` : ''}`.trim(), item ? indent.slice(0, -2) : indent),
    );
    const s = k.shape;
    if (s.kind === 'object') {
      this.lines.push(`${lead}${k.name}:`);
      for (const child of s.keys) this.key(child, `${indent}  `, field(value, child.name), off);
    } else if (s.kind === 'array' && s.item.kind !== 'value' && s.item.kind !== 'array') {
      this.lines.push(`${lead}${k.name}:`);
      this.items(s.item, `${indent}  `, Array.isArray(value) ? value : [], off);
    } else if (isMsKey(k)) {
      // Written as a duration under the name without _ms (duration-keys.ts).
      const v = typeof value === 'number' ? formatDurationMs(value) : doc?.example;
      this.lines.push(`${lead}${k.name.slice(0, -3)}:${v === undefined ? '' : ` ${inline(v)}`}`);
    } else {
      const shown = shape(s) === 'duration' && typeof value === 'number' ? formatDuration(value) : value;
      const v = shown ?? doc?.example;
      this.lines.push(`${lead}${k.name}:${v === undefined ? '' : ` ${inline(v)}`}`);
    }
  }

  items(item: KeyKind, indent: string, values: unknown[], commented: boolean): void {
    const inner = `${indent}  `;
    if (item.kind === 'object') {
      for (const v of values.length ? values : [undefined]) {
        for (const [i, k] of item.keys.entries()) this.key(k, inner, field(v, k.name), commented, i === 0);
      }
    } else if (item.kind === 'variants') {
      for (const variant of item.variants) {
        const given = values.filter((v) => field(v, item.discriminator) === variant.value);
        for (const v of given.length ? given : [{ [item.discriminator]: variant.value }]) {
          const off = commented || given.length === 0;
          if (variant !== item.variants[0]) this.lines.push('');
          for (const [i, k] of variant.keys.entries()) this.key(k, inner, field(v, k.name), off, i === 0);
        }
      }
    }
  }

  hint(k: KeyInfo): string {
    const s = k.shape;
    if (s.kind !== 'value') return '';
    if (isMsKey(k)) return `duration, ${msRange(s.type)}`;
    const type = s.type === 'array' ? 'list' : s.type;
    return k.required ? `${type}; required` : type;
  }
}

/** `integer 0..10000` (milliseconds) -> `0s to 10s`. */
function msRange(type: string): string {
  const m = /(-?\d*)\.\.(-?\d*)$/.exec(type);
  if (!m) return 'in milliseconds';
  const [, min, max] = m;
  return `${min ? formatDurationMs(Number(min)) : ''} to ${max ? formatDurationMs(Number(max)) : ''}`.trim();
}

function field(v: unknown, name: string): unknown {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[name] : undefined;
}

function shape(s: KeyKind): string {
  return s.kind === 'value' ? s.type : s.kind;
}

export function renderReference(keys: KeyInfo[], docs: Record<string, KeyDoc>): Reference {
  const r = new Renderer(docs);
  for (const k of keys) {
    r.lines.push('');
    r.key(k, '', undefined, false);
  }
  return {
    text: `${HEADER}${r.lines.join('\n')}\n`,
    undocumented: r.undocumented,
    unused: Object.keys(docs).filter((p) => !r.used.has(p)),
  };
}
