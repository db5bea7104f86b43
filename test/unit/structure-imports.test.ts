/**
 * No import cycle between files of src/, type-only imports included: a cycle makes the order of
 * module evaluation matter and ties the files' changes together. The files of the engine that
 * import each other today (KNOWN_CYCLES) are the only exception, and it only shrinks.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO } from '../helpers.ts';

const SRC = join(REPO, 'src');

/** Groups of files that import each other today; a cycle must stay inside one of them. */
const KNOWN_CYCLES: readonly (readonly string[])[] = [
  ['engine/ban-backend.ts', 'engine/ban-flusher.ts'],
  ['engine/ban-operations.ts', 'engine/engine-sync.ts', 'engine/engine-timers.ts', 'engine/engine.ts'],
];

/** Each file of src/ -> the files of src/ it imports (static, dynamic, type-only, re-exports). */
function importGraph(): Map<string, string[]> {
  const files = readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => relative(SRC, join(d.parentPath, d.name)));
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const text = readFileSync(join(SRC, f), 'utf8');
    const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|new URL\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
    const deps = specs.map((s) => relative(SRC, resolve(SRC, dirname(f), s))).filter((d) => known.has(d));
    graph.set(f, [...new Set(deps)]);
  }
  return graph;
}

/** The strongly connected components with more than one file (or a file importing itself). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) (visit(w), low.set(v, Math.min(low.get(v)!, low.get(w)!)));
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1 || graph.get(v)!.includes(v)) out.push(group.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('imports in src/', () => {
  it('form no cycle outside the known ones', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(50);
    const unknown = cycles(graph).filter((group) => !KNOWN_CYCLES.some((k) => group.every((f) => k.includes(f))));
    expect(unknown).toEqual([]);
  });

  it('the check finds a cycle through a type-only import', () => {
    const g = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]);
    expect(cycles(g)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });
});
