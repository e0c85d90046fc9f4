import { quorumsOf } from '@conclave/core';
import { describe, expect, it } from 'vitest';
import { replayCommand, runSeeds } from '../src/scenario.ts';

function sweep(replicas: number, count: number): void {
  const byzantine = quorumsOf(replicas).f;
  const summary = runSeeds({ replicas, byzantine, start: 1, count });
  const report = summary.failures.map(
    (failure) =>
      `${replayCommand(failure.seed, { replicas, byzantine })}: ${failure.violations
        .slice(0, 2)
        .map((v) => `[${v.checker}] ${v.message}`)
        .join('; ')}`,
  );
  expect(report).toEqual([]);
  expect(summary.passed).toBe(count);
}

describe('seed sweep within the bound', () => {
  it('n=4, f=1 Byzantine: 200 seeds pass every checker', () => sweep(4, 200));
});
