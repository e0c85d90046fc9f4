/**
 * The two waits of a faults run, both polling every replica's GET /status every
 * `statusPollMs` and both bounded: until the replicas share one view again after a fault (what
 * is measured), and until the cluster has settled (so the next fault starts from a healthy
 * cluster, and so the fault's no-ack window has an end). Times are on the run's clock.
 */
import type { ChaosClock } from '../chaos/clock.ts';
import { sleep } from '../chaos/clock.ts';
import type { ChaosCluster } from '../chaos/cluster.ts';
import { FAULTS_LIMITS } from './options.ts';
import { describeViews, highestView, oneView, sequenceSpread } from './views.ts';

export interface OneViewSeen {
  /** When every replica first reported one view outside a view change; undefined: not within the bound. */
  readonly atMs: number | undefined;
  /** That view, or the highest view seen when the bound ran out. */
  readonly view: number;
  /** When `target` first answered GET /status (a restarted daemon is up, a resumed one awake). */
  readonly targetUpAtMs: number | undefined;
  /** Every replica's view at the last poll (`describeViews`): what "never" looked like. */
  readonly lastViews: string;
}

/** Polls until every replica reports one view, not changing view; at most `oneViewBoundMs`. */
export async function waitForOneView(
  cluster: ChaosCluster,
  clock: ChaosClock,
  target: number,
): Promise<OneViewSeen> {
  const deadline = clock.elapsedMs() + FAULTS_LIMITS.oneViewBoundMs;
  let targetUpAtMs: number | undefined;
  let view = -1;
  let lastViews = '';
  while (clock.elapsedMs() < deadline) {
    const polledAt = clock.elapsedMs();
    const statuses = await cluster.statuses();
    // Stamped when the answers are in: the state was seen at the latest then.
    const seenAt = clock.elapsedMs();
    if (targetUpAtMs === undefined && statuses[target] !== undefined) targetUpAtMs = seenAt;
    view = Math.max(view, highestView(statuses));
    lastViews = describeViews(statuses);
    const together = oneView(statuses);
    if (together !== undefined) return { atMs: seenAt, view: together, targetUpAtMs, lastViews };
    await sleep(polledAt + FAULTS_LIMITS.statusPollMs - clock.elapsedMs());
  }
  return { atMs: undefined, view, targetUpAtMs, lastViews };
}

export interface Settled {
  readonly ok: boolean;
  /** When it settled (an acknowledged write's time), or when the wait gave up. */
  readonly atMs: number;
}

/**
 * Waits until every replica is in one view outside a view change, all within
 * `sequenceSpreadMax` executed sequences of each other, and then a write is acknowledged:
 * the cluster took the fault and is deciding again. Gives up at `deadlineMs` (run clock).
 */
export async function settle(
  cluster: ChaosCluster,
  clock: ChaosClock,
  lastAckMs: () => number | undefined,
  deadlineMs: number,
): Promise<Settled> {
  const deadline = deadlineMs;
  let togetherAt: number | undefined;
  while (clock.elapsedMs() < deadline) {
    if (togetherAt === undefined) {
      const polledAt = clock.elapsedMs();
      const statuses = await cluster.statuses();
      if (oneView(statuses) !== undefined && sequenceSpread(statuses) <= FAULTS_LIMITS.sequenceSpreadMax)
        togetherAt = clock.elapsedMs();
      else await sleep(polledAt + FAULTS_LIMITS.statusPollMs - clock.elapsedMs());
      continue;
    }
    const ackAt = lastAckMs();
    if (ackAt !== undefined && ackAt > togetherAt) return { ok: true, atMs: ackAt };
    await sleep(5);
  }
  return { ok: false, atMs: clock.elapsedMs() };
}
