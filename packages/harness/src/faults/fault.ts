/**
 * One fault, played and measured: pick the replica (the primary, or a backup drawn from the
 * seed), kill -9 it or SIGSTOP it, wait the downtime or pause, restart it or SIGCONT it, then
 * time how long until the replicas share one view and the cluster has settled, and find the
 * longest stretch without an acknowledged write from the fault's start until then.
 */
import type { ChaosClock } from '../chaos/clock.ts';
import type { ChaosCluster } from '../chaos/cluster.ts';
import type { WriteLedger } from '../chaos/ledger.ts';
import type { Prng } from '../prng.ts';
import { FAULTS_LIMITS, type FaultKind, type FaultsOptions, hitsPrimary, isKill } from './options.ts';
import { stallIn } from './stall.ts';
import { highestView, primaryOf, type Statuses } from './views.ts';
import { settle, waitForOneView } from './waits.ts';

/** What one fault did and what it cost; times in ms, `null` where something never happened. */
export interface FaultRecord {
  readonly kind: FaultKind;
  /** 1 for the first fault of its kind. */
  readonly number: number;
  readonly target: number;
  /** On the run's clock: when the signal went, and when the restart or SIGCONT did. */
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  /** The longest stretch with no acknowledged write, from the fault's start until settled. */
  readonly gapMs: number;
  /** From the fault's start to the acknowledgement that ended that stretch. */
  readonly resumedAfterMs: number;
  readonly acksInWindow: number;
  /** From the fault's end until every replica reported one view outside a view change. */
  readonly oneViewMs: number | null;
  /** From the fault's end until the target answered GET /status again. */
  readonly targetUpMs: number | null;
  readonly viewBefore: number;
  readonly viewAfter: number;
  readonly viewChanges: number;
  /** Every replica's view when one view was reached, or at the bound (`0:5 1:5 2:4* 3:-`). */
  readonly lastViews: string;
  /** Whether the cluster had settled when the fault began (if not, the previous fault's tail is in its figures). */
  readonly settledBefore: boolean;
  /** Whether the cluster settled (one view, caught up, a write acknowledged) within the bound. */
  readonly settled: boolean;
  readonly settledMs: number;
}

/** What a fault acts on and reads from. */
export interface FaultContext {
  readonly cluster: ChaosCluster;
  readonly clock: ChaosClock;
  readonly ledger: WriteLedger;
  /** Draws the backup of backup faults. */
  readonly random: Prng;
  readonly options: FaultsOptions;
}

/** Plays one fault; `settledBefore` says whether the cluster had settled when it began. */
export async function playFault(
  context: FaultContext,
  fault: { readonly kind: FaultKind; readonly number: number; readonly settledBefore: boolean },
): Promise<FaultRecord> {
  const { kind, number, settledBefore } = fault;
  const { cluster, clock, ledger } = context;
  const before = await cluster.statuses();
  const target = chooseTarget(kind, before, context.random);
  const startedAtMs = clock.elapsedMs();
  await begin(cluster, kind, target);
  await clock.sleepUntil(startedAtMs + (isKill(kind) ? context.options.downtimeMs : context.options.pauseMs));
  const endedAtMs = clock.elapsedMs();
  end(cluster, kind, target);
  const seen = await waitForOneView(cluster, clock, target);
  // Bounded from the fault's end, one-view wait included: a cluster that cannot find one view
  // by itself will not settle either, and waiting longer only slows the run down.
  const settleBy = endedAtMs + FAULTS_LIMITS.settleTimeoutMs;
  const settled = await settle(cluster, clock, () => ledger.ackTimesMs.at(-1), settleBy);
  const stall = stallIn(ledger.ackTimesMs, startedAtMs, settled.atMs);
  const viewBefore = highestView(before);
  return {
    kind,
    number,
    target,
    startedAtMs,
    endedAtMs,
    gapMs: stall.longestMs,
    resumedAfterMs: stall.endedAtMs - startedAtMs,
    acksInWindow: stall.acks,
    oneViewMs: seen.atMs === undefined ? null : seen.atMs - endedAtMs,
    targetUpMs: seen.targetUpAtMs === undefined ? null : seen.targetUpAtMs - endedAtMs,
    viewBefore,
    viewAfter: seen.view,
    viewChanges: seen.view - viewBefore,
    lastViews: seen.lastViews,
    settledBefore,
    settled: settled.ok,
    settledMs: settled.atMs - endedAtMs,
  };
}

/** The primary of the settled cluster, or a backup drawn from the seed. */
function chooseTarget(kind: FaultKind, statuses: Statuses, random: Prng): number {
  const primary = primaryOf(statuses);
  if (hitsPrimary(kind) && primary !== undefined) return primary;
  const backups = statuses.map((_, id) => id).filter((id) => id !== primary);
  return random.pick(backups);
}

async function begin(cluster: ChaosCluster, kind: FaultKind, target: number): Promise<void> {
  if (isKill(kind)) await cluster.kill(target, 'SIGKILL');
  else cluster.pause(target);
}

function end(cluster: ChaosCluster, kind: FaultKind, target: number): void {
  if (isKill(kind)) cluster.start(target);
  else cluster.resume(target);
}
