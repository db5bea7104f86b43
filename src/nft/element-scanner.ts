/**
 * The elements of a set (or map) in `nft -j list set|map` output, read as the text comes in
 * pieces: each item of the set's `elem` array is cut out and parsed alone, so a listing of a
 * million elements never becomes one string nor one JSON tree (a 100k-element ban set is ~7 MB of
 * text and ~20 MB of parsed objects). Pure: text in, one JSON value per element out, in order.
 *
 * nft prints `{"nftables": [{"metainfo": {...}}, {"set": {..., "elem": [ITEM, ...]}}]}`, an ITEM
 * being a bare value (`"198.51.100.7"`, `{"prefix": ...}`, `{"concat": ...}`) or
 * `{"elem": {"val": ..., "timeout": N, "expires": N, "counter": {...}}}`; what an item holds is the
 * caller's to read. Only the `elem` array of an object at the set's depth is taken.
 */
import { ErrorCodes, NftsentryError } from '../errors.ts';

/** Depth of the set object: `{` nftables `[` `{` set `{`. */
const SET_DEPTH = 4;
const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const COMMA = 44;

const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;

function bad(why: string, cause?: unknown): NftsentryError {
  return new NftsentryError(ErrorCodes.NFT_FAILED, `nft -j printed something that is not a set listing: ${why}`, {
    ...(cause === undefined ? {} : { cause }),
  });
}

export class ElementScanner {
  private readonly onElement: (item: unknown) => void;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The text of the string being read outside the items (keys, names: short), so far. */
  private text = '';
  /** Where that string's text starts in the current piece. */
  private textFrom = 0;
  /** The last string read outside the items (the key before a `[`). */
  private lastString = '';
  /** Inside the `elem` array (items at SET_DEPTH + 1). */
  private inElems = false;
  /** The item being read: its text from earlier pieces; null between items. */
  private item: string | null = null;
  /** A bare number or literal item: ends at the next `,`, `]` or space. */
  private scalar = false;
  private elements = 0;
  /** A `{` was seen: the output is a JSON document at all. */
  private opened = false;
  private failed: { err: unknown } | null = null;

  constructor(onElement: (item: unknown) => void) {
    this.onElement = onElement;
  }

  /** Elements handed over so far. */
  get count(): number {
    return this.elements;
  }

  /**
   * The next piece of nft's output. Throws on text that is not a set listing (E_NFT_FAILED), or
   * what `onElement` threw; every later call throws the same.
   */
  push(piece: string): void {
    if (this.failed) throw this.failed.err;
    try {
      this.scan(piece);
    } catch (err) {
      this.failed = { err };
      throw err;
    }
  }

  /** The output is complete: throws unless it was one whole JSON document. */
  end(): void {
    if (this.failed) throw this.failed.err;
    if (!this.opened) throw bad('it is empty');
    if (this.depth !== 0 || this.inString || this.item !== null) throw bad('it ends early');
  }

  private scan(s: string): void {
    let itemFrom = this.item === null ? -1 : 0;
    if (this.item !== null) {
      s = this.item + s;
    }
    let i = this.item === null ? 0 : this.item.length;
    this.item = null;
    this.textFrom = 0;
    const n = s.length;
    const itemDepth = SET_DEPTH + 1;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (itemFrom < 0) {
            this.lastString = this.text + s.slice(this.textFrom, i);
            this.text = '';
          } else if (this.depth === itemDepth) {
            itemFrom = this.emit(s, itemFrom, i + 1);
          }
        }
        continue;
      }
      if (this.scalar) {
        if (c !== COMMA && c !== CLOSE_BRACKET && !isSpace(c)) continue;
        itemFrom = this.emit(s, itemFrom, i);
      }
      if (isSpace(c)) continue;
      if (this.inElems && this.depth === itemDepth && itemFrom < 0 && c !== COMMA && c !== CLOSE_BRACKET) {
        itemFrom = i;
        if (c !== QUOTE && c !== OPEN_BRACE && c !== OPEN_BRACKET) {
          this.scalar = true;
          continue;
        }
      }
      if (c === QUOTE) {
        this.inString = true;
        this.textFrom = i + 1;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (c === OPEN_BRACKET && this.depth === SET_DEPTH && this.lastString === 'elem' && !this.inElems)
          this.inElems = true;
        this.depth++;
        this.opened = true;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth < 0) throw bad('unbalanced brackets');
        if (this.inElems && this.depth === SET_DEPTH) this.inElems = false;
        else if (itemFrom >= 0 && this.depth === itemDepth) itemFrom = this.emit(s, itemFrom, i + 1);
      }
    }
    if (itemFrom >= 0) this.item = s.slice(itemFrom);
    else if (this.inString) this.text += s.slice(this.textFrom);
  }

  /** Parses the item s[from, to) and hands it over; returns -1 (no item under way). */
  private emit(s: string, from: number, to: number): number {
    this.scalar = false;
    let item: unknown;
    try {
      item = JSON.parse(s.slice(from, to));
    } catch (err) {
      throw bad('an element is not JSON', err);
    }
    this.elements++;
    this.onElement(item);
    return -1;
  }
}
