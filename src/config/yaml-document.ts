/**
 * YAML text -> a plain value for the config schema: one document, parsed with the parser's cost
 * bounded (at most MAX_CONFIG_BYTES of text, parsing stopped after MAX_LISTED_PROBLEMS stray
 * tokens), then held to what a config needs (document-walk.ts). Problems are thrown as
 * E_CONFIG_INVALID, each with its line, and with its key path once there is a document to have
 * paths.
 */
import { Composer, type Document, LineCounter, Parser, type YAMLError } from 'yaml';
import { MAX_CONFIG_BYTES } from './config-file.ts';
import { DocumentWalk, type YamlNode } from './document-walk.ts';
import { configProblems, formatKeyPath, MAX_LISTED_PROBLEMS } from './problem-text.ts';

/** Parses one YAML document into a plain value, or throws E_CONFIG_INVALID. */
export function readYamlDocument(text: string, sourceName: string): unknown {
  if (text.length > MAX_CONFIG_BYTES) {
    throw configProblems(sourceName, 'is not valid YAML', [`longer than ${MAX_CONFIG_BYTES / 1024} Ki characters`]);
  }
  const lines = new LineCounter();
  const at = (offset: number | undefined): string => {
    if (offset === undefined) return '';
    const { line, col } = lines.linePos(offset);
    return ` at line ${line}, column ${col}`;
  };
  const { doc, problems } = compose(text, lines);
  const yamlErrors = [...doc.errors, ...doc.warnings]
    // A stack overflow is reported once per level it unwinds through: the first says it.
    .map((e) => `${yamlMessage(e)}${at(e.pos[0])}`)
    .filter((m, i, all) => !m.startsWith(TOO_DEEP) || all.findIndex((n) => n.startsWith(TOO_DEEP)) === i);
  if (yamlErrors.length > 0 || problems.length > 0) {
    throw configProblems(sourceName, 'is not valid YAML', [
      ...yamlErrors,
      ...problems.map((p) => `${p.message}${at(p.offset)}`),
    ]);
  }
  const root = doc.contents as YamlNode | null;
  if (root === null) return null;
  const found = new DocumentWalk(root, at).problems();
  if (found.length > 0) {
    throw configProblems(
      sourceName,
      'is invalid',
      found.map((p) => `${formatKeyPath(p.path)}: ${p.message}${at(p.node?.range?.[0])}`),
    );
  }
  // Expansion is bounded by the walk, and aliases become shared references rather than copies.
  return doc.toJS({ maxAliasCount: -1 });
}

/**
 * The first document, as parseDocument would compose it, with two bounds of its own: stray tokens
 * between documents (each one an error the composer keeps, with its stack trace: a megabyte of `]`
 * needs gigabytes) stop the parse after MAX_LISTED_PROBLEMS, and a second document stops it at
 * once. Keys are compared by the walk, in linear time (the parser's uniqueKeys check is quadratic).
 *
 * A `%YAML 1.1` directive is refused: YAML 1.1 reads `022` as 18, `1:20` as 80, `no` as false and
 * `<<` as a merge whose bad source makes the library throw; a config is YAML 1.2.
 */
function compose(text: string, lines: LineCounter): { doc: Document.Parsed; problems: Problem[] } {
  const problems: Problem[] = [];
  const parser = new Parser(lines.addNewLine);
  let directive = 0;
  function* tokens() {
    let stray = 0;
    for (const token of parser.parse(text)) {
      if (token.type === 'directive' && token.source.startsWith('%YAML')) directive = token.offset;
      if (token.type === 'error' && ++stray > MAX_LISTED_PROBLEMS) {
        problems.push({ message: 'too many errors: parsing stopped here', offset: token.offset });
        return;
      }
      yield token;
    }
  }
  const composer = new Composer({ uniqueKeys: false, stringKeys: true });
  let doc: Document.Parsed | undefined;
  for (const next of composer.compose(tokens(), true, text.length)) {
    if (doc) {
      problems.push({ message: 'a second document: a config is one document', offset: next.range[0] });
      break;
    }
    doc = next;
  }
  // compose(..., forceDoc = true) yields a document even for empty text.
  if (doc!.directives?.yaml.version === '1.1') {
    problems.push({ message: 'YAML 1.1 is not read: a config is YAML 1.2 (1.1 reads 022 as 18)', offset: directive });
  }
  return { doc: doc!, problems };
}

interface Problem {
  readonly message: string;
  readonly offset: number;
}

const TOO_DEEP = 'nested too deeply for the YAML parser';

function yamlMessage(e: YAMLError): string {
  // The parser catches its own stack overflow on deep nesting and reports it under this code.
  if (e.code === 'RESOURCE_EXHAUSTION' && /call stack|stack overflow/i.test(e.message)) {
    return TOO_DEEP;
  }
  return e.message.split('\n')[0]!.replace(/:$/, '');
}
