/**
 * The test suite runs `pnpm spec`'s checks in their quick profile: typecheck, scenario tests,
 * invariants with witnesses over fewer simulated runs, and the must-fail runs. `pnpm spec` runs
 * the full counts.
 */
import { describe, expect, it } from 'vitest';
import { runAll } from './check.ts';

describe('pnpm spec', () => {
  it('typechecks, passes its tests, keeps its invariants, reaches its witnesses and finds the must-fail violation', () => {
    const results = runAll(
      (result) => console.log(`${result.ok ? 'ok  ' : 'FAIL'} ${result.name}: ${result.summary}`),
      true,
    );
    expect(
      results.filter((result) => !result.ok).map((result) => `${result.name}: ${result.summary}`),
    ).toEqual([]);
  }, 300_000);
});
