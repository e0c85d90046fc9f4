/**
 * Scenarios from seeds: a seed alone decides fault rates, the partition schedule, which replicas
 * are Byzantine and how they lie. `scenarioFromSeed(s, shape)` is therefore a complete, printable
 * description of a run, and `pnpm sim --seed s ...` replays it.
 */
import { DEFAULT_PROTOCOL_CONFIG, type ProtocolConfig, quorumsOf } from '@conclave/core';
import { type ByzantinePlan, COMBINABLE_STRATEGIES, type StrategyName } from './byzantine.ts';
import type { AgentStrategyName } from './byzantine-agent.ts';
import type { Address, FaultConfig, Partition } from './network.ts';
import { Prng } from './prng.ts';
import {
  type CrashPlan,
  type ScenarioOptions,
  type ScenarioResult,
  twinAddress,
} from './scenario-options.ts';
import { runScenario } from './simulation.ts';
import type { StateMachineKind } from './workload.ts';

/** Small windows so that checkpoints, garbage collection and view changes happen often. */
export const SIMULATION_PROTOCOL: ProtocolConfig = Object.freeze({
  ...DEFAULT_PROTOCOL_CONFIG,
  checkpointInterval: 4,
  watermarkWindow: 16,
  batchSizeMax: 8,
  pipelineDepthMax: 4,
  requestTimeoutTicks: 60,
  heartbeatTicks: 20,
  retryTicks: 15,
  timestampSkewMaxTicks: 1000,
  viewChangeBackoffMax: 3,
});

export interface ScenarioShape {
  readonly replicas: number;
  /** How many replicas are Byzantine; more than f breaks the protocol's assumptions on purpose. */
  readonly byzantine: number;
  readonly agents?: number;
  readonly requests?: number;
  /** Lying agents; by default the seed decides between none and one. */
  readonly byzantineAgents?: number;
  /** Strategies Byzantine replicas draw from (each draws one to three); all of them by default. */
  readonly strategies?: readonly StrategyName[];
  /** What lying agents may do; everything that fits the state machine by default. */
  readonly agentStrategies?: readonly AgentStrategyName[];
  readonly stateMachine?: StateMachineKind;
  /** Honest replicas that crash and restart from durable state; by default the seed decides (0 or 1). */
  readonly honestCrashes?: number;
  /** Fault rates until the heal, instead of the seed's. */
  readonly drop?: number;
  readonly duplicate?: number;
  readonly delayTicksMax?: number;
  /** The tick at which the network heals (the length of the faulty phase), instead of the seed's. */
  readonly ticks?: number;
}

export const SCENARIO_DEFAULTS = Object.freeze({
  agents: 3,
  requests: 6,
  keyCount: 3,
  healTickMin: 100,
  healTickMax: 350,
  livenessTicksMax: 4000,
  drainTicks: 40,
  partitionsMax: 2,
  clockSkewTicksMax: 50,
});

/** Probability that a scenario has one lying agent (any number of agents may lie). */
const BYZANTINE_AGENT_PROBABILITY = 0.5;
/** Probability that k >= 2 Byzantine replicas collude. */
const COLLUSION_PROBABILITY = 0.85;
/** Probability that replica 0, primary of view 0, is among the Byzantine: early attacks matter most. */
const FIRST_PRIMARY_BYZANTINE_PROBABILITY = 0.5;
/** Probability that an honest replica crashes and restarts from its durable state. */
const HONEST_CRASH_PROBABILITY = 0.35;
/**
 * Request timeouts a run lasts at least after its heal or last honest restart, agents done or
 * not: long enough to see every honest replica settle into one view (the liveness figures
 * measure it), so that a run that ends right after its heal does not read as "never in one view".
 */
export const SETTLE_TIMEOUTS = 5;

export function scenarioFromSeed(seed: number, shape: ScenarioShape): ScenarioOptions {
  const n = shape.replicas;
  const k = shape.byzantine;
  if (!Number.isSafeInteger(n) || n < 4) throw new RangeError(`replicas must be an integer >= 4, got ${n}`);
  if (!Number.isSafeInteger(k) || k < 0 || k >= n)
    throw new RangeError(`byzantine must be an integer in [0, ${n - 1}], got ${k}`);
  const agents = shape.agents ?? SCENARIO_DEFAULTS.agents;
  const requests = shape.requests ?? SCENARIO_DEFAULTS.requests;
  const root = new Prng(seed);

  const faultStream = root.fork('scenario-faults');
  const drawnHealTick = faultStream.range(SCENARIO_DEFAULTS.healTickMin, SCENARIO_DEFAULTS.healTickMax);
  const healTick = shape.ticks ?? drawnHealTick;
  const drawn: FaultConfig = {
    dropProbability: faultStream.chance(0.2) ? 0 : faultStream.next() * 0.15,
    duplicateProbability: faultStream.next() * 0.1,
    delayTicksMin: 1,
    delayTicksMax: faultStream.range(1, 8),
    reorderProbability: faultStream.next() * 0.2,
    reorderDelayTicksMax: faultStream.range(5, 30),
  };
  const faults: FaultConfig = {
    ...drawn,
    ...(shape.drop === undefined ? {} : { dropProbability: shape.drop }),
    ...(shape.duplicate === undefined ? {} : { duplicateProbability: shape.duplicate }),
    ...(shape.delayTicksMax === undefined ? {} : { delayTicksMax: Math.max(1, shape.delayTicksMax) }),
  };
  const healedFaults: FaultConfig = {
    dropProbability: 0,
    duplicateProbability: 0,
    delayTicksMin: 1,
    delayTicksMax: faultStream.range(1, 3),
    reorderProbability: 0,
    reorderDelayTicksMax: 0,
  };

  const agentIds = Array.from({ length: agents }, (_, i) => `agent-${i}`);
  const byzantineAgents =
    shape.byzantineAgents ?? (root.fork('scenario-agents').chance(BYZANTINE_AGENT_PROBABILITY) ? 1 : 0);
  const partitions: Partition[] = [];
  const partitionCount = faultStream.int(SCENARIO_DEFAULTS.partitionsMax + 1);
  for (let i = 0; i < partitionCount; i++) {
    const startTick = faultStream.int(healTick);
    const healAt = Math.min(healTick, startTick + faultStream.range(20, 150));
    const replicaIds = faultStream.shuffle(Array.from({ length: n }, (_, id) => id));
    const cut = faultStream.range(1, n - 1);
    const sideA: Address[] = replicaIds.slice(0, cut);
    const sideB: Address[] = replicaIds.slice(cut);
    for (const agent of agentIds) {
      const roll = faultStream.next();
      if (roll < 0.3) sideA.push(agent);
      else if (roll < 0.6) sideB.push(agent);
    }
    partitions.push({ startTick, healTick: healAt, sideA, sideB });
  }

  const clockStream = root.fork('scenario-clocks');
  const clockStarts = Array.from({ length: n }, () =>
    clockStream.int(SCENARIO_DEFAULTS.clockSkewTicksMax + 1),
  );

  const adversary = root.fork('scenario-adversary');
  const byzantineIds = chooseByzantine(adversary, n, k);
  const collusion = k >= 2 && adversary.chance(COLLUSION_PROBABILITY);
  const byzantine = byzantineIds.map((id) =>
    planFor(adversary, id, collusion, healTick + SCENARIO_DEFAULTS.livenessTicksMax, shape.strategies),
  );

  // Honest replicas that crash and come back: not Byzantine, so every checker still holds them.
  const crashStream = root.fork('scenario-crashes');
  const honestIds = Array.from({ length: n }, (_, id) => id).filter((id) => !byzantineIds.includes(id));
  const honestCrashes = Math.min(
    shape.honestCrashes ?? (crashStream.chance(HONEST_CRASH_PROBABILITY) ? 1 : 0),
    honestIds.length,
  );
  const crashes: CrashPlan[] = crashStream
    .sample(honestIds, honestCrashes)
    .sort((a, b) => a - b)
    .map((id) => {
      const crashTick = crashStream.range(20, Math.max(20, healTick));
      return { id, crashTick, restartTick: crashTick + crashStream.range(10, 300) };
    });

  // A twin's two copies are each wired to a different part of the other replicas, for good.
  const twinStream = root.fork('scenario-twins');
  const permanentPartitions: Partition[] = [];
  for (const plan of byzantine) {
    if (!plan.strategies.includes('twins')) continue;
    const others = twinStream.shuffle(
      Array.from({ length: n }, (_, id) => id).filter((id) => id !== plan.id),
    );
    const cut = twinStream.range(1, others.length - 1);
    const forever = Number.MAX_SAFE_INTEGER;
    permanentPartitions.push(
      { startTick: 0, healTick: forever, sideA: [plan.id], sideB: others.slice(cut) },
      { startTick: 0, healTick: forever, sideA: [twinAddress(plan.id)], sideB: others.slice(0, cut) },
    );
  }

  return {
    seed,
    replicas: n,
    byzantine,
    collusion,
    agents,
    byzantineAgents,
    requestsPerAgent: requests,
    keyCount: SCENARIO_DEFAULTS.keyCount,
    protocol: SIMULATION_PROTOCOL,
    faults,
    healedFaults,
    partitions,
    healTick,
    livenessTicksMax: SCENARIO_DEFAULTS.livenessTicksMax,
    drainTicks: SCENARIO_DEFAULTS.drainTicks,
    clockStarts,
    agentStartTicksMax: 20,
    agentThinkTicksMax: 5,
    agentRetryTicks: 30,
    agentRetryTicksMax: 240,
    ...(shape.stateMachine === undefined || shape.stateMachine === 'kv'
      ? {}
      : { stateMachine: shape.stateMachine }),
    ...(crashes.length === 0 ? {} : { crashes }),
    runTicksMin:
      Math.max(healTick, ...crashes.map((crash) => crash.restartTick)) +
      SETTLE_TIMEOUTS * SIMULATION_PROTOCOL.requestTimeoutTicks,
    ...(shape.agentStrategies === undefined ? {} : { byzantineAgentStrategies: shape.agentStrategies }),
    ...(permanentPartitions.length === 0 ? {} : { permanentPartitions }),
    burstDelivery: root.fork('delivery').chance(0.5),
  };
}

function chooseByzantine(prng: Prng, n: number, k: number): number[] {
  if (k === 0) return [];
  const ids = Array.from({ length: n }, (_, id) => id);
  if (prng.chance(FIRST_PRIMARY_BYZANTINE_PROBABILITY)) {
    return [0, ...prng.sample(ids.slice(1), k - 1)].sort((a, b) => a - b);
  }
  return prng.sample(ids, k).sort((a, b) => a - b);
}

function planFor(
  prng: Prng,
  id: number,
  colluding: boolean,
  runTicksMax: number,
  pool?: readonly StrategyName[],
): ByzantinePlan {
  if (pool !== undefined && pool.length > 0) {
    // Chosen strategies: silence and crashes stand alone, the rest combine.
    const alone = pool.filter((name) => name === 'silent' || name === 'crash');
    const combinable = pool.filter((name) => name !== 'silent' && name !== 'crash');
    if (combinable.length === 0 || (alone.length > 0 && prng.chance(alone.length / pool.length))) {
      const name = prng.pick(alone);
      return name === 'crash'
        ? { id, strategies: ['crash'], crashTick: prng.int(Math.min(runTicksMax, 600)), colluding }
        : { id, strategies: ['silent'], colluding };
    }
    const strategies = prng.sample(combinable, prng.range(1, Math.min(3, combinable.length)));
    strategies.sort((a, b) => COMBINABLE_STRATEGIES.indexOf(a) - COMBINABLE_STRATEGIES.indexOf(b));
    return { id, strategies, colluding };
  }
  // A colluder must speak to collude, so silence and crashes are for loners.
  if (!colluding) {
    const roll = prng.next();
    if (roll < 0.12) return { id, strategies: ['silent'], colluding };
    if (roll < 0.24)
      return { id, strategies: ['crash'], crashTick: prng.int(Math.min(runTicksMax, 600)), colluding };
  }
  const count = prng.range(1, 4);
  const strategies: StrategyName[] = prng.sample(COMBINABLE_STRATEGIES, count);
  strategies.sort((a, b) => COMBINABLE_STRATEGIES.indexOf(a) - COMBINABLE_STRATEGIES.indexOf(b));
  return { id, strategies, colluding };
}

export interface SeedRunOptions extends ScenarioShape {
  readonly start: number;
  readonly count: number;
  /** Called after each seed, e.g. to print failures as they happen. */
  readonly onResult?: (result: ScenarioResult) => void;
}

export interface SeedRunSummary {
  readonly passed: number;
  readonly failed: number;
  readonly failures: readonly ScenarioResult[];
  /** Frames delivered over all runs. */
  readonly messagesDelivered: number;
  /** Requests whose result an honest agent accepted (f+1 matching replies), over all runs. */
  readonly requestsCompleted: number;
  readonly ticks: number;
}

/** Requests whose result an honest agent accepted in one run. */
export function requestsCompletedIn(result: ScenarioResult): number {
  let completed = 0;
  for (const agent of result.record.agents) completed += new Set(agent.accepted.map((a) => a.requestId)).size;
  return completed;
}

export function runSeeds(options: SeedRunOptions): SeedRunSummary {
  let passed = 0;
  let messagesDelivered = 0;
  let requestsCompleted = 0;
  let ticks = 0;
  const failures: ScenarioResult[] = [];
  for (let seed = options.start; seed < options.start + options.count; seed++) {
    const result = runScenario(scenarioFromSeed(seed, options));
    messagesDelivered += result.stats.network.delivered;
    requestsCompleted += requestsCompletedIn(result);
    ticks += result.stats.ticks;
    if (result.violations.length === 0) passed++;
    else failures.push(result);
    options.onResult?.(result);
  }
  return { passed, failed: failures.length, failures, messagesDelivered, requestsCompleted, ticks };
}

/** The command that replays one seed. */
export function replayCommand(seed: number, shape: ScenarioShape): string {
  const parts = [`pnpm sim --seed ${seed} --replicas ${shape.replicas} --byzantine ${shape.byzantine}`];
  if (shape.agents !== undefined && shape.agents !== SCENARIO_DEFAULTS.agents)
    parts.push(`--agents ${shape.agents}`);
  if (shape.requests !== undefined && shape.requests !== SCENARIO_DEFAULTS.requests)
    parts.push(`--requests ${shape.requests}`);
  return parts.join(' ');
}

export function defaultByzantine(replicas: number): number {
  return quorumsOf(replicas).f;
}
