import { quorumsOf } from '@conclave/core';
import { describe, expect, it } from 'vitest';
import { isSafetyViolation } from '../src/checkers.ts';
import { replayCommand, scenarioFromSeed } from '../src/scenario.ts';
import { runScenario, type ScenarioResult } from '../src/simulation.ts';

/** Everything observable about a run, as one comparable string. */
function fingerprint(result: ScenarioResult): string {
  return JSON.stringify({
    violations: result.violations,
    stats: result.stats,
    statuses: result.statuses,
    replicas: result.record.replicas,
    agents: result.record.agents,
    created: [...result.record.created],
    batches: [...result.record.batches.keys()],
    endTick: result.record.endTick,
  });
}

describe('scenarios', () => {
  it('derive everything from the seed', () => {
    const shape = { replicas: 7, byzantine: 2 };
    expect(scenarioFromSeed(17, shape)).toEqual(scenarioFromSeed(17, shape));
    expect(scenarioFromSeed(17, shape)).not.toEqual(scenarioFromSeed(18, shape));
    const options = scenarioFromSeed(17, shape);
    expect(options.byzantine).toHaveLength(2);
    expect(new Set(options.byzantine.map((plan) => plan.id)).size).toBe(2);
    expect(options.partitions.every((p) => p.healTick <= options.healTick)).toBe(true);
  });

  it('refuse impossible shapes', () => {
    expect(() => scenarioFromSeed(1, { replicas: 3, byzantine: 0 })).toThrow(RangeError);
    expect(() => scenarioFromSeed(1, { replicas: 4, byzantine: 4 })).toThrow(RangeError);
  });

  it('print a replay command that names the seed and the shape', () => {
    expect(replayCommand(5, { replicas: 4, byzantine: 1 })).toBe(
      'pnpm sim --seed 5 --replicas 4 --byzantine 1',
    );
    expect(replayCommand(5, { replicas: 7, byzantine: 2, agents: 5 })).toBe(
      'pnpm sim --seed 5 --replicas 7 --byzantine 2 --agents 5',
    );
  });
});

describe('runScenario', () => {
  it('is deterministic: the same seed gives the same run, byte for byte', () => {
    for (const seed of [3, 4]) {
      const shape = { replicas: 4, byzantine: 1 };
      const first = runScenario(scenarioFromSeed(seed, shape));
      const second = runScenario(scenarioFromSeed(seed, shape));
      expect(fingerprint(second)).toBe(fingerprint(first));
      expect(first.stats.network.delivered).toBeGreaterThan(0);
    }
  });

  it('completes every request with no faults and no Byzantine replica', () => {
    const options = scenarioFromSeed(1, { replicas: 4, byzantine: 0 });
    const result = runScenario({
      ...options,
      byzantineAgents: 0,
      partitions: [],
      faults: options.healedFaults,
    });
    expect(result.violations).toEqual([]);
    expect(result.record.agentsDone).toBe(true);
    const { f } = quorumsOf(4);
    for (const agent of result.record.agents) {
      expect(new Set(agent.accepted.map((a) => a.requestId)).size).toBe(agent.requestsPlanned);
    }
    // Every honest replica executed every request, exactly once.
    for (const replica of result.record.replicas) {
      const executed = replica.executed.flatMap((batch) => batch.requests);
      expect(executed.length).toBe(options.agents * options.requestsPerAgent);
    }
    expect(f).toBe(1);
  });
});

describe('beyond the bound', () => {
  it('n=4 with 2 colluding Byzantine replicas: the agreement checker catches a fork within 40 seeds', () => {
    const shape = { replicas: 4, byzantine: 2 };
    let found: ScenarioResult | undefined;
    for (let seed = 1; seed <= 40 && found === undefined; seed++) {
      const result = runScenario(scenarioFromSeed(seed, shape));
      if (result.violations.some((v) => v.checker === 'agreement')) found = result;
    }
    expect(found, 'no safety violation in 40 seeds with f+1 colluders').toBeDefined();
    expect(found?.violations.some(isSafetyViolation)).toBe(true);
    expect(found?.options.collusion).toBe(true);
  });

  it('n=7 with 3 colluding Byzantine replicas: the agreement checker catches a fork within 20 seeds', () => {
    const shape = { replicas: 7, byzantine: 3 };
    let found = false;
    for (let seed = 1; seed <= 20 && !found; seed++) {
      found = runScenario(scenarioFromSeed(seed, shape)).violations.some((v) => v.checker === 'agreement');
    }
    expect(found).toBe(true);
  });
});
