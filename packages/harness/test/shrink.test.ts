import { describe, expect, it } from 'vitest';
import { isSafetyViolation } from '../src/checkers.ts';
import { scenarioFromSeed } from '../src/scenario.ts';
import { describeSchedule, shrinkScenario } from '../src/shrink.ts';
import { runScenario } from '../src/simulation.ts';

describe('shrinking a failing scenario', () => {
  it('keeps it failing, makes it smaller, and is deterministic', () => {
    // Beyond the bound (2 colluding Byzantine replicas of 4) some early seed forks.
    let failing: ReturnType<typeof scenarioFromSeed> | undefined;
    for (let seed = 1; seed <= 40 && failing === undefined; seed++) {
      const options = scenarioFromSeed(seed, { replicas: 4, byzantine: 2 });
      if (runScenario(options).violations.some(isSafetyViolation)) failing = options;
    }
    expect(failing).toBeDefined();
    const fails = (o: typeof failing & object) => runScenario(o).violations.some(isSafetyViolation);
    const shrunk = shrinkScenario(failing!, fails, { runsMax: 60 });
    expect(fails(shrunk.options)).toBe(true);
    expect(shrunk.steps.length).toBeGreaterThan(0);
    const size = (o: typeof failing & object) =>
      o.partitions.length +
      o.byzantine.reduce((s, p) => s + p.strategies.length, 0) +
      o.agents * o.requestsPerAgent +
      o.byzantineAgents;
    expect(size(shrunk.options)).toBeLessThan(size(failing!));
    expect(shrinkScenario(failing!, fails, { runsMax: 60 }).steps).toEqual(shrunk.steps);
    const summary = describeSchedule(shrunk.options).join('\n');
    expect(summary).toMatch(/^n=4/);
    expect(summary).toMatch(/Byzantine/);
  });

  it('stops at the budget', () => {
    const options = scenarioFromSeed(3, { replicas: 4, byzantine: 1 });
    let calls = 0;
    const result = shrinkScenario(
      options,
      () => {
        calls++;
        return true;
      },
      { runsMax: 5 },
    );
    expect(calls).toBe(5);
    expect(result.runs).toBe(5);
  });
});
