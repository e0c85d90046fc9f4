export { type AgentOptions, type AgentSend, SimulatedAgent } from './agent.ts';
export {
  alternativeBatch,
  BYZANTINE_LIMITS,
  type ByzantinePlan,
  ByzantineReplica,
  type ByzantineReplicaOptions,
  COMBINABLE_STRATEGIES,
  Conspiracy,
  type SimOutbound,
  STRATEGY_NAMES,
  type StrategyName,
} from './byzantine.ts';
export {
  type CheckerName,
  checkAgreement,
  checkConsistency,
  checkExactlyOnce,
  checkLiveness,
  checkRun,
  checkTotalOrder,
  checkValidity,
  isSafetyViolation,
  SAFETY_CHECKERS,
  VIOLATIONS_PER_CHECKER_MAX,
  type Violation,
} from './checkers.ts';
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
  validateFaults,
} from './network.ts';
export { Prng, prng } from './prng.ts';
export type {
  AcceptedRecord,
  AgentRecord,
  BatchRecord,
  ExecutedRecord,
  ExecutedRequestRecord,
  IssuedRequestRecord,
  ReplicaRecord,
  RunRecord,
} from './record.ts';
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
  DELIVERIES_PER_TICK_MAX,
  OBSERVED_BATCHES_MAX,
  runScenario,
  SCENARIO_TICKS_MAX,
  type ScenarioOptions,
  type ScenarioResult,
  type ScenarioStats,
} from './simulation.ts';
