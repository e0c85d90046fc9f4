/**
 * How live a simulated run was after the network stabilised, from its record alone (pure, so
 * tests can hand-build records): the longest stretch with an honest agent's request outstanding
 * and no request executed anywhere, and how long the honest replicas took to share one view.
 * These are measurements; suites decide which bounds a run must keep.
 */
import type { AgentRecord, ReplicaRecord, RunRecord, ViewRecord } from './record.ts';

export interface LivenessFigures {
  /**
   * The longest run of ticks at or after `fromTick` during which some honest agent had a
   * request outstanding (issued, its result not yet accepted) and no honest replica executed a
   * request; 0 when there was none.
   */
  readonly longestStallTicks: number;
  /** The tick that stall ended (its request executed, or the run ended); undefined without one. */
  readonly longestStallEndTick: number | undefined;
  /**
   * Ticks from `fromTick` until every honest replica that was up shared one view, outside a view
   * change, for the rest of the run; undefined when they never did by the end.
   */
  readonly viewsAgreeAfterTicks: number | undefined;
  /**
   * Where both figures were measured from: the heal, or the last restart or resume of an honest
   * replica after it; the run's end when that came first (its agents were done before the heal).
   */
  readonly fromTick: number;
}

/**
 * Measures `record` from its heal (or a later restart or resume from a pause) to its end; or,
 * given `fromTick`, from there (a suite may measure from the fault it planned).
 */
export function livenessOf(record: RunRecord, from: { readonly fromTick?: number } = {}): LivenessFigures {
  const { healTick, endTick } = record;
  const honest = record.replicas.filter((replica) => replica.honest);
  // A run whose agents finished before the heal ends before it: then measure at its end.
  const lastFault = Math.max(
    healTick,
    ...honest.flatMap((r) => [
      ...(r.restarts ?? []).map((s) => s.restartTick),
      ...(r.pauses ?? []).map((p) => p.resumeTick),
    ]),
  );
  const fromTick = Math.min(from.fromTick ?? lastFault, endTick);
  const stall = longestStall(honest, record.agents, fromTick, endTick);
  return {
    longestStallTicks: stall.ticks,
    longestStallEndTick: stall.ticks > 0 ? stall.endTick : undefined,
    viewsAgreeAfterTicks: viewsAgreeAfter(honest, fromTick, endTick),
    fromTick,
  };
}

/** Ticks at which some honest replica executed at least one request, ascending, without repeats. */
function executionTicks(replicas: readonly ReplicaRecord[]): number[] {
  const ticks = new Set<number>();
  for (const replica of replicas)
    for (const batch of replica.executed) if (batch.requests.length > 0) ticks.add(batch.tick);
  return [...ticks].sort((a, b) => a - b);
}

/** [issued, accepted) of every honest agent's request (accepted: the end of the run if never). */
function outstandingIntervals(agents: readonly AgentRecord[], endTick: number): [number, number][] {
  const intervals: [number, number][] = [];
  for (const agent of agents) {
    if (!agent.honest) continue;
    const acceptedAt = new Map<number, number>();
    for (const accepted of agent.accepted)
      if (!acceptedAt.has(accepted.requestId)) acceptedAt.set(accepted.requestId, accepted.tick);
    for (const issued of agent.issued)
      intervals.push([issued.issuedTick, acceptedAt.get(issued.requestId) ?? endTick]);
  }
  return intervals;
}

function longestStall(
  replicas: readonly ReplicaRecord[],
  agents: readonly AgentRecord[],
  fromTick: number,
  endTick: number,
): { ticks: number; endTick: number } {
  const executed = executionTicks(replicas);
  let longest = { ticks: 0, endTick: 0 };
  for (const [issued, accepted] of outstandingIntervals(agents, endTick)) {
    const start = Math.max(issued, fromTick);
    if (accepted <= start) continue;
    // Within [start, accepted], the longest gap between executions (or the interval's ends).
    let previous = start;
    for (const tick of executed) {
      if (tick <= start) continue;
      if (tick > accepted) break;
      if (tick - previous > longest.ticks) longest = { ticks: tick - previous, endTick: tick };
      previous = tick;
    }
    if (accepted - previous > longest.ticks) longest = { ticks: accepted - previous, endTick: accepted };
  }
  return longest;
}

/**
 * Whether `replica` was down or paused at `tick`: from its crash (pause) tick until its restart
 * (resume) tick, or the end.
 */
function downAt(replica: ReplicaRecord, tick: number): boolean {
  if (replica.downSince !== undefined && tick >= replica.downSince) return true;
  if (replica.pausedSince !== undefined && tick >= replica.pausedSince) return true;
  return (
    (replica.restarts ?? []).some((s) => tick >= s.crashTick && tick < s.restartTick) ||
    (replica.pauses ?? []).some((p) => tick >= p.pauseTick && tick < p.resumeTick)
  );
}

/** `r`'s view and whether it was changing views at `tick`: its last recorded change at or before it. */
function viewAt(views: readonly ViewRecord[], tick: number): ViewRecord | undefined {
  let current: ViewRecord | undefined;
  for (const record of views) {
    if (record.tick > tick) break;
    current = record;
  }
  return current;
}

function agreeAt(replicas: readonly ReplicaRecord[], tick: number): boolean {
  let view: number | undefined;
  for (const replica of replicas) {
    if (downAt(replica, tick)) continue;
    const at = viewAt(replica.views ?? [], tick);
    if (at === undefined || at.changingView) return false;
    if (view !== undefined && at.view !== view) return false;
    view = at.view;
  }
  return true;
}

function viewsAgreeAfter(
  replicas: readonly ReplicaRecord[],
  fromTick: number,
  endTick: number,
): number | undefined {
  // Agreement changes only where some replica's view, or whether it is up, changes.
  const moments = new Set<number>([fromTick]);
  for (const replica of replicas) {
    for (const record of replica.views ?? []) if (record.tick > fromTick) moments.add(record.tick);
    for (const s of replica.restarts ?? [])
      for (const tick of [s.crashTick, s.restartTick]) if (tick > fromTick) moments.add(tick);
    for (const p of replica.pauses ?? [])
      for (const tick of [p.pauseTick, p.resumeTick]) if (tick > fromTick) moments.add(tick);
    for (const since of [replica.downSince, replica.pausedSince])
      if (since !== undefined && since > fromTick) moments.add(since);
  }
  const ordered = [...moments].filter((tick) => tick <= endTick).sort((a, b) => a - b);
  let agreedSince: number | undefined;
  for (const tick of ordered) {
    if (agreeAt(replicas, tick)) agreedSince ??= tick;
    else agreedSince = undefined;
  }
  return agreedSince === undefined ? undefined : agreedSince - fromTick;
}
