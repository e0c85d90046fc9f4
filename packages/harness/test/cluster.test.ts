/**
 * The simulated cluster as an object: driven tick by tick from outside it is the same run as
 * runScenario's, and a replica can be crashed and restarted by hand.
 */

import type { ReplicaInput } from '@conclave/core';
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

describe('SimulatedCluster: pauses', () => {
  const PAUSED = 2;
  const PAUSE = 100;
  const RESUME = 260;

  /** A run whose replica 2 is paused over [PAUSE, RESUME), seen step by step. */
  function pausedRun(seed: number) {
    const scenario: ScenarioOptions = {
      ...scenarioFromSeed(seed, {
        replicas: 4,
        byzantine: 0,
        byzantineAgents: 0,
        honestCrashes: 0,
        requests: 40,
      }),
      healTick: 1,
      partitions: [],
      pauses: [{ id: PAUSED, pauseTick: PAUSE, resumeTick: RESUME }],
    };
    const inputs: { tick: number; input: ReplicaInput }[] = [];
    const deliveries: { tick: number; sentAt: number }[] = [];
    const cluster = new SimulatedCluster(scenario, {
      onHonestOutput: (id, _output, tick, input) => {
        if (id === PAUSED) inputs.push({ tick, input });
      },
      onDeliver: (envelope, tick) => {
        if (envelope.to === PAUSED) deliveries.push({ tick, sentAt: envelope.sentAt });
      },
    });
    return { scenario, cluster, inputs, deliveries };
  }

  it('steps a paused replica not at all, and keeps what is sent to it until it resumes', () => {
    const { cluster, inputs, deliveries } = pausedRun(7);
    while (cluster.now < RESUME + 40) cluster.tick();
    expect(cluster.replicaFailure).toBeUndefined();
    expect(inputs.filter(({ tick }) => tick >= PAUSE && tick < RESUME)).toEqual([]);
    expect(deliveries.filter(({ tick }) => tick >= PAUSE && tick < RESUME)).toEqual([]);
    // What was sent to it while it was paused reaches it at its resume, none of it lost.
    const kept = deliveries.filter(({ sentAt }) => sentAt >= PAUSE && sentAt < RESUME - 3);
    expect(kept.length).toBeGreaterThan(0);
    expect(new Set(kept.map(({ tick }) => tick))).toEqual(new Set([RESUME]));
    const { stats } = cluster.record(cluster.now);
    expect(stats).toMatchObject({ pauses: 1, droppedWhileDown: 0, restarts: 0 });
    expect(stats.keptWhilePaused).toBeGreaterThanOrEqual(kept.length);
  });

  it('gives a resuming replica the ticks it missed as one tick input, before what was kept', () => {
    const { cluster, inputs } = pausedRun(8);
    while (cluster.now < RESUME + 40) cluster.tick();
    const atResume = inputs.filter(({ tick }) => tick === RESUME).map(({ input }) => input);
    expect(atResume[0]).toEqual({ kind: 'tick', ticks: RESUME - PAUSE });
    expect(atResume.slice(1, -1).every((input) => input.kind !== 'tick')).toBe(true);
    expect(atResume.at(-1)).toEqual({ kind: 'tick' });
    // That is the only jump: every other tick input is one tick.
    const jumps = inputs.filter(({ input }) => input.kind === 'tick' && (input.ticks ?? 1) !== 1);
    expect(jumps).toHaveLength(1);
  });

  it('keeps its memory: same state while paused, its clock jumps on resume, no restart', () => {
    const { scenario, cluster } = pausedRun(9);
    while (cluster.now < PAUSE - 1) cluster.tick();
    const before = cluster.record(cluster.now).statuses[PAUSED];
    expect(before?.lastExecuted).toBeGreaterThan(0);
    while (cluster.now < RESUME - 1) cluster.tick();
    expect(cluster.isPaused(PAUSED)).toBe(true);
    const during = cluster.record(cluster.now).statuses[PAUSED];
    expect(during).toMatchObject({ lastExecuted: before?.lastExecuted, now: before?.now });
    while (cluster.now < RESUME + 60) cluster.tick();
    expect(cluster.isPaused(PAUSED)).toBe(false);
    const { record, statuses } = cluster.record(cluster.now);
    const after = statuses[PAUSED];
    // Its clock reads as if it had never stopped, and it went on from where it was.
    expect(after?.now).toBe((scenario.clockStarts[PAUSED] ?? 0) + cluster.now + 1);
    expect(after?.lastExecuted).toBeGreaterThan(before?.lastExecuted ?? 0);
    const replica = record.replicas[PAUSED];
    expect(replica?.restarts).toBeUndefined();
    expect(replica?.pauses).toEqual([{ pauseTick: PAUSE, resumeTick: RESUME }]);
    expect(replica?.executed.every((entry) => entry.incarnation === undefined)).toBe(true);
    expect(replica?.executed.some((entry) => entry.via === 'fetch')).toBe(false);
  });

  it('records a replica still paused at the end as paused since then', () => {
    const { cluster } = pausedRun(10);
    while (cluster.now < PAUSE + 20) cluster.tick();
    const replica = cluster.record(cluster.now).record.replicas[PAUSED];
    expect(replica?.pausedSince).toBe(PAUSE);
    expect(replica?.pauses).toBeUndefined();
  });

  it('refuses a pause of a Byzantine replica, or one overlapping a crash', () => {
    const base = scenarioFromSeed(11, { replicas: 4, byzantine: 1, honestCrashes: 0 });
    const liar = base.byzantine[0]?.id ?? 0;
    expect(
      () => new SimulatedCluster({ ...base, pauses: [{ id: liar, pauseTick: 5, resumeTick: 9 }] }),
    ).toThrow(/Byzantine/);
    const honest = [0, 1, 2, 3].find((id) => id !== liar) ?? 0;
    expect(
      () =>
        new SimulatedCluster({
          ...base,
          crashes: [{ id: honest, crashTick: 10, restartTick: 50 }],
          pauses: [{ id: honest, pauseTick: 40, resumeTick: 60 }],
        }),
    ).toThrow(/overlaps/);
    expect(
      () => new SimulatedCluster({ ...base, pauses: [{ id: honest, pauseTick: 40, resumeTick: 40 }] }),
    ).toThrow(/resume after/);
  });
});
