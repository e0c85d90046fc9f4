/**
 * What a simulated run is given and what it gives back: the options of a scenario, its result
 * and statistics. Its own module, so that the simulator, the tracer and the scenario builders can
 * all name these without importing one another.
 */
import type { CoordinationLimits } from '@conclave/coordination';
import type { ProtocolConfig, ReplicaStatus } from '@conclave/core';
import type { ByzantinePlan, StrategyName } from './byzantine.ts';
import type { AgentStrategyName } from './byzantine-agent.ts';
import type { Violation } from './checkers.ts';
import type { LivenessFigures } from './liveness.ts';
import type { FaultConfig, NetworkStats, Partition } from './network.ts';
import type { LivenessPlan, RunRecord } from './record.ts';
import type { StateMachineKind } from './workload.ts';

/** An honest replica that crashes at `crashTick` and restarts from its durable state at `restartTick`. */
export interface CrashPlan {
  readonly id: number;
  readonly crashTick: number;
  readonly restartTick: number;
}

/**
 * An honest replica paused (the SIGSTOP/SIGCONT analogue) from `pauseTick` (inclusive) to
 * `resumeTick` (exclusive): it is not stepped and receives nothing meanwhile, but what is sent to
 * it is kept and delivered once it resumes; it keeps its memory. At `resumeTick` it first gets one
 * tick input of `resumeTick - pauseTick` ticks (its clock jumps over the pause), then what was kept.
 */
export interface PausePlan {
  readonly id: number;
  readonly pauseTick: number;
  readonly resumeTick: number;
}

/** The network address of the second copy of a twinned replica. */
export function twinAddress(id: number): string {
  return `twin-${id}`;
}

export interface ScenarioOptions {
  readonly seed: number;
  readonly replicas: number;
  /** One plan per Byzantine replica; every other replica is honest. */
  readonly byzantine: readonly ByzantinePlan[];
  /** Whether Byzantine replicas marked `colluding` share a conspiracy. */
  readonly collusion: boolean;
  readonly agents: number;
  /** Registered agents that lie (see byzantine-agent.ts); nothing is promised to them. */
  readonly byzantineAgents: number;
  readonly requestsPerAgent: number;
  readonly keyCount: number;
  readonly protocol: ProtocolConfig;
  /** The network until `healTick`. */
  readonly faults: FaultConfig;
  /** The network from `healTick` on: no drops, small bounded delays. */
  readonly healedFaults: FaultConfig;
  readonly partitions: readonly Partition[];
  readonly healTick: number;
  /** Ticks after the heal within which every honest agent must be done. */
  readonly livenessTicksMax: number;
  /** Ticks to keep running after every agent is done, so lagging replicas catch up for the checkers. */
  readonly drainTicks: number;
  /** Initial clock reading of each replica (clocks are skewed, not drifting). */
  readonly clockStarts: readonly number[];
  /** Honest agents start at `agentStartTicksMin` (0 by default) plus up to this many ticks. */
  readonly agentStartTicksMax: number;
  readonly agentStartTicksMin?: number;
  readonly agentThinkTicksMax: number;
  readonly agentRetryTicks: number;
  readonly agentRetryTicksMax: number;
  /** What replicas execute: the KV store (default) or the coordination state machine. */
  readonly stateMachine?: StateMachineKind;
  /** Honest replicas that crash and restart from their durable state (not a Byzantine act). */
  readonly crashes?: readonly CrashPlan[];
  /** Honest replicas paused and resumed (not a Byzantine act either); see `PausePlan`. */
  readonly pauses?: readonly PausePlan[];
  /**
   * The run goes on at least to this tick even when every agent is done (within the tick limit),
   * so what follows a late fault is seen.
   */
  readonly runTicksMin?: number;
  /** What lying agents may do; by default everything that fits the state machine. */
  readonly byzantineAgentStrategies?: readonly AgentStrategyName[];
  /** The view every replica starts in (its primary leads first); 0 by default. */
  readonly startView?: number;
  /** Partitions that outlive the heal (a twin's copies stay wired to different parts). */
  readonly permanentPartitions?: readonly Partition[];
  /**
   * Frames due at one tick for one honest replica are stepped as one `messages` input (as the
   * daemon steps its inbox), instead of one `message` input each.
   */
  readonly burstDelivery?: boolean;
  /** Overrides of the coordination state machine's limits (every replica gets the same). */
  readonly coordinationLimits?: Partial<CoordinationLimits>;
  /**
   * Judge fairness (see fairness.ts): honest agents write only their own keys, every signed
   * operation is summarised in the record, and honest requests must finish within the bound.
   */
  readonly fairness?: FairnessPlan;
  /**
   * Hold liveness to bounds (see liveness-bounds.ts): the figures measured from the stabilisation
   * and across the planned faults must keep them, or the run fails under `livenessBound`.
   */
  readonly liveness?: LivenessPlan;
  /**
   * The membership suite (membership-suite.ts): scripted agents change the registry (register,
   * rotate, remove) while liars attack it; needs the coordination state machine, 3 honest and
   * 2 lying genesis agents.
   */
  readonly membership?: MembershipPlan;
  /**
   * The sealed suite (sealed-suite.ts): scripted agents open sealed proposals, commit and reveal
   * while liars attack the commit-reveal rules; needs the coordination state machine, 3 honest
   * and 2 lying genesis agents.
   */
  readonly sealed?: SealedPlan;
}

/** What a sealed run plays (see sealed-agents.ts): the phases' lengths in agreed-time ticks. */
export interface SealedPlan {
  readonly commitTicks: number;
  readonly revealTicks: number;
}

/** What a membership run plays (see membership-agents.ts). */
export interface MembershipPlan {
  /** Ordinary writes per honest agent before and after its membership steps. */
  readonly writes: number;
  /** The genesis council. */
  readonly council: { readonly members: readonly string[]; readonly threshold: number };
}

/** What a fairness run promises honest agents. */
export interface FairnessPlan {
  /** Ticks within which an honest request issued after the heal must be accepted. */
  readonly latencyBoundTicks: number;
}

export interface ScenarioStats {
  readonly ticks: number;
  readonly network: NetworkStats;
  /** Steps taken by honest replicas (messages and ticks). */
  readonly replicaSteps: number;
  readonly executedBatches: number;
  readonly viewMax: number;
  /** Rejections summed over honest replicas, by code. */
  readonly rejections: Readonly<Record<string, number>>;
  readonly persistRecords: number;
  readonly repliesIgnored: number;
  /** Frames that reached a replica while it was down (crashed), and were lost. */
  readonly droppedWhileDown: number;
  /** Receipts fetched and checked, and those no longer available (garbage-collected at once). */
  readonly receiptsChecked: number;
  readonly receiptsUnavailable: number;
  readonly restarts: number;
  /** Runs with pauses only: pauses begun, and frames the network kept for paused replicas. */
  readonly pauses?: number;
  readonly keptWhilePaused?: number;
}

export interface ScenarioResult {
  readonly seed: number;
  readonly options: ScenarioOptions;
  readonly violations: readonly Violation[];
  readonly record: RunRecord;
  readonly stats: ScenarioStats;
  /** Each honest replica's status at the end. */
  readonly statuses: readonly ReplicaStatus[];
  /** How live the run was after the heal (`liveness.ts`). */
  readonly liveness: LivenessFigures;
  readonly conspiracy?: {
    readonly members: readonly number[];
    readonly groupA: readonly number[];
    readonly groupB: readonly number[];
    readonly proposals: number;
  };
}

/** What a user may set on top of a suite (each is also a `pnpm sim` flag). */
export interface SuiteOverrides {
  readonly replicas?: number;
  readonly byzantine?: number;
  readonly agents?: number;
  readonly requests?: number;
  readonly byzantineAgents?: number;
  readonly strategies?: readonly StrategyName[];
  readonly agentStrategies?: readonly AgentStrategyName[];
  readonly drop?: number;
  readonly duplicate?: number;
  readonly delay?: number;
  readonly ticks?: number;
}

/** Refuses options no run can be made of. */
export function validateOptions(options: ScenarioOptions): void {
  const n = options.replicas;
  if (!Number.isSafeInteger(n) || n < 4) throw new RangeError(`replicas must be an integer >= 4, got ${n}`);
  const ids = new Set<number>();
  for (const plan of options.byzantine) {
    if (!Number.isSafeInteger(plan.id) || plan.id < 0 || plan.id >= n)
      throw new RangeError(`Byzantine replica ${plan.id} out of range`);
    if (ids.has(plan.id)) throw new RangeError(`Byzantine replica ${plan.id} listed twice`);
    ids.add(plan.id);
  }
  if (ids.size >= n) throw new RangeError('at least one replica must be honest');
  if (!Number.isSafeInteger(options.byzantineAgents) || options.byzantineAgents < 0) {
    throw new RangeError('byzantineAgents must be a non-negative integer');
  }
  if (!Number.isSafeInteger(options.agents) || options.agents < 1)
    throw new RangeError('agents must be a positive integer');
  if (!Number.isSafeInteger(options.requestsPerAgent) || options.requestsPerAgent < 1) {
    throw new RangeError('requestsPerAgent must be a positive integer');
  }
  if (options.healTick < 0 || options.livenessTicksMax < 1)
    throw new RangeError('healTick must be >= 0 and livenessTicksMax >= 1');
  validatePauses(options, ids);
}

/** Pauses are of honest replicas, each window non-empty, none overlapping another or a crash of the same replica. */
function validatePauses(options: ScenarioOptions, byzantineIds: ReadonlySet<number>): void {
  const windows = new Map<number, [number, number][]>();
  const add = (id: number, from: number, to: number) =>
    windows.set(id, [...(windows.get(id) ?? []), [from, to]]);
  for (const crash of options.crashes ?? []) add(crash.id, crash.crashTick, crash.restartTick);
  for (const pause of options.pauses ?? []) {
    const { id, pauseTick, resumeTick } = pause;
    if (!Number.isSafeInteger(id) || id < 0 || id >= options.replicas)
      throw new RangeError(`paused replica ${id} out of range`);
    if (byzantineIds.has(id))
      throw new RangeError(`replica ${id} is Byzantine: only honest replicas are paused`);
    if (!Number.isSafeInteger(pauseTick) || pauseTick < 0 || !Number.isSafeInteger(resumeTick))
      throw new RangeError(`replica ${id}: pause ticks must be non-negative integers`);
    if (resumeTick <= pauseTick)
      throw new RangeError(`replica ${id} must resume after its pause at ${pauseTick}, not at ${resumeTick}`);
    for (const [from, to] of windows.get(id) ?? [])
      if (pauseTick < to && from < resumeTick)
        throw new RangeError(
          `replica ${id}: its pause [${pauseTick}, ${resumeTick}) overlaps another outage`,
        );
    add(id, pauseTick, resumeTick);
  }
}
