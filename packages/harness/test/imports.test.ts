/**
 * No two modules of the harness import each other. A cycle makes the order modules load in
 * matter (a binding read before its module ran is undefined) and ties two files together that
 * should each make sense alone; shared types go to a module both import instead.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SOURCE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/** `import … from './x.ts'`, `export … from './x.ts'`, `import './x.ts'` and `import('./x.ts')`. */
const RELATIVE_SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Each source file (relative to src) → the source files it imports directly. */
function importGraph(root: string): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(root)) {
    const imports = new Set<string>();
    for (const match of readFileSync(file, 'utf8').matchAll(RELATIVE_SPECIFIER))
      imports.add(relative(root, resolve(dirname(file), match[1] as string)));
    graph.set(relative(root, file), imports);
  }
  return graph;
}

describe('harness modules', () => {
  const graph = importGraph(SOURCE_ROOT);

  it('are found, with their imports, in subfolders too', () => {
    expect(graph.get('index.ts')?.has('simulation.ts')).toBe(true);
    expect(graph.get('chaos/cli.ts')?.has('chaos/run.ts')).toBe(true);
  });

  it('never import each other', () => {
    const mutual: string[] = [];
    for (const [file, imports] of graph)
      for (const imported of imports)
        if (file < imported && graph.get(imported)?.has(file)) mutual.push(`${file} <-> ${imported}`);
    expect(mutual).toEqual([]);
  });
});
