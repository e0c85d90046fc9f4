import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

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
    watch: false,
  },
});
