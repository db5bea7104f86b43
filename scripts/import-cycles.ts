/**
 * Import cycles among the modules of a source tree. A cycle means two modules cannot be read,
 * tested or loaded one without the other, and its members see each other half-initialised while
 * ESM evaluates them; a layered shape (pure core, IO at the edges, one direction of flow) has none.
 *
 * Every relative specifier counts: `import` and `export ... from` (type-only ones too, since a
 * type cycle ties the modules together just as much) and `import('...')` with a literal. It is
 * resolved to a file of the tree; packages and `node:` modules are outside and ignored, and so is
 * a worker started from `new URL('./x.ts', import.meta.url)`, which is a separate module graph.
 * Strongly connected components (Tarjan) give the modules caught in cycles; each component is
 * then shown as the few cycles that cover every import inside it, as `a -> b -> a`.
 *
 * `node scripts/import-cycles.ts [dir]` (default src) prints them and exits 1 if there is any;
 * test/unit/structure.test.ts runs the same functions.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** Module path (relative to the working directory, as in `src/engine/engine.ts`) -> the modules it imports. */
export type ImportGraph = Map<string, Set<string>>;

// A string literal (kept: specifiers are strings) or a comment (blanked, so that an import that
// a comment mentions is not one). A template is taken up to the next backtick; a template nested
// in another, or a quote inside a regex literal, can at worst hide or expose a comment near it.
const LITERAL_OR_COMMENT = /('(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`)|\/\/[^\n]*|\/\*[\s\S]*?\*\//g;

// At the start of a statement: `import ... from`, `export ... from` (the clause: `type`, a default
// name, `{...}`, `* as x`), and `import '...'` for its side effects.
const CLAUSE = String.raw`(?:type\s+)?(?:[\w$]+\s*,?\s*)?(?:\{[^}]*\}|\*(?:\s*as\s+[\w$]+)?)?\s*from`;
const STATIC = new RegExp(String.raw`(?:^|[;}])\s*(?:(?:import|export)\s*${CLAUSE}|import)\s*(['"])([^'"\n]+)\1`, 'gm');
// Anywhere: `import('...')`, a dynamic import or a type query such as `import('./x.ts').T`.
const DYNAMIC = /\bimport\s*\(\s*(['"`])([^'"`$\n]+)\1\s*[,)]/g;

/** The module specifiers that a source text imports from (static ones first). */
export function specifiersOf(text: string): string[] {
  const code = text.replace(LITERAL_OR_COMMENT, (m, literal) => literal ?? m.replace(/[^\n]/g, ' '));
  return [...code.matchAll(STATIC), ...code.matchAll(DYNAMIC)].map((m) => m[2]!);
}

/** The module of `files` a relative specifier names, if any (`./x.ts`, `./x.js`, `./x`, `./x/index.ts`). */
function resolve(from: string, specifier: string, files: ReadonlySet<string>): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = join(dirname(from), specifier);
  const stem = base.replace(/\.[cm]?js$/, '');
  return [base, `${stem}.ts`, `${stem}/index.ts`].find((p) => files.has(p));
}

/** The import graph of in-memory sources (path -> text); edges only between those paths. */
export function importGraph(sources: ReadonlyMap<string, string>): ImportGraph {
  const files = new Set(sources.keys());
  const graph: ImportGraph = new Map();
  for (const [path, text] of sources) {
    const targets = specifiersOf(text).map((s) => resolve(path, s, files));
    graph.set(path, new Set(targets.filter((t): t is string => t !== undefined)));
  }
  return graph;
}

/** Every `.ts` file under `dir`, keyed by its path relative to `root`. */
export function readTree(dir: string, root = process.cwd()): Map<string, string> {
  const sources = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    sources.set(relative(root, path), readFileSync(path, 'utf8'));
  }
  return new Map([...sources].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Tarjan's strongly connected components that hold a cycle (two or more modules, or a self-import). */
export function cyclicComponents(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = ''; w !== v; ) {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    }
    if (component.length > 1 || graph.get(v)?.has(v)) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/** The shortest path from `from` to `to` through the modules of `inside`: [from, ..., to]. */
function shortestPath(graph: ImportGraph, inside: ReadonlySet<string>, from: string, to: string): string[] {
  const reachedFrom = new Map<string, string>([[from, from]]);
  for (const queue = [from]; queue.length > 0 && !reachedFrom.has(to); ) {
    const m = queue.shift()!;
    for (const n of graph.get(m) ?? []) {
      if (!inside.has(n) || reachedFrom.has(n)) continue;
      reachedFrom.set(n, m);
      queue.push(n);
    }
  }
  const path = [to];
  while (path[0] !== from) path.unshift(reachedFrom.get(path[0]!)!);
  return path;
}

/**
 * The cycles to show, as paths that end where they start: for each import a -> b inside a
 * component that no cycle shown so far goes through, a -> b and the shortest way back to a.
 * Together they go through every import that ties the component together.
 */
export function importCycles(graph: ImportGraph): string[][] {
  const cycles: string[][] = [];
  for (const component of cyclicComponents(graph)) {
    const inside = new Set(component);
    const covered = new Set<string>();
    for (const a of component) {
      for (const b of [...(graph.get(a) ?? [])].filter((m) => inside.has(m)).sort()) {
        if (covered.has(`${a} ${b}`)) continue;
        const cycle = [a, ...shortestPath(graph, inside, b, a)];
        for (let i = 1; i < cycle.length; i++) covered.add(`${cycle[i - 1]} ${cycle[i]}`);
        cycles.push(cycle);
      }
    }
  }
  return cycles;
}

if (import.meta.main) {
  const dir = process.argv[2] ?? 'src';
  const graph = importGraph(readTree(dir));
  const cycles = importCycles(graph);
  for (const c of cycles) console.log(c.join(' -> '));
  const edges = [...graph.values()].reduce((n, s) => n + s.size, 0);
  console.log(`${dir}: ${graph.size} modules, ${edges} imports, ${cycles.length} import cycle(s)`);
  process.exitCode = cycles.length > 0 ? 1 : 0;
}
