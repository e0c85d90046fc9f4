/**
 * What a chaos run is given and what it reports, and the bounds of its phases: its own module,
 * so the runner's parts (cluster, faults, load, checks) and the printout can all name them
 * without importing the runner.
 */
import type { ProxyStats } from './proxy.ts';
import { type FaultEvent, faultBudgetOf } from './schedule.ts';

export type SyncMode = 'full' | 'buffered';

export interface ChaosOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly replicas: number;
  /** Agents writing during the run (one more reads at the end). */
  readonly agents: number;
  readonly sync: SyncMode;
  /** Progress lines as the run goes (the timeline of faults, the phases). */
  readonly log?: (line: string) => void;
  /** Keep the cluster directory even when every check passed. */
  readonly keepDirectory?: boolean;
}

export interface ChaosCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface ChaosReport {
  readonly options: Omit<ChaosOptions, 'log'>;
  readonly f: number;
  readonly directory: string;
  readonly directoryKept: boolean;
  readonly schedule: readonly FaultEvent[];
  readonly faults: {
    readonly kills: number;
    readonly restarts: number;
    readonly partitions: number;
    readonly partitionsCut: number;
    readonly partitionsStalled: number;
    readonly dropEvents: number;
    readonly delayWindows: number;
    /** Kills or partitions of whichever replica was primary at the time. */
    readonly primaryTargeted: number;
  };
  readonly proxy: ProxyStats;
  readonly load: {
    readonly attempted: number;
    readonly acknowledged: number;
    readonly timedOut: number;
    /** Other failed writes, by SDK error code. */
    readonly failedByCode: Readonly<Record<string, number>>;
    readonly latencyMsP50: number;
    readonly latencyMsP99: number;
    readonly latencyMsMax: number;
    /** The longest stretch of the chaos phase in which no write was acknowledged. */
    readonly longestStallMs: number;
    readonly keysChecked: number;
  };
  readonly cluster: {
    readonly highestView: number;
    readonly finalSequence: number;
    readonly finalDigest: string;
    readonly statusSamples: number;
    readonly sequencesCompared: number;
  };
  readonly checks: readonly ChaosCheck[];
  readonly ok: boolean;
  readonly elapsedMs: number;
}

/** Bounds of the phases of a run. */
export const CHAOS_LIMITS = Object.freeze({
  durationMsMax: 3_600_000,
  replicasMax: 13,
  agentsMax: 16,
  startupTimeoutMs: 60_000,
  writeTimeoutMs: 8_000,
  finalWriteTimeoutMs: 30_000,
  convergenceTimeoutMs: 60_000,
  readTimeoutMs: 5_000,
  readAttemptsMax: 3,
  readsInFlightMax: 8,
  statusPollMs: 250,
  keysPerAgent: 32,
  writesPerAgentMax: 1_000_000,
  /** Distinct sequences remembered by the agreement sampler. */
  sequencesTrackedMax: 1_000_000,
  stopTimeoutMs: 5_000,
  /**
   * With at most f replicas out at once the cluster must keep deciding: a stretch this long
   * without any acknowledged write, while faults come and go, is a liveness failure.
   */
  progressGapMsMax: 20_000,
  outputTailChars: 2_000,
});

/** Protocol settings of the chaos cluster: short timeouts and frequent checkpoints, so faults bite. */
export const CHAOS_PROTOCOL = { requestTimeoutTicks: 150, checkpointInterval: 16, watermarkWindow: 64 };

/** Refuses options no chaos run can be made of, before anything starts. */
export function validateChaosOptions(options: ChaosOptions): void {
  const n = options.replicas;
  const f = faultBudgetOf(n);
  if (f < 1 || (n - 1) % 3 !== 0 || n > CHAOS_LIMITS.replicasMax)
    throw new RangeError(
      `--replicas must be 3f+1 with f >= 1, at most ${CHAOS_LIMITS.replicasMax}; got ${n}`,
    );
  if (!Number.isInteger(options.agents) || options.agents < 1 || options.agents > CHAOS_LIMITS.agentsMax)
    throw new RangeError(`--agents must be 1..${CHAOS_LIMITS.agentsMax}; got ${options.agents}`);
  if (options.durationMs <= 0 || options.durationMs > CHAOS_LIMITS.durationMsMax)
    throw new RangeError(`--duration must be positive and at most ${CHAOS_LIMITS.durationMsMax / 1000} s`);
}
