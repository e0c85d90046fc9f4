/** CI runs `pnpm spec`'s checks: typecheck, scenario tests, invariants with witnesses, and the must-fail run. */
import { describe, expect, it } from 'vitest';
import { runAll } from './check.ts';

describe('pnpm spec', () => {
  it('typechecks, passes its tests, keeps its invariants, reaches its witnesses and finds the must-fail violation', () => {
    const results = runAll((result) =>
      console.log(`${result.ok ? 'ok  ' : 'FAIL'} ${result.name}: ${result.summary}`),
    );
    expect(
      results.filter((result) => !result.ok).map((result) => `${result.name}: ${result.summary}`),
    ).toEqual([]);
  }, 300_000);
});
