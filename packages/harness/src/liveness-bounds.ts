/**
 * Liveness held to bounds (issue 15, point 5): a run whose options carry a `LivenessPlan` (the
 * liveness suite's do) fails under `livenessBound` when its figures (liveness.ts) exceed the
 * plan's bounds. Pure, from the record alone, so tests can hand-build records that break them.
 *
 * The bounds of every shape are in one place, `LIVENESS_BOUNDS`, in units of the protocol's
 * request timeout, with the reasoning (and the measurements) behind them.
 */
import type { ProtocolConfig } from '@conclave/core';
import { livenessOf } from './liveness.ts';
import type { LivenessBound, LivenessPlan, RunRecord } from './record.ts';

/** The liveness suite's named shapes; a seed picks one, round robin (see liveness-suite.ts). */
export const LIVENESS_SHAPES = [
  'restart-in-higher-view',
  'pause-backup',
  'pause-primary',
  'second-fault-while-behind',
  'next-primary-dead',
] as const;
export type LivenessShape = (typeof LIVENESS_SHAPES)[number];

/** A shape's bounds, each in request timeouts: `timeouts × protocol.requestTimeoutTicks` ticks. */
interface ShapeBounds {
  /** The longest stall after the faults (see `settledTick`). */
  readonly stall: number;
  /** Until every honest replica is in one view, after the faults. */
  readonly oneView: number;
  /** The longest stall from the first fault on: what the faults themselves cost. */
  readonly faultStall: number;
  /** The highest view an honest replica may enter, when the shape decides it. */
  readonly viewMax?: number;
  /** A view whose primary is dead, that honest replicas must pass within `timeouts`. */
  readonly viewPass?: { readonly view: number; readonly timeouts: number };
}

/**
 * The bounds of the liveness suite, per shape, in request timeouts (T = `requestTimeoutTicks`:
 * 60 ticks in the simulator, where heartbeats are 20 ticks and agents first retry after 30).
 * Measured on seeds 1..200 (40 per shape) against the protocol as of this file — the worst
 * figure over those seeds in brackets — and set with room to spare, yet far under what the old
 * protocol did: a replica that missed a view change stayed in its stale view until the next
 * real view change, hundreds of ticks or never, and a dead next primary cost a whole timeout.
 *
 * - After the faults (from the last restart or resume, or the primary's crash for good): when
 *   only a returning replica is left to recover, one timeout for the stall and for one view
 *   [11 and 9 ticks]. When the last fault is the primary crashing for good, both include a
 *   view change: two timeouts [70 and 64], three for one view when a backup falls while another
 *   is still catching up, which may cost two view changes [106].
 * - From the first fault on: a view change after the primary fails is a silence or request
 *   timeout and a few message delays, two timeouts [70]; a paused backup costs the others
 *   nothing, one timeout [11].
 * - Views: a paused backup changes no view, a primary's fault one; when the next primary is dead
 *   too, one slow view change: view 1 is passed within a quarter timeout [4 ticks], and view 2
 *   is the last.
 */
export const LIVENESS_BOUNDS: Readonly<Record<LivenessShape, ShapeBounds>> = {
  'restart-in-higher-view': { stall: 1, oneView: 1, faultStall: 2, viewMax: 1 },
  'pause-backup': { stall: 1, oneView: 1, faultStall: 1, viewMax: 0 },
  'pause-primary': { stall: 1, oneView: 1, faultStall: 2, viewMax: 1 },
  'second-fault-while-behind': { stall: 2, oneView: 3, faultStall: 2 },
  'next-primary-dead': {
    stall: 2,
    oneView: 2,
    faultStall: 2,
    viewMax: 2,
    viewPass: { view: 1, timeouts: 0.25 },
  },
};

/**
 * The bounds of the random-fault suites (default, n7, crash-restart), in request timeouts, from
 * the heal or the last honest restart after it: random drops, partitions and a Byzantine mix
 * (lying view-changes, a primary crashing after the heal) may cost a view change or two, each
 * with a doubled timeout, so the bounds are wider than the liveness suite's. Measured on seeds
 * 1..500 (n7: 1..300), worst in brackets: longest stall [default 241 ticks, crash-restart 251,
 * n7 87], one view [default 284, crash-restart 266, n7 238].
 */
export const RANDOM_FAULT_BOUNDS = { stall: 6, oneView: 6 } as const;

/**
 * The plan a random-fault scenario is held to: from `settleTick` (its heal, or the last honest
 * restart after it), stalls and the time to one view within `RANDOM_FAULT_BOUNDS`.
 */
export function randomFaultPlanFor(protocol: ProtocolConfig, settleTick: number): LivenessPlan {
  const stall = bound(RANDOM_FAULT_BOUNDS.stall, protocol);
  return {
    shape: 'random faults',
    faultTick: settleTick,
    lastFaultTick: settleTick,
    stall,
    oneView: bound(RANDOM_FAULT_BOUNDS.oneView, protocol),
    faultStall: stall,
  };
}

function bound(timeouts: number, protocol: ProtocolConfig): LivenessBound {
  return {
    ticks: Math.round(timeouts * protocol.requestTimeoutTicks),
    rule: `${timeouts} × requestTimeoutTicks`,
  };
}

/** The plan a scenario of `shape` is held to: its bounds for this protocol, around its faults. */
export function livenessPlanFor(
  shape: LivenessShape,
  protocol: ProtocolConfig,
  faults: Pick<LivenessPlan, 'faultTick' | 'lastFaultTick'>,
): LivenessPlan {
  const bounds = LIVENESS_BOUNDS[shape];
  return {
    shape,
    ...faults,
    stall: bound(bounds.stall, protocol),
    oneView: bound(bounds.oneView, protocol),
    faultStall: bound(bounds.faultStall, protocol),
    ...(bounds.viewMax === undefined ? {} : { viewMax: bounds.viewMax }),
    ...(bounds.viewPass === undefined
      ? {}
      : { viewPass: { view: bounds.viewPass.view, within: bound(bounds.viewPass.timeouts, protocol) } }),
  };
}

/** A broken bound (a `Violation` of checker `livenessBound`; declared here so checkers.ts can import this file). */
export interface LivenessBoundViolation {
  readonly checker: 'livenessBound';
  readonly message: string;
  readonly tick: number;
}

/** The views honest replicas entered (outside a view change) at or after `fromTick`, ascending; the view each was in then counts too. */
export function viewsEntered(record: RunRecord, fromTick = 0): number[] {
  const views = new Set<number>();
  for (const replica of record.replicas) {
    if (!replica.honest) continue;
    const records = replica.views ?? [];
    records.forEach((view, i) => {
      const next = records[i + 1];
      const lastsPastFrom = next === undefined || next.tick >= fromTick;
      if (!view.changingView && lastsPastFrom) views.add(view.view);
    });
  }
  return [...views].sort((a, b) => a - b);
}

/**
 * Where the figures after the faults are measured from: the stabilisation (`livenessOf`: the heal,
 * or the last restart or resume), or the last fault the plan made when that came later (a crash
 * for good after the heal stabilises nothing, yet what follows it is what the bounds are about).
 */
export function settledTick(record: RunRecord, plan: LivenessPlan): number {
  return Math.max(livenessOf(record).fromTick, Math.min(plan.lastFaultTick, record.endTick));
}

/**
 * The longest an honest replica stayed in `view` (changing into it, or in it) before it moved to
 * a later one: from its first record in the view to its first in a later view, or the end of the
 * run; undefined when no honest replica entered the view.
 */
export function viewDwellTicks(record: RunRecord, view: number): number | undefined {
  let longest: number | undefined;
  for (const replica of record.replicas) {
    if (!replica.honest) continue;
    const records = replica.views ?? [];
    const entered = records.find((r) => r.view === view);
    if (entered === undefined) continue;
    const left = records.find((r) => r.view > view)?.tick ?? record.endTick;
    longest = Math.max(longest ?? 0, left - entered.tick);
  }
  return longest;
}

/** Every bound of the run's liveness plan its figures broke; none without a plan. */
export function checkLivenessBounds(record: RunRecord): LivenessBoundViolation[] {
  const plan = record.liveness;
  if (plan === undefined) return [];
  const out: LivenessBoundViolation[] = [];
  const add = (message: string, tick: number) =>
    out.push({ checker: 'livenessBound', message: `${plan.shape}: ${message}`, tick });
  const settled = livenessOf(record, { fromTick: settledTick(record, plan) });
  const stallEnd = settled.longestStallEndTick ?? record.endTick;
  if (settled.longestStallTicks > plan.stall.ticks)
    add(
      `longest stall ${settled.longestStallTicks} ticks after tick ${settled.fromTick} (ended at ${stallEnd}) exceeds ${plan.stall.rule} = ${plan.stall.ticks}`,
      stallEnd,
    );
  if (settled.viewsAgreeAfterTicks === undefined)
    add(
      `honest replicas never shared one view between tick ${settled.fromTick} and the end (${record.endTick}); the bound is ${plan.oneView.rule} = ${plan.oneView.ticks}`,
      record.endTick,
    );
  else if (settled.viewsAgreeAfterTicks > plan.oneView.ticks)
    add(
      `honest replicas shared one view only ${settled.viewsAgreeAfterTicks} ticks after tick ${settled.fromTick}, beyond ${plan.oneView.rule} = ${plan.oneView.ticks}`,
      settled.fromTick + settled.viewsAgreeAfterTicks,
    );
  const across = livenessOf(record, { fromTick: plan.faultTick });
  const acrossEnd = across.longestStallEndTick ?? record.endTick;
  if (across.longestStallTicks > plan.faultStall.ticks)
    add(
      `longest stall ${across.longestStallTicks} ticks after the first fault at tick ${across.fromTick} (ended at ${acrossEnd}) exceeds ${plan.faultStall.rule} = ${plan.faultStall.ticks}`,
      acrossEnd,
    );
  if (plan.viewPass !== undefined) {
    const { view, within } = plan.viewPass;
    const dwell = viewDwellTicks(record, view);
    if (dwell !== undefined && dwell > within.ticks)
      add(
        `an honest replica stayed in view ${view} for ${dwell} ticks before moving past it, beyond ${within.rule} = ${within.ticks}`,
        record.endTick,
      );
  }
  if (plan.viewMax !== undefined) {
    const entered = viewsEntered(record);
    const highest = entered.at(-1) ?? 0;
    if (highest > plan.viewMax)
      add(
        `honest replicas entered view ${highest} (views entered: ${entered.join(', ')}), beyond view ${plan.viewMax}`,
        record.endTick,
      );
  }
  return out;
}
