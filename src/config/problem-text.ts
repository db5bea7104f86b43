/**
 * How a config problem is written for people: a key path, a value quoted from the file, and the
 * line as a whole. Text from the file can be anything (megabytes, escape sequences that drive a
 * terminal, lone surrogates), so every piece of it is escaped and shortened before it is shown.
 */
import { ErrorCodes, NftsentryError } from '../errors.ts';

/** Most problems listed in one error; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 100;
/** Longest quoted value, in characters, before it is cut with an ellipsis. */
const MAX_SHOWN = 64;
/** Longest problem line. */
const MAX_LINE = 400;

/** C0 and C1 controls, DEL, line and paragraph separators, bidi controls, lone surrogates. */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Replaces what a terminal or a log reader could take for something else with `\uXXXX`. */
export function escapeUnsafe(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never cut a surrogate pair in two.
  const end = /[\ud800-\udbff]/.test(text[max - 1] ?? '') ? max - 1 : max;
  return `${text.slice(0, end)}…(${text.length} characters)`;
}

/** A value from the file as a message shows it: strings quoted, escaped and shortened; numbers as they are. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return `"${shorten(escapeUnsafe(value.replace(/["\\]/g, '\\$&')), MAX_SHOWN)}"`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return typeof value;
}

const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/** `services.tcp[1]`; a key that is not plain letters, digits, `_` or `-` is quoted: `services."<<"`. */
export function formatKeyPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(top level)';
  return path
    .map((p, i) => {
      if (typeof p === 'number') return `[${p}]`;
      const key = typeof p === 'string' && PLAIN_KEY.test(p) ? p : shown(String(p));
      return i === 0 ? key : `.${key}`;
    })
    .join('');
}

/** One problem line, escaped and at most MAX_LINE characters. */
export function problemLine(text: string): string {
  return shorten(escapeUnsafe(text), MAX_LINE);
}

/**
 * E_CONFIG_INVALID listing the problems, one a line (escaped, shortened, at most
 * MAX_LISTED_PROBLEMS of them); `details.problems` holds the same lines.
 */
export function configProblems(
  sourceName: string,
  verdict: 'is invalid' | 'is not valid YAML',
  lines: readonly string[],
  options: { details?: Record<string, unknown>; cause?: unknown } = {},
): NftsentryError {
  const problems = lines.slice(0, MAX_LISTED_PROBLEMS).map(problemLine);
  const more = lines.length - problems.length;
  const tail = more > 0 ? `\n  ...and ${more} more` : '';
  return new NftsentryError(ErrorCodes.CONFIG_INVALID, `${sourceName} ${verdict}:\n  ${problems.join('\n  ')}${tail}`, {
    details: { problems, ...(more > 0 ? { more } : {}), ...options.details },
    ...(options.cause === undefined ? {} : { cause: options.cause }),
  });
}
