/**
 * Chaos on real daemons: a cluster of `conclave start` processes on 127.0.0.1, SDK agents
 * writing to it through the fault-injecting proxy, and a seeded schedule of kill -9 and
 * restarts, partitions that heal, dropped connections and delays. Afterwards everything heals
 * and the run checks what must hold whatever the faults were:
 *
 * - agreement: no two replicas ever reported different state digests at one executed sequence
 *   (sampled from GET /status all through the run, and at the end);
 * - liveness after heal: every agent gets one more write acknowledged within a bound;
 * - convergence: all replicas reach the same executed sequence and state digest;
 * - durability: every acknowledged write (f+1 matching replies) reads back with quorum reads,
 *   or a later write of the same key by the same agent does;
 * - no replica stopped by itself (a broken invariant stops a daemon with status 1).
 *
 * Every phase has a time bound and every loop a count bound; the daemons are stopped and the
 * cluster directory removed at the end (kept, and printed, when a check failed). This is the
 * driver; the parts are the cluster (cluster.ts), the fault player (faults.ts), the load
 * (load.ts), the sampler (sampler.ts) and the checks (checks.ts).
 */
import { performance } from 'node:perf_hooks';
import type { ConclaveClient } from '@conclave/sdk';
import { Prng } from '../prng.ts';
import {
  type ChaosCheck,
  type ChaosOptions,
  type ChaosReport,
  validateChaosOptions,
} from './chaos-options.ts';
import {
  acknowledgedWrites,
  agreement,
  type Convergence,
  convergence,
  livenessAfterHeal,
  noSelfExits,
  progress,
} from './checks.ts';
import { ChaosClock } from './clock.ts';
import { ChaosCluster } from './cluster.ts';
import { FaultPlayer } from './faults.ts';
import { ChaosLoad } from './load.ts';
import { StatusSampler } from './sampler.ts';
import { type FaultEvent, faultBudgetOf, faultSchedule } from './schedule.ts';

export {
  CHAOS_LIMITS,
  type ChaosCheck,
  type ChaosOptions,
  type ChaosReport,
  type SyncMode,
} from './chaos-options.ts';
export { killChaosDaemons } from './cluster.ts';

/** Everything one run is made of, for its phases. */
interface ChaosRun {
  readonly options: ChaosOptions;
  readonly log: (line: string) => void;
  readonly schedule: readonly FaultEvent[];
  readonly cluster: ChaosCluster;
  readonly clock: ChaosClock;
  readonly sampler: StatusSampler;
  readonly load: ChaosLoad;
  readonly faults: FaultPlayer;
}

/** What the checks found, and the figures of the report they measured. */
interface Findings {
  readonly checks: readonly ChaosCheck[];
  readonly convergence: Convergence;
  readonly stallMs: number;
  readonly keysChecked: number;
}

/** Runs one chaos run. Never throws for a failed check: the report says what failed. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const startedAt = performance.now();
  const log = options.log ?? (() => undefined);
  validateChaosOptions(options);
  const schedule = faultSchedule({
    seed: options.seed,
    durationMs: options.durationMs,
    replicas: options.replicas,
    agents: options.agents,
  });
  const runtimeRandom = new Prng(options.seed).fork('chaos-runtime');
  const cluster = await ChaosCluster.create(options, () => runtimeRandom.next());
  log(`cluster in ${cluster.root}`);
  const clock = new ChaosClock();
  const faults = new FaultPlayer(cluster, clock, runtimeRandom, log);
  const sampler = new StatusSampler(() => cluster.statuses());
  const run: ChaosRun = {
    options,
    log,
    schedule,
    cluster,
    clock,
    sampler,
    load: new ChaosLoad(clock),
    faults,
  };
  let directoryKept = false;
  try {
    const findings = await checkPhase(run, await chaosPhase(run));
    const ok = findings.checks.every((c) => c.ok);
    directoryKept = !ok || options.keepDirectory === true;
    return report(run, findings, { ok, directoryKept, elapsedMs: () => performance.now() - startedAt });
  } catch (error) {
    directoryKept = true;
    throw error;
  } finally {
    run.load.stop();
    sampler.stop();
    await cluster.close(directoryKept);
  }
}

/**
 * Brings the cluster up, writes while the schedule plays out, then heals everything and stops
 * the load; returns the writer clients and when (ms after its start) the chaos ended.
 */
async function chaosPhase(run: ChaosRun) {
  const { options, cluster, clock, load, log } = run;
  await cluster.startAll();
  log(
    `${options.replicas} replicas up (f=${faultBudgetOf(options.replicas)}); connecting ${options.agents} agents through the proxy`,
  );
  const writers = await cluster.connectWriters(options.agents);
  run.sampler.start();
  clock.begin();
  load.start(writers);
  await run.faults.play(run.schedule);
  await clock.sleepUntil(options.durationMs);
  cluster.healAll();
  load.stop();
  log(`t=${clock.stamp()}s  chaos over: everything healed; waiting for the writers to finish`);
  await load.finished();
  return { writers, chaosEndedMs: clock.elapsedMs() };
}

async function checkPhase(
  run: ChaosRun,
  chaos: { writers: readonly ConclaveClient[]; chaosEndedMs: number },
): Promise<Findings> {
  const { cluster, load, sampler } = run;
  run.log('checking liveness, convergence, agreement and every acknowledged write');
  const liveness = await livenessAfterHeal(load, chaos.writers);
  const converged = await convergence(cluster, sampler);
  sampler.stop();
  const agreed = agreement(sampler);
  const reader = await cluster.connectReader(`agent-${run.options.agents}`);
  const durable = await acknowledgedWrites(reader, load.ledger);
  const progressed = progress(load.ledger, chaos.chaosEndedMs);
  const checks = [
    liveness,
    converged.check,
    agreed,
    durable.check,
    progressed.check,
    noSelfExits(cluster.selfExits, run.faults.counts.kills),
  ];
  return { checks, convergence: converged, stallMs: progressed.stallMs, keysChecked: durable.keysChecked };
}

function report(
  run: ChaosRun,
  findings: Findings,
  outcome: { ok: boolean; directoryKept: boolean; elapsedMs: () => number },
): ChaosReport {
  const { options, cluster, load, sampler } = run;
  const ledger = load.ledger;
  const sortedLatencies = [...ledger.latenciesMs].sort((a, b) => a - b);
  return {
    options: {
      seed: options.seed,
      durationMs: options.durationMs,
      replicas: options.replicas,
      agents: options.agents,
      sync: options.sync,
      keepDirectory: options.keepDirectory ?? false,
    },
    f: faultBudgetOf(options.replicas),
    directory: cluster.root,
    directoryKept: outcome.directoryKept,
    schedule: run.schedule,
    faults: { ...run.faults.counts },
    proxy: cluster.proxy.stats(),
    load: {
      attempted: ledger.attempted,
      acknowledged: ledger.acks,
      timedOut: ledger.timedOut,
      failedByCode: { ...ledger.failedByCode },
      latencyMsP50: percentile(sortedLatencies, 50),
      latencyMsP99: percentile(sortedLatencies, 99),
      latencyMsMax: sortedLatencies.at(-1) ?? 0,
      longestStallMs: findings.stallMs,
      keysChecked: findings.keysChecked,
    },
    cluster: {
      highestView: sampler.highestView,
      finalSequence: findings.convergence.finalSequence,
      finalDigest: findings.convergence.finalDigest,
      statusSamples: sampler.samples,
      sequencesCompared: sampler.digests.size,
    },
    checks: findings.checks,
    ok: outcome.ok,
    elapsedMs: outcome.elapsedMs(),
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}
