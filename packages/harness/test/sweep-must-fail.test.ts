import { describe, expect, it } from 'vitest';
import { isSafetyViolation } from '../src/checkers.ts';
import { runScenario } from '../src/simulation.ts';
import { runSuite } from '../src/suites.ts';

describe('suite must-fail (f+1 colluding replicas)', () => {
  it('the checkers find safety violations in most of 114 seeds', () => {
    const summary = runSuite('must-fail', 1, 114, {}, runScenario);
    // A seed passes this suite when a safety checker fires; the attack does not always land.
    expect(summary.passed).toBeGreaterThanOrEqual(63);
    for (const failure of summary.failures) expect(failure.violations.some(isSafetyViolation)).toBe(false);
  });
});
