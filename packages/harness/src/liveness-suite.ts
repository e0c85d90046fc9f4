/**
 * The liveness suite's scenarios (issue 15, point 5): each seed plays one named shape of honest
 * faults, round robin over `LIVENESS_SHAPES`, on a mild network, while agents keep issuing
 * requests through the faults and after them; its liveness is then held to the shape's bounds
 * (liveness-bounds.ts).
 *
 * - `restart-in-higher-view`: the primary of view 0 is paused or crashed and restarted, so the
 *   cluster moves to view 1; then a backup crashes and restarts, and must rejoin view 1.
 * - `pause-backup`, `pause-primary`: one replica paused for 2 to 4 request timeouts, resumed.
 * - `second-fault-while-behind`: a backup comes back from a long outage (many checkpoints
 *   behind) and, a few ticks later, while it still catches up, the primary (or another backup)
 *   crashes for good or is paused.
 * - `next-primary-dead`: n=7; replica 1, next in line, has been dead since early on (crashed, or
 *   Byzantine and silent) when the primary of view 0 crashes or is paused: view 1 must be passed
 *   within a few ticks (its primary is not heard from), so the cluster works in view 2 after one
 *   slow view change.
 *
 * The fault budget holds throughout: with n=4 one honest replica is faulty at a time and no
 * replica is Byzantine; with n=7 at most two replicas are down or Byzantine at once. Before the
 * faults the network is mild (delays and a little duplication and reordering, no drops, no
 * partitions) and heals early, so the primary of view 0 is still the primary when it fails.
 * The seed draws the tick offsets, which backup, delays, and the agents' load.
 */
import type { ByzantinePlan } from './byzantine.ts';
import { LIVENESS_SHAPES, type LivenessShape, livenessPlanFor } from './liveness-bounds.ts';
import type { FaultConfig } from './network.ts';
import { Prng } from './prng.ts';
import { SIMULATION_PROTOCOL, scenarioFromSeed } from './scenario.ts';
import type { CrashPlan, PausePlan, ScenarioOptions, SuiteOverrides } from './scenario-options.ts';

/** The restart tick of a replica that stays down for the rest of the run. */
export const NEVER = Number.MAX_SAFE_INTEGER;

/**
 * The run goes on at least this many request timeouts after its last planned fault (restart,
 * resume, crash or pause), and agents are given work to last about as long: the bounds are a
 * few timeouts, so a run that never gets into one view is seen not to, rather than cut short.
 */
export const LIVENESS_RUN_AFTER_LAST_FAULT_TIMEOUTS = 8;

/** Ticks one request takes on a healed network with nothing failing, roughly (for the agents' load). */
const REQUEST_TICKS_ESTIMATE = 10;

/** The shape seed `seed` plays: round robin from seed 1. */
export function livenessShapeOf(seed: number): LivenessShape {
  const count = LIVENESS_SHAPES.length;
  return LIVENESS_SHAPES[(((seed - 1) % count) + count) % count] as LivenessShape;
}

/** What a shape plans: honest crashes and pauses, Byzantine replicas, where its faults begin. */
interface ShapeFaults {
  readonly replicas: number;
  readonly crashes: readonly CrashPlan[];
  readonly pauses: readonly PausePlan[];
  readonly byzantine: readonly ByzantinePlan[];
  /** The first fault planned: the stall across the faults is measured from it. */
  readonly faultTick: number;
}

type ShapePlanner = (prng: Prng, healTick: number) => ShapeFaults;

const T = SIMULATION_PROTOCOL.requestTimeoutTicks;
const HEARTBEAT = SIMULATION_PROTOCOL.heartbeatTicks;

/** A pause, or a crash and restart from durable state, of `id` over [from, to). */
function outage(kind: 'pause' | 'crash', id: number, from: number, to: number): Partial<ShapeFaults> {
  return kind === 'pause'
    ? { pauses: [{ id, pauseTick: from, resumeTick: to }] }
    : { crashes: [{ id, crashTick: from, restartTick: to }] };
}

/** Outages as a pause or a crash, 2 to 4 request timeouts long: longer than a request timeout. */
function drawnOutageTicks(prng: Prng): number {
  return prng.range(2 * T, 4 * T);
}

function merged(replicas: number, faultTick: number, ...parts: Partial<ShapeFaults>[]): ShapeFaults {
  return {
    replicas,
    faultTick,
    crashes: parts.flatMap((part) => part.crashes ?? []),
    pauses: parts.flatMap((part) => part.pauses ?? []),
    byzantine: parts.flatMap((part) => part.byzantine ?? []),
  };
}

const SHAPES: Readonly<Record<LivenessShape, ShapePlanner>> = {
  'restart-in-higher-view': (prng, healTick) => {
    const variant = prng.pick(['primary-restarts', 'backup-restarts', 'backup-crashes-later'] as const);
    const first = healTick + prng.range(20, 80);
    if (variant === 'primary-restarts') {
      // The primary of view 0 crashes; the others move to view 1 while it is down, and it comes
      // back from a durable state that still says view 0.
      return merged(4, first, outage('crash', 0, first, first + drawnOutageTicks(prng)));
    }
    if (variant === 'backup-restarts') {
      // n=7: a backup crashes in view 0, then the primary fails (two faults, f=2); the others move
      // to view 1 while the backup is down, and it comes back from a durable state in view 0.
      const backup = prng.range(2, 6);
      const primaryFails = first + prng.range(20, T);
      const primaryFault = prng.chance(0.5)
        ? outage('crash', 0, primaryFails, NEVER)
        : outage('pause', 0, primaryFails, primaryFails + prng.range(2 * T, 3 * T));
      const restartTick = primaryFails + prng.range(3 * T + 1, 5 * T);
      return merged(7, first, outage('crash', backup, first, restartTick), primaryFault);
    }
    // The primary of view 0 is paused long enough for the others to move to view 1, and resumes;
    // then, with the cluster in view 1, a backup (not replica 1, its primary) crashes and restarts.
    const back = first + drawnOutageTicks(prng);
    const backup = prng.pick([0, 2, 3]);
    const crashTick = back + prng.range(T, 3 * T);
    return merged(
      4,
      first,
      outage('pause', 0, first, back),
      outage('crash', backup, crashTick, crashTick + prng.range(T, 4 * T)),
    );
  },
  'pause-backup': (prng, healTick) => {
    const pauseTick = healTick + prng.range(30, 200);
    const id = prng.pick([1, 2, 3]);
    return merged(4, pauseTick, outage('pause', id, pauseTick, pauseTick + drawnOutageTicks(prng)));
  },
  'pause-primary': (prng, healTick) => {
    const pauseTick = healTick + prng.range(30, 200);
    return merged(4, pauseTick, outage('pause', 0, pauseTick, pauseTick + drawnOutageTicks(prng)));
  },
  'second-fault-while-behind': (prng, healTick) => {
    // A backup is down for 5 to 8 request timeouts while agents work: it comes back many
    // checkpoints (and watermark windows) behind, and must fetch.
    const behind = prng.pick([1, 2, 3]);
    const crashTick = healTick + prng.range(10, 60);
    const restartTick = crashTick + prng.range(5 * T, 8 * T);
    // A few ticks later, while it catches up, the primary (or another backup) fails.
    const secondTick = restartTick + prng.range(2, 15);
    const second = prng.chance(0.75) ? 0 : prng.pick([1, 2, 3].filter((id) => id !== behind));
    const secondFault = prng.chance(0.5)
      ? outage('crash', second, secondTick, NEVER)
      : outage('pause', second, secondTick, secondTick + drawnOutageTicks(prng));
    return merged(4, crashTick, outage('crash', behind, crashTick, restartTick), secondFault);
  },
  'next-primary-dead': (prng, healTick) => {
    // Replica 1, primary of view 1, is dead from early on: crashed (for good, or back long after
    // the primary failed), or Byzantine and silent from the start.
    const silent = prng.chance(0.5);
    const deadSince = silent ? healTick : healTick + prng.range(10, 60);
    // Long enough before the primary fails that nobody has heard from it lately.
    const primaryFails = deadSince + T + 2 * HEARTBEAT + prng.range(20, 150);
    const nextDead: Partial<ShapeFaults> = silent
      ? { byzantine: [{ id: 1, strategies: ['silent'], colluding: false }] }
      : outage('crash', 1, deadSince, prng.chance(0.5) ? NEVER : primaryFails + prng.range(3 * T, 6 * T));
    const primaryFault = prng.chance(0.5)
      ? outage('crash', 0, primaryFails, NEVER)
      : outage('pause', 0, primaryFails, primaryFails + drawnOutageTicks(prng));
    // One slow view change: view 1 is passed within a few ticks, the cluster works in view 2.
    return merged(7, silent ? primaryFails : deadSince, nextDead, primaryFault);
  },
};

/** The last tick a planned fault begins or ends (a crash for good counts at its start). */
function lastFaultTick(faults: ShapeFaults): number {
  const ticks = [
    faults.faultTick,
    ...faults.crashes.flatMap((c) => [c.crashTick, c.restartTick]),
    ...faults.pauses.flatMap((p) => [p.pauseTick, p.resumeTick]),
  ];
  return Math.max(...ticks.filter((tick) => tick < NEVER));
}

export function livenessScenario(seed: number, overrides: SuiteOverrides = {}): ScenarioOptions {
  const shape = livenessShapeOf(seed);
  const prng = new Prng(seed).fork('liveness-suite');
  const healTick = prng.range(30, 80);
  const faults = SHAPES[shape](prng.fork(shape), healTick);
  const runTicksMin = lastFaultTick(faults) + LIVENESS_RUN_AFTER_LAST_FAULT_TIMEOUTS * T;
  // Agents keep issuing requests through the faults and after them.
  const agents = overrides.agents ?? prng.range(3, 5);
  const thinkTicksMax = prng.range(5, 30);
  const requests =
    overrides.requests ?? Math.ceil(runTicksMin / (REQUEST_TICKS_ESTIMATE + thinkTicksMax / 2));
  const base = scenarioFromSeed(seed, {
    replicas: faults.replicas,
    byzantine: 0,
    byzantineAgents: overrides.byzantineAgents ?? 0,
    honestCrashes: 0,
    agents,
    requests,
    ticks: healTick,
  });
  // Mild until the heal: delays, a little duplication and reordering; nothing lost, nobody cut off.
  const mild: FaultConfig = {
    dropProbability: 0,
    duplicateProbability: prng.next() * 0.05,
    delayTicksMin: 1,
    delayTicksMax: Math.max(1, overrides.delay ?? prng.range(1, 5)),
    reorderProbability: prng.next() * 0.1,
    reorderDelayTicksMax: prng.range(1, 10),
  };
  return {
    ...base,
    byzantine: faults.byzantine,
    collusion: false,
    faults: mild,
    partitions: [],
    healTick,
    agentThinkTicksMax: thinkTicksMax,
    crashes: faults.crashes,
    pauses: faults.pauses,
    runTicksMin,
    liveness: livenessPlanFor(shape, SIMULATION_PROTOCOL, {
      faultTick: faults.faultTick,
      lastFaultTick: lastFaultTick(faults),
    }),
  };
}
