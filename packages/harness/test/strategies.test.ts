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
  // No lying agent here (they have their own tests) and no honest crash: the strategy alone.
  const options = scenarioFromSeed(seed, { replicas: 4, byzantine: 1, byzantineAgents: 0, honestCrashes: 0 });
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
      // Lost evidence is a known core gap (regressions.test.ts); everything else must hold.
      expect(
        result.violations.filter((v) => v.checker !== 'evidence'),
        `seed ${seed}`,
      ).toEqual([]);
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

describe('new replica strategies do what they say', () => {
  it('slowPrimary holds pre-prepares yet the cluster makes progress without replacing it early', () => {
    const result = runWith(1, 'slowPrimary');
    expect(result.violations).toEqual([]);
    expect(result.record.agentsDone).toBe(true);
  });

  it('crashRestart and amnesia take the replica down and bring it back', () => {
    for (const strategy of ['crashRestart', 'amnesia'] as const) {
      const result = runWith(2, strategy);
      expect(result.violations, strategy).toEqual([]);
      expect(result.stats.restarts, strategy).toBe(1);
    }
  });

  it('twins run a second copy under the same key on its own address', () => {
    const options = scenarioFromSeed(3, {
      replicas: 4,
      byzantine: 1,
      strategies: ['twins'],
      byzantineAgents: 0,
    });
    expect(options.permanentPartitions).toHaveLength(2);
    expect(runScenario(options).violations).toEqual([]);
  });
});

describe('lying agents against the coordination state machine', () => {
  it('double votes and equivocating ballots leave ballot evidence at every honest replica', () => {
    let ballotEvidence = 0;
    for (const seed of SEEDS) {
      const options = scenarioFromSeed(seed, {
        replicas: 4,
        byzantine: 0,
        honestCrashes: 0,
        stateMachine: 'coordination',
        byzantineAgents: 2,
        agentStrategies: [
          'doubleVote',
          'equivocateBallots',
          'replayOther',
          'proposalSpam',
          'leaseHijack',
          'malformed',
        ],
      });
      const result = runScenario(options);
      expect(
        result.violations.filter((v) => v.checker !== 'evidence'),
        `seed ${seed}`,
      ).toEqual([]);
      for (const replica of result.record.replicas)
        ballotEvidence += (replica.evidence ?? []).filter((key) => key.includes('@')).length;
      expect(result.stats.receiptsChecked).toBeGreaterThan(0);
    }
    expect(ballotEvidence).toBeGreaterThan(0);
  });
});
