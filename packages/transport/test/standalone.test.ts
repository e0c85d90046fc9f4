/** The transport imports nothing of ours: dependencies between the packages point one way. */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);

describe('the transport package stands alone', () => {
  it('lists no package of this repository among its runtime dependencies', () => {
    const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    expect(Object.keys(manifest.dependencies ?? {}).filter((name) => name.startsWith('@conclave/'))).toEqual(
      [],
    );
  });

  it('imports no package of this repository from its sources', () => {
    // Recursive: the implementations keep their parts in subfolders (src/websocket/, src/memory/).
    const sources = readdirSync(new URL('src/', root), { recursive: true, encoding: 'utf8' }).filter((name) =>
      name.endsWith('.ts'),
    );
    expect(sources.length).toBeGreaterThan(0);
    const importsOurs = /(?:from|import)\s*\(?\s*['"]@conclave\//;
    const offenders = sources.filter((name) =>
      importsOurs.test(readFileSync(new URL(`src/${name}`, root), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});
