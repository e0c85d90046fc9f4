/** The liveness bounds as a verdict: hand-built records that keep them, and records that break each one. */
import { describe, expect, it } from 'vitest';
import { checkRun } from '../src/checkers.ts';
import {
  checkLivenessBounds,
  LIVENESS_SHAPES,
  livenessPlanFor,
  RANDOM_FAULT_BOUNDS,
  randomFaultPlanFor,
  viewsEntered,
} from '../src/liveness-bounds.ts';
import { livenessScenario, livenessShapeOf } from '../src/liveness-suite.ts';
import type { LivenessPlan, ReplicaRecord, RunRecord, ViewRecord } from '../src/record.ts';
import { SETTLE_TIMEOUTS, SIMULATION_PROTOCOL } from '../src/scenario.ts';
import type { ScenarioResult } from '../src/scenario-options.ts';
import { passes, SUITES } from '../src/suites.ts';
import { agentRecord as agent, replicaRecord } from './support/liveness-records.ts';

const T = SIMULATION_PROTOCOL.requestTimeoutTicks;
const HEAL = 50;
const FAULT = 200;
const RESUME = 400;

const PLAN: LivenessPlan = livenessPlanFor('pause-primary', SIMULATION_PROTOCOL, {
  faultTick: FAULT,
  lastFaultTick: RESUME,
});
/** Far enough after the resume for any of the bounds to be broken before it. */
const END = RESUME + 2 * Math.max(PLAN.stall.ticks, PLAN.oneView.ticks, PLAN.faultStall.ticks) + 100;

/** A replica that executed one request at each of `executed`, with these views (and `extra`). */
function replica(
  id: number,
  executed: number[],
  views: ViewRecord[],
  extra: Partial<ReplicaRecord> = {},
): ReplicaRecord {
  return { ...replicaRecord(id, { executed, views }), ...extra };
}

const VIEW_0: ViewRecord = { tick: 0, view: 0, changingView: false };
const TO_VIEW_1: ViewRecord[] = [
  VIEW_0,
  { tick: 260, view: 1, changingView: true },
  { tick: 262, view: 1, changingView: false },
];

/** Replica 0 paused over [FAULT, RESUME); the others change to view 1 at 260; requests flow. */
function run(
  fields: { executed?: number[]; resumedViews?: ViewRecord[]; plan?: LivenessPlan } = {},
): RunRecord {
  const executed = fields.executed ?? [100, 190, 265, 300, 410, 420, END - 100];
  const resumed = fields.resumedViews ?? [VIEW_0, { tick: RESUME, view: 1, changingView: false }];
  return {
    replicaCount: 4,
    faultsMax: 1,
    checkpointInterval: 4,
    replicas: [
      replica(0, [], resumed, { pauses: [{ pauseTick: FAULT, resumeTick: RESUME }] }),
      replica(1, executed, TO_VIEW_1),
      replica(2, executed, TO_VIEW_1),
      replica(3, executed, TO_VIEW_1),
    ],
    agents: [
      agent([
        [95, 100],
        [185, 190],
        [195, 265],
        [295, 300],
        [405, 410],
        [415, 420],
        [END - 110, END - 100],
      ]),
    ],
    created: new Map(),
    batches: new Map(),
    healTick: HEAL,
    endTick: END,
    agentsDone: true,
    equivocations: [],
    liveness: fields.plan ?? PLAN,
  };
}

describe('checkLivenessBounds', () => {
  it('finds nothing in a run within its bounds, and nothing without a plan', () => {
    expect(checkLivenessBounds(run())).toEqual([]);
    const { liveness: _, ...unplanned } = run({ executed: [100, END - 100] });
    expect(checkLivenessBounds(unplanned)).toEqual([]);
  });

  it('fails a stall after the faults longer than the bound, naming the figure and the bound', () => {
    // A request waits from 410, and nothing executes from then until well past the bound.
    const late = 410 + PLAN.stall.ticks + 10;
    const record: RunRecord = {
      ...run({ executed: [100, 190, 265, 300, 410, late] }),
      agents: [
        agent([
          [405, 410],
          [410, late],
        ]),
      ],
    };
    const messages = checkLivenessBounds(record).map((v) => v.message);
    expect(messages).toContain(
      `pause-primary: longest stall ${PLAN.stall.ticks + 10} ticks after tick ${RESUME} (ended at ${late}) exceeds ${PLAN.stall.rule} = ${PLAN.stall.ticks}`,
    );
    expect(checkLivenessBounds(record).every((v) => v.checker === 'livenessBound')).toBe(true);
  });

  it('fails a stall across the faults longer than its bound', () => {
    const record: RunRecord = { ...run(), agents: [agent([[195, FAULT + PLAN.faultStall.ticks + 1]])] };
    const messages = checkLivenessBounds({
      ...record,
      replicas: record.replicas.map((r) =>
        r.id === 0 ? r : replica(r.id, [190, FAULT + PLAN.faultStall.ticks + 1], TO_VIEW_1),
      ),
    }).map((v) => v.message);
    expect(messages.some((m) => m.includes('after the first fault at tick 200'))).toBe(true);
  });

  it('fails a resumed replica left in its old view (never one view), or late into the new one', () => {
    const stale = checkLivenessBounds(run({ resumedViews: [VIEW_0] }));
    expect(stale.map((v) => v.message)).toEqual([expect.stringContaining('never shared one view')]);
    const late = RESUME + PLAN.oneView.ticks + 1;
    const slow = checkLivenessBounds(
      run({ resumedViews: [VIEW_0, { tick: late, view: 1, changingView: false }] }),
    );
    expect(slow.map((v) => v.message)).toEqual([
      expect.stringContaining(`shared one view only ${PLAN.oneView.ticks + 1} ticks after tick ${RESUME}`),
    ]);
  });

  it('fails a run whose replicas entered a view beyond the one the shape allows', () => {
    const plan = { ...PLAN, viewMax: 0 };
    expect(viewsEntered(run())).toEqual([0, 1]);
    expect(checkLivenessBounds(run({ plan })).map((v) => v.message)).toEqual([
      expect.stringContaining('entered view 1 (views entered: 0, 1), beyond view 0'),
    ]);
  });

  it('fails a run whose replicas lingered in a view its plan says to pass quickly', () => {
    const within = { ticks: 15, rule: '0.25 × requestTimeoutTicks' };
    const plan: LivenessPlan = { ...PLAN, viewMax: 2, viewPass: { view: 1, within } };
    // Replica 0 resumes into view 1 and stays there changing views for 40 ticks, then view 2.
    const lingering = [
      VIEW_0,
      { tick: RESUME, view: 1, changingView: true },
      { tick: RESUME + 40, view: 2, changingView: false },
    ];
    const quick = [VIEW_0, { tick: 262, view: 2, changingView: false }];
    const record = run({ plan, resumedViews: lingering });
    const others = record.replicas.map((r) => (r.id === 0 ? r : { ...r, views: quick }));
    expect(checkLivenessBounds({ ...record, replicas: others }).map((v) => v.message)).toEqual([
      expect.stringContaining(
        'stayed in view 1 for 40 ticks before moving past it, beyond 0.25 × requestTimeoutTicks = 15',
      ),
    ]);
    const passed = [
      VIEW_0,
      { tick: RESUME, view: 1, changingView: true },
      { tick: RESUME + 3, view: 2, changingView: false },
    ];
    const fine = run({ plan, resumedViews: passed });
    expect(
      checkLivenessBounds({
        ...fine,
        replicas: fine.replicas.map((r) => (r.id === 0 ? r : { ...r, views: quick })),
      }),
    ).toEqual([]);
  });

  it('is part of every run check, so a broken bound fails the liveness suite', () => {
    const record = run({ resumedViews: [VIEW_0] });
    const violations = checkRun(record);
    expect(violations.map((v) => v.checker)).toContain('livenessBound');
    const result = { seed: 3, violations } as unknown as ScenarioResult;
    expect(passes(SUITES.liveness, result)).toBe(false);
    expect(passes(SUITES.liveness, { ...result, violations: [] })).toBe(true);
  });
});

describe('the liveness suite', () => {
  it('rotates over the named shapes, each with its plan and bounds in request timeouts', () => {
    const shapes = [1, 2, 3, 4, 5].map(livenessShapeOf);
    expect(shapes).toEqual([...LIVENESS_SHAPES]);
    for (let seed = 1; seed <= 10; seed++) {
      const options = livenessScenario(seed);
      expect(options.liveness?.shape).toBe(livenessShapeOf(seed));
      expect(options.liveness?.stall.ticks).toBe(Number(options.liveness?.stall.rule.split(' ')[0]) * T);
      expect(options.partitions).toEqual([]);
      expect(options.faults.dropProbability).toBe(0);
      expect((options.crashes?.length ?? 0) + (options.pauses?.length ?? 0)).toBeGreaterThan(0);
    }
  });
});

describe('the random-fault suites', () => {
  it('hold default, n7 and crash-restart to the random-fault bounds from their settle tick, and last long enough to settle', () => {
    for (const suite of [SUITES.default, SUITES.n7, SUITES['crash-restart']]) {
      for (const seed of [1, 2, 3]) {
        const options = suite.scenario(seed, {});
        const settle = Math.max(options.healTick, ...(options.crashes ?? []).map((c) => c.restartTick));
        expect(options.liveness).toEqual(randomFaultPlanFor(SIMULATION_PROTOCOL, settle));
        expect(options.liveness?.oneView.ticks).toBe(RANDOM_FAULT_BOUNDS.oneView * T);
        expect(options.runTicksMin).toBe(settle + SETTLE_TIMEOUTS * T);
      }
    }
  });

  it('hold no bound beyond f Byzantine replicas, nor in the must-fail suite', () => {
    expect(SUITES.default.scenario(1, { byzantine: 2 }).liveness).toBeUndefined();
    expect(SUITES['must-fail'].scenario(1, {}).liveness).toBeUndefined();
  });
});
