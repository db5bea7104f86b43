/**
 * Reading nft's language for the in-memory nft (fake-syntax.ts): tokens (words such as
 * addresses, prefixes, `0-255`, `@set` and `1/second`; quoted strings; punctuation; newlines,
 * which end a statement outside braces) and a reader over them that fails as nft's parser does,
 * with "syntax error". Pure.
 */
import { NftInputError } from './fake-values.ts';

export interface Token {
  kind: 'word' | 'string' | 'punct' | 'nl';
  text: string;
  start: number;
  end: number;
  line: number;
}

const PUNCT = new Set(['{', '}', '(', ')', ',', ';', '|', '&', '=']);
const WORD_END = /[\s{}(),;|&="#]/;

/** Words (addresses, prefixes, `0-255`, `@set`, `1/second`), strings, punctuation, newlines. */
export function tokenize(source: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\n') {
      out.push({ kind: 'nl', text: '\n', start: i, end: i + 1, line });
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < source.length && source[i] !== '\n') i++;
    } else if ((c === '!' || c === '=') && source[i + 1] === '=') {
      out.push({ kind: 'punct', text: `${c}=`, start: i, end: i + 2, line });
      i += 2;
    } else if (PUNCT.has(c)) {
      out.push({ kind: 'punct', text: c, start: i, end: i + 1, line });
      i++;
    } else if (c === '"') {
      const close = source.indexOf('"', i + 1);
      if (close < 0 || source.slice(i, close).includes('\n'))
        throw new NftInputError('syntax error, unterminated string');
      out.push({ kind: 'string', text: source.slice(i + 1, close), start: i, end: close + 1, line });
      i = close + 1;
    } else {
      let j = i;
      while (j < source.length && !WORD_END.test(source[j]!)) j++;
      const text = source.slice(i, j);
      // A lone `.` joins a concatenation and a lone `:` introduces map data.
      out.push({ kind: text === '.' || text === ':' ? 'punct' : 'word', text, start: i, end: j, line });
      i = j;
    }
  }
  return out;
}

export class Reader {
  pos = 0;
  readonly source: string;
  readonly tokens: Token[];

  constructor(source: string, tokens: Token[]) {
    this.source = source;
    this.tokens = tokens;
  }

  peek(offset = 0): Token | undefined {
    return this.tokens[this.pos + offset];
  }

  next(): Token {
    const t = this.tokens[this.pos++];
    if (!t) throw new NftInputError('syntax error, unexpected end of file');
    return t;
  }

  is(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t !== undefined && t.kind !== 'string' && t.text === text;
  }

  expect(text: string): Token {
    const t = this.next();
    if (t.kind === 'string' || t.text !== text) throw unexpected(t, `expecting "${text}"`);
    return t;
  }

  word(): string {
    const t = this.next();
    if (t.kind !== 'word' && t.kind !== 'string') throw unexpected(t, 'expecting string');
    return t.text;
  }

  skipNewlines(): void {
    while (this.peek()?.kind === 'nl') this.pos++;
  }

  /** True at the end of an item: a newline, `;`, `}` or the end. */
  atItemEnd(): boolean {
    const t = this.peek();
    return !t || t.kind === 'nl' || (t.kind === 'punct' && (t.text === ';' || t.text === '}'));
  }

  endItem(): void {
    if (!this.atItemEnd()) throw unexpected(this.peek()!, 'expecting end of statement');
    if (this.peek() && !this.is('}')) this.pos++;
  }
}

export function unexpected(t: Token, what: string): NftInputError {
  const name = t.kind === 'nl' ? 'newline' : t.kind === 'string' ? 'quoted string' : `"${t.text}"`;
  return new NftInputError(`syntax error, unexpected ${name}, ${what}`);
}
