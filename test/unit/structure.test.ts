/**
 * The shape of src/ that the tooling guards: no import cycles (found by scripts/import-cycles.ts)
 * and no module over 300 lines. The finder is tested first on small in-memory trees, and the src/
 * checks assert that it read a real graph, so that a finder that sees nothing cannot pass them.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importCycles, importGraph, readTree, specifiersOf, type ImportGraph } from '../../scripts/import-cycles.ts';

const MAX_LINES = 300;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const graphOf = (sources: Record<string, string>): ImportGraph => importGraph(new Map(Object.entries(sources)));
const cyclesOf = (sources: Record<string, string>): string[] =>
  importCycles(graphOf(sources)).map((c) => c.join(' -> '));
const edgeCount = (graph: ImportGraph): number => [...graph.values()].reduce((n, s) => n + s.size, 0);
/** Lines as `wc -l` counts them. */
const lineCount = (text: string): number => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

describe('specifiersOf', () => {
  it('reads every form of import and export', () => {
    const text = [
      "import { a } from './a.ts';",
      "import type { B } from './b.ts';",
      "import c, { type C } from './c.ts';",
      "import * as d from './d.ts';",
      "import './e.ts';",
      'import {',
      '  f,',
      '  type F,',
      "} from './f.ts';",
      "export { g } from './g.ts';",
      "export type { H } from './h.ts';",
      "export * from './i.ts';",
      "export * as j from './j.ts';",
      "const k = await import('./k.ts');",
      "type L = import('./l.ts').L;",
      "import { readFileSync } from 'node:fs';",
    ].join('\n');
    expect(specifiersOf(text)).toEqual([
      ...['./a.ts', './b.ts', './c.ts', './d.ts', './e.ts', './f.ts', './g.ts', './h.ts', './i.ts', './j.ts'],
      'node:fs',
      './k.ts',
      './l.ts',
    ]);
  });

  it('ignores imports in comments and strings, and exports without from', () => {
    const text = [
      "// import { a } from './a.ts';",
      '/*',
      "import { b } from './b.ts';",
      "   see import('./c.ts') */",
      'const s = "import { d } from \'./d.ts\'";',
      "const url = 'http://example.com/'; import { e } from './e.ts';",
      "export const f = './f.ts';",
      "export function g() { return 'x'; }",
    ].join('\n');
    expect(specifiersOf(text)).toEqual(['./e.ts']);
  });
});

describe('importCycles', () => {
  it('finds a cycle of three modules, as a path back to its start', () => {
    const sources = {
      'a.ts': "import { b } from './b.ts';",
      'b.ts': "import { c } from './c.ts';",
      'c.ts': "import { a } from './a.ts';\nimport { d } from './d.ts';",
      'd.ts': '',
    };
    expect(cyclesOf(sources)).toEqual(['a.ts -> b.ts -> c.ts -> a.ts']);
  });

  it('finds a self-import', () => {
    expect(cyclesOf({ 'a.ts': "import { self } from './a.ts';", 'b.ts': "import './a.ts';" })).toEqual([
      'a.ts -> a.ts',
    ]);
  });

  it('finds none where imports only go one way, and still reads every edge', () => {
    const sources = {
      'top.ts': "import { l } from './lib/left.ts';\nimport { r } from './lib/right.js';",
      'lib/left.ts': "import { b } from './base/index.ts';",
      'lib/right.ts': "import { b } from './base';",
      'lib/base/index.ts': "import { readFileSync } from 'node:fs';\nimport { x } from '../../outside.ts';",
    };
    const graph = graphOf(sources);
    expect(cyclesOf(sources)).toEqual([]);
    expect(Object.fromEntries([...graph].map(([k, v]) => [k, [...v]]))).toEqual({
      'top.ts': ['lib/left.ts', 'lib/right.ts'],
      'lib/left.ts': ['lib/base/index.ts'],
      'lib/right.ts': ['lib/base/index.ts'],
      'lib/base/index.ts': [],
    });
  });

  it('counts a type-only import, a type query and a dynamic import', () => {
    expect(cyclesOf({ 'a.ts': "import type { B } from './b.ts';", 'b.ts': "import { a } from './a.ts';" })).toEqual([
      'a.ts -> b.ts -> a.ts',
    ]);
    expect(cyclesOf({ 'a.ts': "type B = import('./b.ts').B;", 'b.ts': "export { a } from './a.ts';" })).toEqual([
      'a.ts -> b.ts -> a.ts',
    ]);
    expect(cyclesOf({ 'a.ts': "await import('./b.ts');", 'b.ts': "export * from './a.ts';" })).toEqual([
      'a.ts -> b.ts -> a.ts',
    ]);
  });

  it('shows every import that ties a component together, and separate components apart', () => {
    const sources = {
      'hub.ts': "import './x.ts';\nimport './y.ts';",
      'x.ts': "import './hub.ts';",
      'y.ts': "import './z.ts';",
      'z.ts': "import './hub.ts';",
      'p.ts': "import './q.ts';",
      'q.ts': "import './p.ts';",
    };
    expect(cyclesOf(sources)).toEqual([
      'hub.ts -> x.ts -> hub.ts',
      'hub.ts -> y.ts -> z.ts -> hub.ts',
      'p.ts -> q.ts -> p.ts',
    ]);
  });
});

describe('src/', () => {
  const sources = readTree(`${ROOT}/src`, ROOT);

  it('has no import cycles', () => {
    const graph = importGraph(sources);
    expect(graph.size).toBeGreaterThan(50);
    expect(edgeCount(graph)).toBeGreaterThan(100);
    const cycles = importCycles(graph).map((c) => c.join(' -> '));
    expect(cycles, 'import cycles in src/ (node scripts/import-cycles.ts lists them)').toEqual([]);
  });

  it(`has no module over ${MAX_LINES} lines`, () => {
    expect(sources.size).toBeGreaterThan(50);
    const over = [...sources]
      .map(([path, text]) => ({ path, lines: lineCount(text) }))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `${f.path}: ${f.lines} lines`);
    expect(over, `modules in src/ over ${MAX_LINES} lines`).toEqual([]);
  });
});
