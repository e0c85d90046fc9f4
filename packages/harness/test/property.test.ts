import { quorumsOf } from '@conclave/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scenarioFromSeed } from '../src/scenario.ts';
import { runScenario } from '../src/simulation.ts';

/**
 * Random schedules within the bound: cluster size, Byzantine count up to f, fault rates and the
 * heal tick are drawn by fast-check (itself seeded), the rest from the scenario seed.
 */
describe('property: within the bound, safety always holds and liveness holds after the heal', () => {
  it('holds over random schedules', () => {
    const schedule = fc
      .record({
        seed: fc.integer({ min: 0, max: 0xffff_ffff }),
        replicas: fc.constantFrom(4, 7),
        byzantineFraction: fc.double({ min: 0, max: 1, noNaN: true }),
        dropProbability: fc.double({ min: 0, max: 0.3, noNaN: true }),
        duplicateProbability: fc.double({ min: 0, max: 0.2, noNaN: true }),
        reorderProbability: fc.double({ min: 0, max: 0.3, noNaN: true }),
        delayTicksMax: fc.integer({ min: 1, max: 12 }),
        healTick: fc.integer({ min: 0, max: 500 }),
      })
      .map((drawn) => ({
        ...drawn,
        byzantine: Math.round(drawn.byzantineFraction * quorumsOf(drawn.replicas).f),
      }));
    fc.assert(
      fc.property(schedule, (drawn) => {
        const base = scenarioFromSeed(drawn.seed, { replicas: drawn.replicas, byzantine: drawn.byzantine });
        const options = {
          ...base,
          healTick: drawn.healTick,
          partitions: base.partitions.map((p) => ({ ...p, healTick: Math.min(p.healTick, drawn.healTick) })),
          faults: {
            ...base.faults,
            dropProbability: drawn.dropProbability,
            duplicateProbability: drawn.duplicateProbability,
            reorderProbability: drawn.reorderProbability,
            delayTicksMax: drawn.delayTicksMax,
          },
        };
        const result = runScenario(options);
        expect(result.violations, `seed ${drawn.seed}, ${JSON.stringify(drawn)}`).toEqual([]);
      }),
      { seed: 20_240_601, numRuns: 30, endOnFailure: true },
    );
  });
});
