import { describe, expect, it } from 'vitest';
import { scenarioFromSeed } from '../src/scenario.ts';
import { runScenario } from '../src/simulation.ts';

/**
 * Seeds that long sweeps (`pnpm sim --seeds 1000 --start 1000`) found failing, kept so that a fix
 * is proven and stays fixed. A seed known to fail today is marked `it.fails` with the diagnosis:
 * when the replica is fixed, that test starts failing — turn it into a plain `it`.
 */
describe('regression seeds', () => {
  // Liveness, n=4 f=1 (fixed): Byzantine replica 1 (primary of view 1, strategy `withhold`) sends its
  // NEW-VIEW only to replica 3. Replica 3 times out and moves to view 2; its VIEW-CHANGE(2) then
  // replaces its VIEW-CHANGE(1) in the others' one-per-replica `#latestViewChange`, so replicas 0
  // and 2 hold only 2 < 2f+1 view-changes for view 1: their timer never arms and only replica 3
  // is above view 1 (< f+1 to join). Replicas 0 and 2 waited in view 1 forever, 3 in view 2.
  // Fixed by counting view-changes for views at or above ours when arming the timer.
  for (const seed of [1500, 1953]) {
    it(`seed ${seed} (n=4, k=1): honest replicas split between two view changes converge`, () => {
      const result = runScenario(scenarioFromSeed(seed, { replicas: 4, byzantine: 1 }));
      expect(result.violations).toEqual([]);
    });
  }
});
