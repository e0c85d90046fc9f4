/** The liveness figures of a run, from hand-built records: stalls while work waits, and when views agree. */
import { describe, expect, it } from 'vitest';
import { livenessOf } from '../src/liveness.ts';
import type { AgentRecord, ReplicaRecord, RestartRecord, RunRecord, ViewRecord } from '../src/record.ts';
import { agentRecord as agent, replicaRecord as replica } from './support/liveness-records.ts';

const HEAL = 100;
const END = 1_000;

/** Only what `livenessOf` reads is meaningful; the rest is empty. */
function run(replicas: ReplicaRecord[], agents: AgentRecord[]): RunRecord {
  return {
    replicaCount: replicas.length,
    faultsMax: 1,
    checkpointInterval: 16,
    replicas,
    agents,
    created: new Map(),
    batches: new Map(),
    healTick: HEAL,
    endTick: END,
    agentsDone: true,
    equivocations: [],
  } as unknown as RunRecord;
}

describe('livenessOf: stalls', () => {
  it('is the longest gap between executions while a request waits, counted from the heal', () => {
    const record = run(
      [replica(0, { executed: [60, 105, 140] }), replica(1, { executed: [150] })],
      [agent([[50, 150]])],
    );
    // Waiting from 50, but measured from the heal at 100: 100→105, 105→140, 140→150.
    expect(livenessOf(record)).toMatchObject({
      longestStallTicks: 35,
      longestStallEndTick: 140,
      fromTick: HEAL,
    });
  });

  it('does not count time with nothing waiting, nor what a Byzantine replica executed', () => {
    const record = run(
      [replica(0, { executed: [110, 500] }), replica(1, { executed: [495], honest: false })],
      [
        agent([
          [105, 110],
          [490, 500],
        ]),
      ],
    );
    expect(livenessOf(record).longestStallTicks).toBe(10);
  });

  it('runs a request that never completes to the end of the run', () => {
    const record = run([replica(0, { executed: [200] })], [agent([[150, undefined]])]);
    expect(livenessOf(record)).toMatchObject({ longestStallTicks: END - 200, longestStallEndTick: END });
  });

  it('reports no stall when nothing waited', () => {
    expect(livenessOf(run([replica(0)], []))).toMatchObject({
      longestStallTicks: 0,
      longestStallEndTick: undefined,
    });
  });
});

describe('livenessOf: one view', () => {
  const changeTo = (tick: number, view: number, doneAt: number): ViewRecord[] => [
    { tick: 0, view: 0, changingView: false },
    { tick, view, changingView: true },
    { tick: doneAt, view, changingView: false },
  ];

  it('is how long after the heal the honest replicas last disagreed, or were changing views', () => {
    const record = run(
      [replica(0, { views: changeTo(200, 1, 230) }), replica(1, { views: changeTo(210, 1, 240) })],
      [],
    );
    expect(livenessOf(record).viewsAgreeAfterTicks).toBe(240 - HEAL);
  });

  it('is 0 when they agreed from the heal on', () => {
    expect(livenessOf(run([replica(0), replica(1)], [])).viewsAgreeAfterTicks).toBe(0);
  });

  it('is undefined when one is still changing views, or in another view, at the end', () => {
    const stuck: ViewRecord[] = [
      { tick: 0, view: 0, changingView: false },
      { tick: 300, view: 1, changingView: true },
    ];
    expect(
      livenessOf(run([replica(0), replica(1, { views: stuck })], [])).viewsAgreeAfterTicks,
    ).toBeUndefined();
    const alone: ViewRecord[] = [{ tick: 0, view: 4, changingView: false }];
    expect(
      livenessOf(run([replica(0), replica(1, { views: alone })], [])).viewsAgreeAfterTicks,
    ).toBeUndefined();
  });

  it('measures a run that ended before its heal at its end', () => {
    const record = { ...run([replica(0), replica(1)], []), endTick: HEAL - 40 };
    expect(livenessOf(record)).toMatchObject({
      fromTick: HEAL - 40,
      viewsAgreeAfterTicks: 0,
      longestStallTicks: 0,
    });
  });

  it('leaves out a replica while it is down, and counts from its restart after the heal', () => {
    const restarts: RestartRecord[] = [{ crashTick: 150, restartTick: 300, durable: true, lastExecuted: 0 }];
    const views: ViewRecord[] = [
      { tick: 0, view: 0, changingView: false },
      { tick: 300, view: 0, changingView: true },
      { tick: 340, view: 1, changingView: false },
    ];
    const record = run([replica(0, { views: changeTo(200, 1, 210) }), replica(1, { views, restarts })], []);
    expect(livenessOf(record)).toMatchObject({ fromTick: 300, viewsAgreeAfterTicks: 40 });
  });
});

describe('livenessOf: pauses', () => {
  it('leaves out a replica while it is paused, and counts from its resume after the heal', () => {
    const views: ViewRecord[] = [
      { tick: 0, view: 0, changingView: false },
      { tick: 420, view: 1, changingView: false },
    ];
    const record = run(
      [
        replica(0, {
          views: [
            { tick: 0, view: 0, changingView: false },
            { tick: 250, view: 1, changingView: false },
          ],
        }),
        replica(1, { views, pauses: [{ pauseTick: 200, resumeTick: 400 }] }),
      ],
      [],
    );
    expect(livenessOf(record)).toMatchObject({ fromTick: 400, viewsAgreeAfterTicks: 20 });
  });

  it('leaves out a replica still paused at the end', () => {
    const stale: ViewRecord[] = [{ tick: 0, view: 0, changingView: false }];
    const moved: ViewRecord[] = [
      { tick: 0, view: 0, changingView: false },
      { tick: 200, view: 1, changingView: false },
    ];
    // They disagree from 200 until replica 1 is paused, in its stale view, at 250.
    const record = run([replica(0, { views: moved }), replica(1, { views: stale, pausedSince: 250 })], []);
    expect(livenessOf(record)).toMatchObject({ fromTick: HEAL, viewsAgreeAfterTicks: 250 - HEAL });
  });

  it('measures from a given tick instead, when asked', () => {
    const record = run(
      [replica(0, { executed: [110, 180], pauses: [{ pauseTick: 150, resumeTick: 170 }] })],
      [agent([[105, 180]])],
    );
    expect(livenessOf(record)).toMatchObject({ fromTick: 170, longestStallTicks: 10 });
    expect(livenessOf(record, { fromTick: 100 })).toMatchObject({ fromTick: 100, longestStallTicks: 70 });
  });
});
