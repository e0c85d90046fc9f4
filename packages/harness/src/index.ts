export { type AgentOptions, type AgentSend, SimulatedAgent } from './agent.ts';
export { OBSERVED_BATCHES_MAX } from './batch-log.ts';
export {
  alternativeBatch,
  BYZANTINE_LIMITS,
  type ByzantinePlan,
  ByzantineReplica,
  type ByzantineReplicaOptions,
  COMBINABLE_STRATEGIES,
  Conspiracy,
  RESTART_STRATEGIES,
  type SimOutbound,
  STRATEGY_NAMES,
  type StrategyName,
} from './byzantine.ts';
export {
  AGENT_STRATEGY_NAMES,
  type AgentStrategyName,
  ALL_AGENT_STRATEGY_NAMES,
  COORDINATION_AGENT_STRATEGIES,
} from './byzantine-agent.ts';
export { type ChaosOptions, type ChaosReport, runChaos } from './chaos/run.ts';
export { faultSchedule } from './chaos/schedule.ts';
export {
  type CheckerName,
  checkAgreement,
  checkConsistency,
  checkEvidence,
  checkExactlyOnce,
  checkLiveness,
  checkReceipts,
  checkRun,
  checkTotalOrder,
  checkValidity,
  isSafetyViolation,
  SAFETY_CHECKERS,
  VIOLATIONS_PER_CHECKER_MAX,
  type Violation,
} from './checkers.ts';
export { type ClusterRecord, DELIVERIES_PER_TICK_MAX, type RunHooks, SimulatedCluster } from './cluster.ts';
export { checkFairness, FAIRNESS_VIOLATIONS_MAX, type FairnessViolation } from './fairness.ts';
export {
  FAIRNESS_AGENT_START_SPREAD_TICKS,
  FAIRNESS_COORDINATION_LIMITS,
  fairnessLatencyBoundTicks,
  fairnessScenario,
} from './fairness-suite.ts';
export { RECEIPTS_PER_REPLICA_MAX } from './honest-replica.ts';
export { type RenderOptions, renderRunHtml, traceRun } from './html.ts';
export { type Cast, COUNCIL, membershipCast, NEWCOMER } from './membership-agents.ts';
export { checkMembershipOutcomes, type MembershipViolation } from './membership-outcomes.ts';
export { MEMBERSHIP_WRITES, membershipScenario } from './membership-suite.ts';
export {
  BYZANTINE_REPLICA_SCRIPT,
  type DecoratedReplica,
  lyingQueryReplies,
  lyingReplies,
  MISBEHAVIOURS,
  type Misbehaviour,
  misbehaviour,
  rewrittenQueryReplies,
  silent,
  type TransportDecorator,
} from './misbehave.ts';
export {
  type Address,
  type Envelope,
  type FaultConfig,
  IN_FLIGHT_FRAMES_MAX,
  Network,
  type NetworkOptions,
  type NetworkStats,
  type Partition,
  PERFECT_NETWORK,
  type SendOutcome,
  type SentCopy,
  validateFaults,
} from './network.ts';
export {
  PRESSURE_LIMITS,
  PRESSURE_STRATEGY_NAMES,
  type PressureActor,
  PressureAttack,
  type PressureStrategyName,
} from './pressure.ts';
export { Prng, prng } from './prng.ts';
export type {
  AcceptedRecord,
  AgentRecord,
  BatchRecord,
  EquivocationRecord,
  ExecutedRecord,
  ExecutedRequestRecord,
  FairnessRecord,
  IssuedRequestRecord,
  OperationSummary,
  ReceiptRecord,
  ReplicaRecord,
  RestartRecord,
  RetainedEventRecord,
  RunRecord,
} from './record.ts';
export {
  CommonRegistry,
  checkKeyValidity,
  checkRegistryAgreement,
  type RegistryViolation,
} from './registry-checkers.ts';
export { RegistryTracker, registryDigest, registryOf } from './registry-record.ts';
export {
  defaultByzantine,
  replayCommand,
  runSeeds,
  SCENARIO_DEFAULTS,
  type ScenarioShape,
  type SeedRunOptions,
  type SeedRunSummary,
  SIMULATION_PROTOCOL,
  scenarioFromSeed,
} from './scenario.ts';
export {
  type CrashPlan,
  type FairnessPlan,
  type ScenarioOptions,
  type ScenarioResult,
  type ScenarioStats,
  twinAddress,
} from './scenario-options.ts';
export { type Answer, ReplyRouter, ScriptedAgent, type ScriptStep } from './scripted-agent.ts';
export {
  DEFAULT_SHRINK_BUDGET,
  describeSchedule,
  type ShrinkBudget,
  type ShrinkResult,
  shrinkScenario,
} from './shrink.ts';
export { EVIDENCE_DRAIN_TIMEOUTS, runScenario, SCENARIO_TICKS_MAX } from './simulation.ts';
export {
  isSuiteName,
  passes,
  replayArguments,
  runSuite,
  SUITE_NAMES,
  SUITES,
  type Suite,
  type SuiteName,
  type SuiteOverrides,
  type SuiteRunSummary,
  setPartitions,
  TWIN_PARTITIONS,
  TWIN_SCHEDULES,
  TWINS,
  type TwinSchedule,
  twinSchedule,
  twinScheduleForSeed,
  twinsScenario,
} from './suites.ts';
export {
  compareVectors,
  happenedBefore,
  type RunTrace,
  type TraceCollector,
  type TraceEvent,
  type TraceSink,
  traceCollector,
  traceNodes,
} from './trace.ts';
export { Commons, type StateMachineKind, WORKLOAD_LIMITS } from './workload.ts';
