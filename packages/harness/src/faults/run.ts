/**
 * A faults run (issue 15): the chaos cluster of real daemons, agents writing all through it,
 * and one fault at a time — kill -9 and restart, or SIGSTOP and SIGCONT, of the primary or of a
 * backup — each played against a settled cluster and measured (`fault.ts`): the longest stretch
 * with no acknowledged write, and the time until the replicas share one view again. The kinds
 * take turns, so a drift over the run (a growing log, a warmer JIT) is spread over all of them.
 *
 * At the end everything heals and chaos's checks run: convergence, agreement, every
 * acknowledged write reads back, no daemon stopped by itself. Every wait is bounded.
 */
import { performance } from 'node:perf_hooks';
import type { ChaosCheck } from '../chaos/chaos-options.ts';
import { acknowledgedWrites, agreement, convergence, noSelfExits } from '../chaos/checks.ts';
import { ChaosClock, sleep } from '../chaos/clock.ts';
import { ChaosCluster } from '../chaos/cluster.ts';
import { ChaosLoad } from '../chaos/load.ts';
import { StatusSampler } from '../chaos/sampler.ts';
import { Prng } from '../prng.ts';
import { type FaultContext, type FaultRecord, playFault } from './fault.ts';
import { FAULTS_LIMITS, type FaultsOptions, isKill } from './options.ts';
import { formatFaultLine } from './report.ts';
import { type KindSummary, summarize } from './summary.ts';
import { settle } from './waits.ts';

export interface FaultsReport {
  readonly options: Omit<FaultsOptions, 'log'>;
  readonly records: readonly FaultRecord[];
  readonly summaries: readonly KindSummary[];
  readonly checks: readonly ChaosCheck[];
  readonly writes: { readonly attempted: number; readonly acknowledged: number; readonly timedOut: number };
  readonly directory: string;
  readonly directoryKept: boolean;
  /** Every check held (the targets are not checks: they are measured). */
  readonly ok: boolean;
  readonly elapsedMs: number;
}

/** Everything a run's phases share. */
interface Run extends FaultContext {
  readonly load: ChaosLoad;
  readonly sampler: StatusSampler;
  readonly log: (line: string) => void;
}

/** Runs every fault and the checks. Never throws for a failed check: the report says. */
export async function runFaults(options: FaultsOptions): Promise<FaultsReport> {
  const startedAt = performance.now();
  if (options.kinds.length === 0 || options.faultsPerKind < 1)
    throw new RangeError('runFaults: at least one kind and one fault of each');
  const random = new Prng(options.seed).fork('faults-backups');
  // The proxy forwards untouched here; its random draws only matter to chaos's drops and delays.
  const cluster = await ChaosCluster.create(options, () => random.next());
  const clock = new ChaosClock();
  const load = new ChaosLoad(clock);
  const run: Run = {
    cluster,
    clock,
    random,
    options,
    load,
    ledger: load.ledger,
    sampler: new StatusSampler(() => cluster.statuses()),
    log: options.log ?? (() => undefined),
  };
  run.log(`cluster in ${cluster.root}`);
  let kept = true;
  try {
    const records = await faultPhase(run);
    const checks = await checkPhase(run, records);
    const ok = checks.every((c) => c.ok);
    kept = !ok || options.keepDirectory === true;
    return report(run, { records, checks, ok, kept, elapsedMs: performance.now() - startedAt });
  } finally {
    run.load.stop();
    run.sampler.stop();
    await cluster.close(kept);
  }
}

/** Starts the cluster and the writers, then plays every fault, kinds taking turns. */
async function faultPhase(run: Run): Promise<FaultRecord[]> {
  const { cluster, clock, options } = run;
  await cluster.startAll();
  const writers = await cluster.connectWriters(options.agents);
  run.sampler.start();
  clock.begin();
  run.load.start(writers);
  run.log(
    `${options.replicas} replicas up, ${options.agents} agents writing; waiting for the cluster to settle`,
  );
  if (!(await settleNow(run)))
    throw new Error(
      `the cluster did not settle within ${FAULTS_LIMITS.settleTimeoutMs / 1000} s of starting`,
    );
  const records: FaultRecord[] = [];
  for (let number = 1; number <= options.faultsPerKind; number++)
    for (const kind of options.kinds) {
      // A daemon that stopped by itself is a failure of the run: no point measuring on.
      if (cluster.selfExits.length > 0) return records;
      const settledBefore = await settledSince(run, records.at(-1));
      await sleep(FAULTS_LIMITS.quietMs);
      const record = await playFault(run, { kind, number, settledBefore });
      records.push(record);
      run.log(formatFaultLine(record));
    }
  return records;
}

/**
 * Whether the cluster is settled before the next fault. After a fault that settled this is at
 * once; after one that did not, the cluster already had its bounded wait and is stuck until
 * something else moves it (a view change): the next fault goes ahead, and is marked.
 */
async function settledSince(run: Run, previous: FaultRecord | undefined): Promise<boolean> {
  if (previous !== undefined && !previous.settled) return false;
  return settleNow(run);
}

function settleNow(run: Run): Promise<boolean> {
  const deadline = run.clock.elapsedMs() + FAULTS_LIMITS.settleTimeoutMs;
  return settle(run.cluster, run.clock, () => run.ledger.ackTimesMs.at(-1), deadline).then((s) => s.ok);
}

/** Heals whatever is left, stops the writers, and runs chaos's end-of-run checks. */
async function checkPhase(run: Run, records: readonly FaultRecord[]): Promise<ChaosCheck[]> {
  const { cluster, load, sampler } = run;
  cluster.healAll();
  load.stop();
  run.log('faults over; checking convergence, agreement and every acknowledged write');
  await load.finished();
  const converged = await convergence(cluster, sampler);
  sampler.stop();
  const reader = await cluster.connectReader(`agent-${run.options.agents}`);
  const durable = await acknowledgedWrites(reader, load.ledger);
  const kills = records.filter((r) => isKill(r.kind)).length;
  return [converged.check, agreement(sampler), durable.check, noSelfExits(cluster.selfExits, kills)];
}

function report(
  run: Run,
  outcome: { records: FaultRecord[]; checks: ChaosCheck[]; ok: boolean; kept: boolean; elapsedMs: number },
): FaultsReport {
  const { log: _log, ...options } = run.options;
  const ledger = run.ledger;
  return {
    options,
    records: outcome.records,
    summaries: summarize(run.options.kinds, outcome.records),
    checks: outcome.checks,
    writes: { attempted: ledger.attempted, acknowledged: ledger.acks, timedOut: ledger.timedOut },
    directory: run.cluster.root,
    directoryKept: outcome.kept,
    ok: outcome.ok,
    elapsedMs: outcome.elapsedMs,
  };
}
