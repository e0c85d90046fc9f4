/**
 * The fault schedule of a chaos run, drawn from one seed before anything starts: what happens
 * when, and for how long. Pure, so it can be printed, compared and tested without a cluster.
 *
 * Faults that take replicas out (kill -9, partitions) are counted in slots: at no moment do more
 * than f slots overlap, each slot holding one replica, and a slot stays taken for `recoveryMs`
 * after its restart or heal, while the replica catches up. So at most f replicas are down,
 * partitioned or catching up at once, and the cluster is expected to stay live after each heal.
 * Delays and dropped connections take no slot: they slow the cluster down without taking
 * anybody out (a dropped connection is redialled).
 *
 * The seed fixes the schedule, not the run: real processes and sockets interleave as they will.
 */
import { Prng } from '../prng.ts';

/** A replica by id, or whichever replica is primary when the fault begins. */
export type ReplicaTarget = number | 'primary';

export type FaultEvent =
  | {
      readonly kind: 'kill';
      readonly atMs: number;
      readonly replica: ReplicaTarget;
      /** From the kill -9 to the restart. */
      readonly downMs: number;
    }
  | {
      readonly kind: 'partition';
      readonly atMs: number;
      /** Cut off from every other replica and every agent, together on their own island. */
      readonly replicas: readonly ReplicaTarget[];
      /**
       * Agents (by index) on the island with them: their writes cannot reach a quorum and time
       * out until the heal, and may execute later, unacknowledged.
       */
      readonly agents: readonly number[];
      readonly mode: 'cut' | 'stall';
      readonly durationMs: number;
    }
  | {
      readonly kind: 'delay';
      readonly atMs: number;
      readonly fixedMs: number;
      readonly jitterMs: number;
      readonly durationMs: number;
    }
  | { readonly kind: 'drop'; readonly atMs: number; readonly connections: number };

export interface ScheduleOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly replicas: number;
  /** Agents that may be taken onto a partition's island (none when absent). */
  readonly agents?: number;
  /** A replica's slot stays taken this long after it is back, while it catches up. */
  readonly recoveryMs?: number;
}

export const SCHEDULE_DEFAULTS = Object.freeze({
  recoveryMs: 3_000,
  /** No faults in the first moments: the cluster elects its first primary and takes load. */
  warmupMs: 1_500,
  gapMsMin: 600,
  gapMsMax: 2_400,
  downMsMin: 500,
  downMsMax: 6_000,
  partitionMsMin: 800,
  /** Past the transport's ping timeout (two 5 s intervals), so stalls also end in dead connections. */
  partitionMsMax: 12_000,
  delayWindowMsMin: 1_000,
  delayWindowMsMax: 6_000,
  delayFixedMsMax: 80,
  delayJitterMsMax: 80,
  /** Chance that a partition takes one agent onto the island. */
  agentOnIslandChance: 0.3,
  dropConnectionsMax: 4,
});

/** Events at most in one schedule, whatever the duration: a bound on the run's work. */
export const FAULT_EVENTS_MAX = 2_000;

interface Slot {
  readonly fromMs: number;
  readonly untilMs: number;
  readonly replicas: readonly ReplicaTarget[];
}

export const faultBudgetOf = (replicas: number): number => Math.floor((replicas - 1) / 3);

/** The schedule: events in time order, every fault over (healed, restarted) by `durationMs`. */
export function faultSchedule(options: ScheduleOptions): FaultEvent[] {
  const d = SCHEDULE_DEFAULTS;
  const f = faultBudgetOf(options.replicas);
  if (f < 1) throw new RangeError(`chaos needs 3f+1 replicas with f >= 1, got ${options.replicas}`);
  const recoveryMs = options.recoveryMs ?? d.recoveryMs;
  const random = new Prng(options.seed).fork('chaos-schedule');
  const events: FaultEvent[] = [];
  const slots: Slot[] = [];
  let delayBusyUntilMs = 0;
  const overlapping = (fromMs: number, untilMs: number) =>
    slots.filter((slot) => slot.fromMs < untilMs && fromMs < slot.untilMs);
  // Replicas named explicitly by an overlapping slot, so two slots never name the same one.
  const named = (busy: readonly Slot[]) =>
    new Set(busy.flatMap((slot) => slot.replicas.filter((r): r is number => r !== 'primary')));
  const primaryTaken = (busy: readonly Slot[]) => busy.some((slot) => slot.replicas.includes('primary'));
  const choose = (count: number, busy: readonly Slot[]): ReplicaTarget[] => {
    const chosen: ReplicaTarget[] = [];
    if (!primaryTaken(busy) && random.chance(0.4)) chosen.push('primary');
    const free = Array.from({ length: options.replicas }, (_, id) => id).filter((id) => !named(busy).has(id));
    for (const id of random.sample(free, count - chosen.length)) chosen.push(id);
    return chosen;
  };

  let atMs = d.warmupMs;
  while (events.length < FAULT_EVENTS_MAX) {
    atMs += random.range(d.gapMsMin, d.gapMsMax);
    if (atMs >= options.durationMs) break;
    const roll = random.next();
    if (roll < 0.55) {
      const kill = roll < 0.3;
      const lengthMs = kill
        ? random.range(d.downMsMin, d.downMsMax)
        : random.range(d.partitionMsMin, d.partitionMsMax);
      const untilMs = atMs + lengthMs;
      const busy = overlapping(atMs, untilMs + recoveryMs);
      const free = f - busy.length;
      if (untilMs <= options.durationMs && free > 0) {
        const count = kill ? 1 : random.range(1, free);
        const replicas = choose(count, busy);
        slots.push({ fromMs: atMs, untilMs: untilMs + recoveryMs, replicas });
        if (kill) {
          events.push({ kind: 'kill', atMs, replica: replicas[0] as ReplicaTarget, downMs: lengthMs });
        } else {
          const mode = random.chance(0.5) ? 'cut' : 'stall';
          const agents =
            (options.agents ?? 0) > 0 && random.chance(d.agentOnIslandChance)
              ? [random.int(options.agents as number)]
              : [];
          events.push({ kind: 'partition', atMs, replicas, agents, mode, durationMs: lengthMs });
        }
        continue;
      }
    }
    if (roll >= 0.55 && roll < 0.75 && atMs >= delayBusyUntilMs) {
      const durationMs = random.range(d.delayWindowMsMin, d.delayWindowMsMax);
      if (atMs + durationMs <= options.durationMs) {
        delayBusyUntilMs = atMs + durationMs;
        events.push({
          kind: 'delay',
          atMs,
          fixedMs: random.range(1, d.delayFixedMsMax),
          jitterMs: random.range(0, d.delayJitterMsMax),
          durationMs,
        });
        continue;
      }
    }
    events.push({ kind: 'drop', atMs, connections: random.range(1, d.dropConnectionsMax) });
  }
  return events;
}

/** Slots (kills and partitions, with their recovery) that overlap `atMs`; never more than f. */
export function slotsAt(events: readonly FaultEvent[], atMs: number, recoveryMs: number): number {
  let count = 0;
  for (const event of events) {
    if (event.kind !== 'kill' && event.kind !== 'partition') continue;
    const lengthMs = event.kind === 'kill' ? event.downMs : event.durationMs;
    if (event.atMs <= atMs && atMs < event.atMs + lengthMs + recoveryMs) count++;
  }
  return count;
}

/** One line per event, for the run's printout. */
export function describeEvent(event: FaultEvent): string {
  const target = (r: ReplicaTarget) => (r === 'primary' ? 'the primary' : `replica ${r}`);
  switch (event.kind) {
    case 'kill':
      return `kill -9 ${target(event.replica)}, restart after ${event.downMs} ms`;
    case 'partition':
      return `partition (${event.mode}) ${[...event.replicas.map(target), ...event.agents.map((a) => `agent-${a}`)].join(' + ')} from the rest for ${event.durationMs} ms`;
    case 'delay':
      return `delay every link by ${event.fixedMs} ms + up to ${event.jitterMs} ms for ${event.durationMs} ms`;
    case 'drop':
      return `drop ${event.connections} connection${event.connections === 1 ? '' : 's'}`;
  }
}
