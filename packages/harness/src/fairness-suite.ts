/**
 * The fairness suite's scenarios: n=4 on the coordination state machine, no Byzantine replica,
 * no honest crash, two lying agents that all apply one pressure strategy (the seed picks which,
 * round robin, unless `--agent-strategies` says), against tables small enough for two liars to
 * fill in a run. Honest agents arrive after the heal, once the liars have had time to fill them.
 */
import { type CoordinationLimits, DEFAULT_COORDINATION_LIMITS } from '@conclave/coordination';
import { PRESSURE_STRATEGY_NAMES } from './pressure.ts';
import { type ScenarioShape, SIMULATION_PROTOCOL, scenarioFromSeed } from './scenario.ts';
import type { ScenarioOptions, SuiteOverrides } from './scenario-options.ts';

/**
 * Tables small enough that two liars at 2 requests a tick fill them within their head start,
 * each still holding every honest agent's whole workload (3 agents x 6 requests). These are the
 * global bounds of a state machine without per-agent quotas; only names the state machine knows
 * are kept, so with per-agent quotas (which replace these names) the suite runs at the default
 * quotas, which two liars exhaust all the same (they are refused QUOTA).
 */
const SMALL_TABLES: Readonly<Record<string, number>> = {
  kvKeysMax: 24,
  locksMax: 24,
  tasksMax: 24,
  proposalsMax: 24,
  eventsMax: 64,
};
export const FAIRNESS_COORDINATION_LIMITS: Partial<CoordinationLimits> = Object.freeze(
  Object.fromEntries(Object.entries(SMALL_TABLES).filter(([name]) => name in DEFAULT_COORDINATION_LIMITS)),
);

/**
 * Honest agents start within this many ticks after the heal: the liars have the whole faulty
 * phase (100 to 350 ticks) as a head start to fill the tables, and every honest request is then
 * held to the latency bound.
 */
export const FAIRNESS_AGENT_START_SPREAD_TICKS = 60;

/**
 * How long an honest request issued after the heal may take. With no Byzantine replica and a
 * healed network, a request is ordered in a few message delays unless the agent addressed a
 * stale primary: then it waits one retry (`agentRetryTicks`), and the replicas one request
 * timeout before suspecting the primary and one more to finish the view change; requests queued
 * ahead of it are bounded by the per-agent pending bound. So: retry + 2 request timeouts, plus
 * the same again as slack for batching behind the liars' requests.
 */
export function fairnessLatencyBoundTicks(
  options: Pick<ScenarioOptions, 'agentRetryTicks' | 'protocol'>,
): number {
  return 2 * (options.agentRetryTicks + 2 * options.protocol.requestTimeoutTicks);
}

const SHAPE: ScenarioShape = {
  replicas: 4,
  byzantine: 0,
  honestCrashes: 0,
  stateMachine: 'coordination',
  byzantineAgents: 2,
};

export function fairnessScenario(seed: number, overrides: SuiteOverrides = {}): ScenarioOptions {
  const strategy =
    PRESSURE_STRATEGY_NAMES[(seed - 1 + PRESSURE_STRATEGY_NAMES.length) % PRESSURE_STRATEGY_NAMES.length];
  const base = scenarioFromSeed(seed, {
    ...SHAPE,
    ...(overrides.agents === undefined ? {} : { agents: overrides.agents }),
    ...(overrides.requests === undefined ? {} : { requests: overrides.requests }),
    ...(overrides.byzantineAgents === undefined ? {} : { byzantineAgents: overrides.byzantineAgents }),
    ...(overrides.byzantine === undefined ? {} : { byzantine: overrides.byzantine }),
    ...(overrides.drop === undefined ? {} : { drop: overrides.drop }),
    ...(overrides.duplicate === undefined ? {} : { duplicate: overrides.duplicate }),
    ...(overrides.delay === undefined ? {} : { delayTicksMax: overrides.delay }),
    ...(overrides.ticks === undefined ? {} : { ticks: overrides.ticks }),
    agentStrategies: overrides.agentStrategies ?? [strategy as (typeof PRESSURE_STRATEGY_NAMES)[number]],
    ...(overrides.strategies === undefined ? {} : { strategies: overrides.strategies }),
  });
  return {
    ...base,
    protocol: SIMULATION_PROTOCOL,
    agentStartTicksMin: base.healTick,
    agentStartTicksMax: FAIRNESS_AGENT_START_SPREAD_TICKS,
    coordinationLimits: FAIRNESS_COORDINATION_LIMITS,
    fairness: { latencyBoundTicks: fairnessLatencyBoundTicks(base) },
  };
}
