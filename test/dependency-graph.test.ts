/**
 * Dependencies point one way. Each package's shipped source (src/) may import only the
 * workspace packages this table allows, its package.json `dependencies` must name exactly the
 * workspace packages its source imports (so the manifest mirrors the code), and no relative
 * import may reach into another package. Scripts (scripts/: measurements, builds) are not
 * shipped: they may also use the package's declared devDependencies. Tests may import anything.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const PACKAGES = join(ROOT, 'packages');

/** What each package's shipped code may import. The architecture document explains each edge. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  core: [],
  transport: [],
  coordination: ['core'],
  node: ['core', 'transport', 'coordination'],
  sdk: ['core', 'transport', 'coordination'],
  mcp: ['core', 'coordination', 'sdk'],
  'ai-sdk': ['mcp'],
  cli: ['core', 'transport', 'coordination', 'node', 'sdk', 'mcp'],
  harness: ['core', 'transport', 'coordination', 'node', 'sdk', 'cli'],
};

const IMPORT = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
    return /\.(ts|mts|mjs|js)$/.test(name) ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((match) => (match[1] ?? match[2]) as string);
}

/** For one folder of a package: the workspace packages its files import, and relative escapes. */
function scan(name: string, folder: 'src' | 'scripts'): { workspace: Set<string>; escapes: string[] } {
  const dir = join(PACKAGES, name);
  const workspace = new Set<string>();
  const escapes: string[] = [];
  for (const file of sourceFiles(join(dir, folder))) {
    for (const specifier of importsOf(file)) {
      const scoped = /^@conclave\/([^/]+)/.exec(specifier);
      if (scoped !== null) workspace.add(scoped[1] as string);
      else if (specifier.startsWith('.')) {
        const target = relative(dir, resolve(file, '..', specifier));
        if (target.startsWith('..')) escapes.push(`${relative(ROOT, file)} imports ${specifier}`);
      }
    }
  }
  return { workspace, escapes };
}

function declaredWorkspaceDependencies(name: string, field: 'dependencies' | 'devDependencies'): string[] {
  const manifest = JSON.parse(readFileSync(join(PACKAGES, name, 'package.json'), 'utf8')) as Record<
    string,
    Record<string, string> | undefined
  >;
  return Object.keys(manifest[field] ?? {})
    .filter((dependency) => dependency.startsWith('@conclave/'))
    .map((dependency) => dependency.slice('@conclave/'.length))
    .sort();
}

/** Whether `from` reaches `to` through the allowed edges. */
function reaches(from: string, to: string, seen = new Set<string>()): boolean {
  for (const next of ALLOWED[from] ?? []) {
    if (next === to) return true;
    if (!seen.has(next)) {
      seen.add(next);
      if (reaches(next, to, seen)) return true;
    }
  }
  return false;
}

const packageNames = readdirSync(PACKAGES).filter((name) => statSync(join(PACKAGES, name)).isDirectory());

describe('package dependency graph', () => {
  it('knows every package', () => {
    expect(packageNames.sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  it('has no cycle in what it allows', () => {
    for (const name of packageNames) expect(reaches(name, name), `${name} reaches itself`).toBe(false);
  });

  for (const name of packageNames) {
    it(`${name} imports only ${ALLOWED[name]?.join(', ') || 'nothing of ours'}, and declares exactly that`, () => {
      const { workspace, escapes } = scan(name, 'src');
      const forbidden = [...workspace].filter((dependency) => !(ALLOWED[name] ?? []).includes(dependency));
      expect(forbidden, `${name} imports packages it may not`).toEqual([]);
      expect(escapes, `${name} reaches into other packages by relative path`).toEqual([]);
      expect(
        declaredWorkspaceDependencies(name, 'dependencies'),
        `${name}/package.json dependencies against its imports`,
      ).toEqual([...workspace].sort());
    });

    it(`${name}'s scripts import only what it may, or declares as a devDependency`, () => {
      const { workspace, escapes } = scan(name, 'scripts');
      const development = declaredWorkspaceDependencies(name, 'devDependencies');
      const allowed = [...(ALLOWED[name] ?? []), ...development];
      const declared = [...declaredWorkspaceDependencies(name, 'dependencies'), ...development];
      expect([...workspace].filter((dependency) => !allowed.includes(dependency))).toEqual([]);
      expect([...workspace].filter((dependency) => !declared.includes(dependency))).toEqual([]);
      expect(escapes, `${name}'s scripts reach into other packages by relative path`).toEqual([]);
    });
  }

  it('catches a violation (the scanner is not blind)', () => {
    const violating = "import { connect } from '@conclave/sdk';\nexport * from '../../node/src/x.ts';";
    expect([...violating.matchAll(IMPORT)].map((m) => m[1] ?? m[2])).toEqual([
      '@conclave/sdk',
      '../../node/src/x.ts',
    ]);
  });
});
