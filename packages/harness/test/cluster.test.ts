/**
 * The simulated cluster as an object: driven tick by tick from outside it is the same run as
 * runScenario's, and a replica can be crashed and restarted by hand.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedCluster } from '../src/cluster.ts';
import { scenarioFromSeed } from '../src/scenario.ts';
import type { ScenarioOptions } from '../src/scenario-options.ts';
import { runScenario } from '../src/simulation.ts';

const FAR_AWAY = 1_000_000;

/** A small honest run whose replica 1 may crash: planned far away, so it keeps a durable state. */
function options(seed: number): ScenarioOptions {
  return {
    ...scenarioFromSeed(seed, { replicas: 4, byzantine: 0, byzantineAgents: 0, honestCrashes: 0 }),
    crashes: [{ id: 1, crashTick: FAR_AWAY, restartTick: FAR_AWAY + 1 }],
  };
}

describe('SimulatedCluster', () => {
  it('driven tick by tick, is the run runScenario makes', () => {
    const scenario = options(5);
    const expected = runScenario(scenario);
    const cluster = new SimulatedCluster(scenario);
    while (cluster.now < expected.record.endTick) cluster.tick();
    const { record, stats } = cluster.record(expected.record.endTick);
    expect(stats).toEqual(expected.stats);
    expect(record.replicas).toEqual(expected.record.replicas);
    expect(record.agents).toEqual(expected.record.agents);
  });

  it('loses what reaches a crashed replica, and restarts it from its durable state', () => {
    const cluster = new SimulatedCluster(options(6));
    while (cluster.now < 60) cluster.tick();
    expect(() => cluster.crash(2, 90)).toThrow(/durable/);
    cluster.crash(1, 90);
    cluster.tick();
    expect(cluster.isDown(1)).toBe(true);
    while (cluster.now < 200) cluster.tick();
    expect(cluster.isDown(1)).toBe(false);
    expect(cluster.replicaFailure).toBeUndefined();
    const { record, stats } = cluster.record(cluster.now);
    expect(stats.restarts).toBe(1);
    expect(stats.droppedWhileDown).toBeGreaterThan(0);
    expect(record.replicas[1]?.restarts).toEqual([
      { crashTick: 61, restartTick: 90, durable: true, lastExecuted: expect.any(Number) },
    ]);
  });
});
