/**
 * The deterministic simulator's driver: one seed drives keys, network, agents and adversary;
 * virtual time is an integer tick (see cluster.ts for what one tick does).
 *
 * Phases: faults (drops, duplicates, delays, reordering, partitions) until `healTick`; then the
 * network is healed (no drops, no partitions, small bounded delays: "after GST") and the run goes
 * on until every honest agent has all its answers, or `livenessTicksMax` after the heal; then
 * `drainTicks` more, so lagging replicas catch up for the checkers.
 */
import { checkRun, SAFETY_CHECKERS } from './checkers.ts';
import { type RunHooks, SimulatedCluster } from './cluster.ts';
import { livenessOf } from './liveness.ts';
import type { ScenarioOptions, ScenarioResult } from './scenario-options.ts';

export { OBSERVED_BATCHES_MAX } from './batch-log.ts';
export { type ClusterRecord, DELIVERIES_PER_TICK_MAX, type RunHooks, SimulatedCluster } from './cluster.ts';
export { RECEIPTS_PER_REPLICA_MAX } from './honest-replica.ts';
export {
  type CrashPlan,
  type PausePlan,
  type ScenarioOptions,
  type ScenarioResult,
  type ScenarioStats,
  twinAddress,
} from './scenario-options.ts';

/** Hard cap on a run's length whatever the options say. */
export const SCENARIO_TICKS_MAX = 100_000;
/** With lying agents, the run goes on this many request timeouts after the honest agents are done. */
export const EVIDENCE_DRAIN_TIMEOUTS = 2;

export function runScenario(options: ScenarioOptions, hooks: RunHooks = {}): ScenarioResult {
  const cluster = new SimulatedCluster(options, hooks);
  const tickLimit = Math.min(options.healTick + options.livenessTicksMax, SCENARIO_TICKS_MAX);
  const drainTicks = drainTicksOf(options);
  let tick = 0;
  for (; tick <= tickLimit && cluster.replicaFailure === undefined; tick++) {
    cluster.tick();
    const doneAt = cluster.agentsDoneAt;
    if (doneAt !== undefined && tick >= doneAt + drainTicks && tick >= (options.runTicksMin ?? 0)) break;
  }
  const { record, statuses, stats } = cluster.record(Math.min(tick, tickLimit));
  const failure = cluster.replicaFailure;
  // A crash ends the run early, so only safety can be judged: liveness had no fair chance.
  const violations =
    failure === undefined
      ? checkRun(record)
      : [failure, ...SAFETY_CHECKERS.flatMap((check) => check(record))];
  const conspiracy = cluster.conspiracy();
  return {
    seed: options.seed,
    options,
    violations,
    record,
    statuses,
    stats,
    liveness: livenessOf(record),
    ...(conspiracy === undefined ? {} : { conspiracy }),
  };
}

/** Evidence of the liars' last equivocations needs a few rounds (and maybe a view change) to be ordered. */
function drainTicksOf(options: ScenarioOptions): number {
  return options.byzantineAgents > 0
    ? Math.max(options.drainTicks, EVIDENCE_DRAIN_TIMEOUTS * options.protocol.requestTimeoutTicks)
    : options.drainTicks;
}
