import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take longest, longest first (seconds on the 2-core CI machine, roughly). With no
 * cache of earlier runs (a fresh clone, as in CI) vitest starts the largest files first, and a
 * small file that runs for minutes could start last and leave the other worker idle at the end.
 * These start first; every other file follows in vitest's own order. A file missing from this
 * list only loses its place, never runs less.
 */
const SLOWEST_FIRST = [
  'spec/mbt/replay.test.ts',
  'spec/check.test.ts',
  'packages/harness/test/sweep-twins.test.ts',
  'packages/harness/test/sweep-must-fail.test.ts',
  'packages/harness/test/sweep-agents.test.ts',
  'packages/harness/test/sweep-default.test.ts',
  'test/e2e/cluster.test.ts',
  'packages/harness/test/sweep-liveness.test.ts',
  'packages/harness/test/sweep-fairness.test.ts',
  'test/e2e/genesis-ceremony.test.ts',
  'test/hosts/hosts-short.test.ts',
  'packages/harness/test/attack-short.test.ts',
  'packages/harness/test/sweep-n7.test.ts',
  'packages/harness/test/sweep-twins-b.test.ts',
  'packages/harness/test/sweep-crash-restart.test.ts',
  'packages/harness/test/sweep-membership.test.ts',
  'test/e2e/cli-flow.test.ts',
  'test/e2e/dashboard.test.ts',
  'packages/harness/test/chaos.test.ts',
  'packages/harness/test/shrink.test.ts',
];

class SlowestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification) => {
      const index = SLOWEST_FIRST.indexOf(relative(file.project.config.root, file.moduleId));
      return index < 0 ? SLOWEST_FIRST.length : index;
    };
    return sorted
      .map((file, order) => ({ file, order, rank: rank(file) }))
      .sort((a, b) => a.rank - b.rank || a.order - b.order)
      .map(({ file }) => file);
  }
}

export default defineConfig({
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'spec/**/*.test.ts',
    ],
    testTimeout: 120_000,
    pool: 'forks',
    // Vitest's default is one worker fewer than the cores: on the 2-core CI machine that ran one
    // file at a time (717 s of tests in 785 s). Two at once passed every test on this machine.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    sequence: { sequencer: SlowestFirstSequencer },
    watch: false,
  },
});
