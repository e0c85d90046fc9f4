/**
 * Runs every transcript in test/transcripts/: each directive through a `TranscriptCluster`
 * (core's `TestCluster`), its output compared with the one written below it. A transcript that
 * does not match fails with a diff of the whole file.
 *
 * `REWRITE=1 npx vitest run packages/core/test/transcript.test.ts` writes the outputs into the
 * files instead of comparing: review the change with `git diff` before committing it.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseTranscript,
  renderTranscript,
  type TranscriptCase,
  TranscriptCluster,
} from './support/transcript.ts';

const DIRECTORY = join(import.meta.dirname, 'transcripts');
const REWRITE = process.env.REWRITE === '1';

/** Runs a transcript's directives in order; `cluster n=N agents=A` (first) sizes the cluster. */
function runTranscript(text: string): { rendered: string; mismatches: string[] } {
  const segments = parseTranscript(text);
  let cluster = new TranscriptCluster();
  const outputs = new Map<TranscriptCase, readonly string[]>();
  const mismatches: string[] = [];
  for (const segment of segments) {
    if (segment.kind !== 'case') continue;
    let output: readonly string[];
    if (segment.directive.startsWith('cluster')) {
      const n = Number(/n=(\d+)/.exec(segment.directive)?.[1] ?? 4);
      const agents = Number(/agents=(\d+)/.exec(segment.directive)?.[1] ?? 1);
      cluster = new TranscriptCluster(n, agents);
      output = [`${n} replicas (f=${Math.floor((n - 1) / 3)}), ${agents} agent${agents === 1 ? '' : 's'}`];
    } else output = cluster.run(segment.directive);
    outputs.set(segment, output);
    if (output.join('\n') !== segment.expected.join('\n'))
      mismatches.push(`line ${segment.line}: ${segment.directive}`);
  }
  return { rendered: renderTranscript(segments, (c) => outputs.get(c) ?? []), mismatches };
}

describe('transcripts', () => {
  const files = readdirSync(DIRECTORY)
    .filter((name) => name.endsWith('.txt'))
    .sort();
  it('finds transcripts to run', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const name of files) {
    it(name, () => {
      const path = join(DIRECTORY, name);
      const text = readFileSync(path, 'utf8');
      const { rendered, mismatches } = runTranscript(text);
      if (REWRITE) {
        if (rendered !== text) writeFileSync(path, rendered);
        return;
      }
      expect(rendered, `${name}: output differs at ${mismatches.join('; ')}`).toBe(text);
    });
  }
});
