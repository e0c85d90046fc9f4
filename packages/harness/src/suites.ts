/**
 * Named suites: each turns a seed (and the user's overrides) into a scenario, and says whether
 * the suite passes when the checkers find nothing (every suite within the bound) or when they
 * find a safety violation (`must-fail`, f+1 colluding replicas: the checkers must catch them).
 *
 * The Twins suite enumerates, for n=4 plus a second copy of replica 0, every schedule of
 * ROUNDS rounds where each round splits the five nodes into two or three groups, times the
 * view (and so the primary) the cluster starts in; a seed picks one schedule of that
 * enumeration.
 */
import { isSafetyViolation } from './checkers.ts';
import { fairnessScenario } from './fairness-suite.ts';
import { LIVENESS_SHAPES, randomFaultPlanFor } from './liveness-bounds.ts';
import { livenessScenario } from './liveness-suite.ts';
import { membershipScenario } from './membership-suite.ts';
import type { Address, Partition } from './network.ts';
import { Prng } from './prng.ts';
import { defaultByzantine, type ScenarioShape, scenarioFromSeed } from './scenario.ts';
import {
  type ScenarioOptions,
  type ScenarioResult,
  type SuiteOverrides,
  twinAddress,
} from './scenario-options.ts';
import { sealedScenario } from './sealed-suite.ts';

export const SUITE_NAMES = [
  'default',
  'n7',
  'crash-restart',
  'agents',
  'twins',
  'must-fail',
  'fairness',
  'liveness',
  'membership',
  'sealed',
] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];

export type { SuiteOverrides } from './scenario-options.ts';

export interface Suite {
  readonly name: SuiteName;
  readonly description: string;
  /** 'clean': passes when no checker fires; 'violation': passes when a safety checker fires. */
  readonly expect: 'clean' | 'violation';
  readonly scenario: (seed: number, overrides: SuiteOverrides) => ScenarioOptions;
}

function shapeOf(base: ScenarioShape, o: SuiteOverrides): ScenarioShape {
  const replicas = o.replicas ?? base.replicas;
  return {
    ...base,
    replicas,
    byzantine: o.byzantine ?? (o.replicas === undefined ? base.byzantine : defaultByzantine(replicas)),
    ...(o.agents === undefined ? {} : { agents: o.agents }),
    ...(o.requests === undefined ? {} : { requests: o.requests }),
    ...(o.byzantineAgents === undefined ? {} : { byzantineAgents: o.byzantineAgents }),
    ...(o.strategies === undefined ? {} : { strategies: o.strategies }),
    ...(o.agentStrategies === undefined ? {} : { agentStrategies: o.agentStrategies }),
    ...(o.drop === undefined ? {} : { drop: o.drop }),
    ...(o.duplicate === undefined ? {} : { duplicate: o.duplicate }),
    ...(o.delay === undefined ? {} : { delayTicksMax: o.delay }),
    ...(o.ticks === undefined ? {} : { ticks: o.ticks }),
  };
}

/**
 * A suite from a base shape; with `bounded`, its runs are held to `RANDOM_FAULT_BOUNDS` after
 * they settle (the suites where every fault heals and at most f replicas are Byzantine).
 */
function shaped(name: SuiteName, description: string, base: ScenarioShape, bounded = false): Suite {
  return {
    name,
    description,
    expect: 'clean',
    scenario: (seed, overrides) => {
      const options = scenarioFromSeed(seed, shapeOf(base, overrides));
      // Beyond f Byzantine replicas (an override) the protocol promises no liveness to hold to.
      if (!bounded || options.byzantine.length > Math.floor((options.replicas - 1) / 3)) return options;
      const settleTick = Math.max(options.healTick, ...(options.crashes ?? []).map((c) => c.restartTick));
      return { ...options, liveness: randomFaultPlanFor(options.protocol, settleTick) };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Twins

export const TWINS = Object.freeze({
  /** The replica run twice. */
  twinned: 0,
  rounds: 3,
  roundTicks: 100,
  /** Partitions of the five nodes into this many groups. */
  groupsMin: 2,
  groupsMax: 3,
});

/** Every partition of `items` into between `min` and `max` non-empty groups, in a fixed order. */
export function setPartitions<T>(items: readonly T[], min: number, max: number): T[][][] {
  const out: T[][][] = [];
  const assign = (index: number, groups: T[][]) => {
    if (index === items.length) {
      if (groups.length >= min && groups.length <= max) out.push(groups.map((g) => [...g]));
      return;
    }
    const item = items[index] as T;
    for (const group of groups) {
      group.push(item);
      assign(index + 1, groups);
      group.pop();
    }
    if (groups.length < max) {
      groups.push([item]);
      assign(index + 1, groups);
      groups.pop();
    }
  };
  assign(0, []);
  return out;
}

const TWIN_NODES: readonly Address[] = [0, 1, 2, 3, twinAddress(TWINS.twinned)];
export const TWIN_PARTITIONS: readonly Address[][][] = setPartitions(
  TWIN_NODES,
  TWINS.groupsMin,
  TWINS.groupsMax,
);
/** Start views: which replica leads first (view v's primary is v mod 4). */
export const TWIN_START_VIEWS = [0, 1, 2, 3] as const;
/** Size of the enumeration: start views × partitions per round. */
export const TWIN_SCHEDULES = TWIN_START_VIEWS.length * TWIN_PARTITIONS.length ** TWINS.rounds;

export interface TwinSchedule {
  readonly index: number;
  readonly startView: number;
  /** One partition (list of groups) per round. */
  readonly rounds: readonly (readonly (readonly Address[])[])[];
}

/** Schedule number `index` of the enumeration (mixed radix: start view, then round by round). */
export function twinSchedule(index: number): TwinSchedule {
  if (!Number.isSafeInteger(index) || index < 0 || index >= TWIN_SCHEDULES)
    throw new RangeError(`twin schedule ${index} outside [0, ${TWIN_SCHEDULES})`);
  let rest = index;
  const startView = TWIN_START_VIEWS[rest % TWIN_START_VIEWS.length] as number;
  rest = Math.floor(rest / TWIN_START_VIEWS.length);
  const rounds: Address[][][] = [];
  for (let round = 0; round < TWINS.rounds; round++) {
    rounds.push(TWIN_PARTITIONS[rest % TWIN_PARTITIONS.length] as Address[][]);
    rest = Math.floor(rest / TWIN_PARTITIONS.length);
  }
  return { index, startView, rounds };
}

/** The schedule a seed samples from the enumeration. */
export function twinScheduleForSeed(seed: number): TwinSchedule {
  return twinSchedule(new Prng(seed).fork('twins-schedule').int(TWIN_SCHEDULES));
}

export function twinsScenario(seed: number, overrides: SuiteOverrides = {}): ScenarioOptions {
  const schedule = twinScheduleForSeed(seed);
  const base = scenarioFromSeed(seed, {
    ...shapeOf({ replicas: 4, byzantine: 0, byzantineAgents: 0, honestCrashes: 0 }, overrides),
    replicas: 4,
    byzantine: 0,
  });
  const partitions: Partition[] = [];
  schedule.rounds.forEach((groups, round) => {
    const startTick = round * TWINS.roundTicks;
    const healTick = startTick + TWINS.roundTicks;
    for (let i = 0; i < groups.length; i++)
      for (let j = i + 1; j < groups.length; j++)
        partitions.push({ startTick, healTick, sideA: groups[i] ?? [], sideB: groups[j] ?? [] });
  });
  const healTick = TWINS.rounds * TWINS.roundTicks;
  return {
    ...base,
    byzantine: [{ id: TWINS.twinned, strategies: ['twins'], colluding: false }],
    collusion: false,
    partitions,
    healTick,
    faults: base.healedFaults,
    startView: schedule.startView,
  };
}

// ---------------------------------------------------------------------------------------------

function mustFailScenario(seed: number, overrides: SuiteOverrides): ScenarioOptions {
  const replicas = overrides.replicas ?? 4;
  const f = defaultByzantine(replicas);
  const options = scenarioFromSeed(seed, {
    ...shapeOf({ replicas, byzantine: f + 1 }, overrides),
    byzantine: overrides.byzantine ?? f + 1,
  });
  // Every liar joins the conspiracy: that is the attack beyond the bound.
  return {
    ...options,
    collusion: true,
    byzantine: options.byzantine.map((plan) => ({
      ...plan,
      colluding: true,
      strategies: plan.strategies.some((s) => s === 'silent' || s === 'crash')
        ? ['equivocate']
        : plan.strategies,
    })),
  };
}

export const SUITES: Readonly<Record<SuiteName, Suite>> = {
  default: shaped(
    'default',
    'n=4, f Byzantine replicas from the random mix, honest crashes, lying agents',
    { replicas: 4, byzantine: 1 },
    true,
  ),
  n7: shaped('n7', 'n=7, f=2 Byzantine replicas from the random mix', { replicas: 7, byzantine: 2 }, true),
  'crash-restart': shaped(
    'crash-restart',
    'n=4: two honest replicas crash and restart from durable state, one Byzantine',
    { replicas: 4, byzantine: 1, honestCrashes: 2 },
    true,
  ),
  agents: shaped('agents', 'n=4 running the coordination state machine, two lying agents', {
    replicas: 4,
    byzantine: 1,
    stateMachine: 'coordination',
    byzantineAgents: 2,
  }),
  twins: {
    name: 'twins',
    description: `n=4 with replica ${TWINS.twinned} run twice: ${TWIN_SCHEDULES} schedules (start view x ${TWINS.rounds} rounds of 2-3 groups), sampled by seed`,
    expect: 'clean',
    scenario: twinsScenario,
  },
  'must-fail': {
    name: 'must-fail',
    description: 'f+1 colluding Byzantine replicas: passes when the checkers find a safety violation',
    expect: 'violation',
    scenario: mustFailScenario,
  },
  fairness: {
    name: 'fairness',
    description:
      'n=4 coordination, two lying agents applying one pressure strategy (by seed) against small tables: honest agents must be served within the bound',
    expect: 'clean',
    scenario: fairnessScenario,
  },
  liveness: {
    name: 'liveness',
    description: `honest faults by named shape (seed picks, round robin: ${LIVENESS_SHAPES.join(', ')}); stalls and time to one view held to bounds`,
    expect: 'clean',
    scenario: livenessScenario,
  },
  membership: {
    name: 'membership',
    description:
      'n=4 coordination: agents join, rotate keys and leave while liars attack the registry; registries agree and no request executes under a key out of force',
    expect: 'clean',
    scenario: membershipScenario,
  },
  sealed: {
    name: 'sealed',
    description:
      'n=4 coordination: sealed proposals committed and revealed while liars attack the commit-reveal rules and a Byzantine primary orders reveals early; tallies replayed from the log, no ballot readable before the commit deadline',
    expect: 'clean',
    scenario: sealedScenario,
  },
};

export function isSuiteName(name: string): name is SuiteName {
  return (SUITE_NAMES as readonly string[]).includes(name);
}

/** Whether a run passes its suite. */
export function passes(suite: Suite, result: ScenarioResult): boolean {
  return suite.expect === 'clean'
    ? result.violations.length === 0
    : result.violations.some(isSafetyViolation);
}

/** The flags that reproduce a suite run with these overrides (`pnpm sim --suite ... --seed S ...`). */
export function replayArguments(suite: SuiteName, seed: number, o: SuiteOverrides): string[] {
  const args = ['--suite', suite, '--seed', String(seed)];
  const add = (flag: string, value: string | number | undefined) => {
    if (value !== undefined) args.push(`--${flag}`, String(value));
  };
  add('replicas', o.replicas);
  add('byzantine', o.byzantine);
  add('agents', o.agents);
  add('requests', o.requests);
  add('byzantine-agents', o.byzantineAgents);
  add('strategies', o.strategies?.join(','));
  add('agent-strategies', o.agentStrategies?.join(','));
  add('drop', o.drop);
  add('duplicate', o.duplicate);
  add('delay', o.delay);
  add('ticks', o.ticks);
  return args;
}

export interface SuiteRunSummary {
  readonly suite: SuiteName;
  readonly passed: number;
  readonly failed: number;
  readonly failures: readonly ScenarioResult[];
  readonly messagesDelivered: number;
}

/** Runs `count` seeds of a suite from `start`. */
export function runSuite(
  name: SuiteName,
  start: number,
  count: number,
  overrides: SuiteOverrides = {},
  run: (options: ScenarioOptions) => ScenarioResult,
  onResult?: (result: ScenarioResult, passed: boolean) => void,
): SuiteRunSummary {
  const suite = SUITES[name];
  let passed = 0;
  let messagesDelivered = 0;
  const failures: ScenarioResult[] = [];
  for (let seed = start; seed < start + count; seed++) {
    const result = run(suite.scenario(seed, overrides));
    messagesDelivered += result.stats.network.delivered;
    const ok = passes(suite, result);
    if (ok) passed++;
    else failures.push(result);
    onResult?.(result, ok);
  }
  return { suite: name, passed, failed: failures.length, failures, messagesDelivered };
}
