/**
 * Seed sweeps over the named suites, shared by the sweep-*.test.ts files (one file per suite, so
 * vitest runs them in parallel). Every violation fails the sweep.
 */
import { expect } from 'vitest';
import { runScenario, type ScenarioResult } from '../src/simulation.ts';
import { replayArguments, runSuite, type SuiteName } from '../src/suites.ts';

export interface SweepReport {
  readonly passed: number;
}

function describe(suite: SuiteName, result: ScenarioResult): string {
  return `pnpm sim ${replayArguments(suite, result.seed, {}).join(' ')}: ${result.violations
    .slice(0, 2)
    .map((v) => `[${v.checker}] ${v.message}`)
    .join('; ')}`;
}

export function sweep(suite: SuiteName, start: number, count: number): SweepReport {
  const summary = runSuite(suite, start, count, {}, runScenario);
  expect(summary.failures.map((failure) => describe(suite, failure))).toEqual([]);
  return { passed: summary.passed };
}
