import { describe, expect, it } from 'vitest';
import { COMBINABLE_STRATEGIES, type StrategyName } from '../src/byzantine.ts';
import { scenarioFromSeed } from '../src/scenario.ts';
import { runScenario, type ScenarioResult } from '../src/simulation.ts';

/**
 * Each strategy alone, played by replica 0 (the first primary) of n=4 over a few seeds: safety and
 * liveness hold, and the strategy visibly did what it is for (honest replicas counted the
 * rejections it should cause).
 */
const SEEDS = [1, 2, 3];

const EXPECTED_REJECTIONS: Partial<Record<StrategyName, readonly string[]>> = {
  conflictingVotes: ['CONFLICTING_VOTE'],
  forgeSender: ['BAD_SIGNATURE'],
  badSignature: ['BAD_SIGNATURE'],
  outOfWatermarks: ['OUT_OF_WATERMARKS'],
  flood: ['MALFORMED', 'UNKNOWN_TYPE', 'UNKNOWN_SENDER'],
};

function runWith(seed: number, strategy: StrategyName): ScenarioResult {
  const options = scenarioFromSeed(seed, { replicas: 4, byzantine: 1 });
  return runScenario({
    ...options,
    byzantine: [
      strategy === 'crash'
        ? { id: 0, strategies: ['crash'], crashTick: 40, colluding: false }
        : { id: 0, strategies: [strategy], colluding: false },
    ],
  });
}

describe('each Byzantine strategy on its own', () => {
  for (const strategy of ['silent', 'crash', ...COMBINABLE_STRATEGIES] as StrategyName[]) {
    it(`${strategy}: no violation, and the attack is seen`, () => {
      const rejections: Record<string, number> = {};
      let viewChanges = 0;
      for (const seed of SEEDS) {
        const result = runWith(seed, strategy);
        expect(result.violations, `seed ${seed}`).toEqual([]);
        for (const [code, count] of Object.entries(result.stats.rejections))
          rejections[code] = (rejections[code] ?? 0) + count;
        if (result.stats.viewMax > 0) viewChanges++;
      }
      for (const code of EXPECTED_REJECTIONS[strategy] ?? [])
        expect(rejections[code] ?? 0, code).toBeGreaterThan(0);
      // A primary that says nothing must be replaced.
      if (strategy === 'silent' || strategy === 'crash') expect(viewChanges).toBe(SEEDS.length);
    });
  }
});

describe('lying agents', () => {
  it('equivocate, replay, skip, burst, impersonate and send garbage without breaking anything', () => {
    const rejections: Record<string, number> = {};
    let executedForMallory = 0;
    for (const seed of SEEDS) {
      const options = scenarioFromSeed(seed, { replicas: 4, byzantine: 1, byzantineAgents: 2 });
      expect(options.byzantineAgents).toBe(2);
      const result = runScenario(options);
      expect(result.violations, `seed ${seed}`).toEqual([]);
      for (const [code, count] of Object.entries(result.stats.rejections))
        rejections[code] = (rejections[code] ?? 0) + count;
      for (const replica of result.record.replicas) {
        for (const batch of replica.executed) {
          executedForMallory += batch.requests.filter((r) => r.agent.startsWith('mallory-')).length;
        }
      }
    }
    // What they signed themselves runs (once); what they forged or overdid is refused.
    expect(executedForMallory).toBeGreaterThan(0);
    for (const code of ['PENDING_REQUESTS_FULL', 'BAD_SIGNATURE', 'MALFORMED']) {
      expect(rejections[code] ?? 0, code).toBeGreaterThan(0);
    }
  });
});
