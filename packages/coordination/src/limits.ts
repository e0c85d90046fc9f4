/**
 * The bounds on every map, list and field of the coordination state. Each is a named constant;
 * what would exceed one is refused with a `LIMIT` (or `INVALID`, for field sizes) result, so the
 * state never grows without bound.
 */

/** Every bound of the coordination state machine. Counts are items, sizes are UTF-8 bytes, durations are ticks. */
export interface CoordinationLimits {
  /** Proposals kept at once: open ones plus decided ones still within `retentionTicks`. */
  readonly proposalsMax: number;
  /** Open proposals one agent may have proposed at once. */
  readonly openProposalsPerAgentMax: number;
  /** Voters per proposal; also bounds the ballots a proposal holds (one per voter). */
  readonly votersMax: number;
  /** A voter's weight is an integer in 1..weightMax. */
  readonly weightMax: number;
  /** Candidates of a score proposal. */
  readonly candidatesMax: number;
  /** A score is an integer in 0..scoreMax; higher is better. */
  readonly scoreMax: number;
  readonly proposalIdBytesMax: number;
  readonly titleBytesMax: number;
  readonly candidateBytesMax: number;
  readonly reasonBytesMax: number;
  /** Encoded ballot (the signed object) at most. */
  readonly ballotBytesMax: number;
  /** A deadline at most this many ticks after the agreed time at which the proposal is made. */
  readonly deadlineTicksMax: number;
  /** Evidence items kept in total. */
  readonly evidenceMax: number;
  /** Evidence items kept about one agent. */
  readonly evidencePerAgentMax: number;
  readonly kvKeysMax: number;
  readonly kvKeyBytesMax: number;
  readonly kvValueBytesMax: number;
  /** Locks held at once (expired ones are removed when agreed time passes their expiry). */
  readonly locksMax: number;
  readonly lockNameBytesMax: number;
  /** Tasks kept at once: open, claimed, and done ones still within `retentionTicks`. */
  readonly tasksMax: number;
  readonly taskIdBytesMax: number;
  readonly taskPayloadBytesMax: number;
  readonly taskResultBytesMax: number;
  /** Active (unexpired) task claims one agent may hold at once. */
  readonly claimsPerAgentMax: number;
  /** A lock or claim lease lasts 1..leaseTicksMax ticks. */
  readonly leaseTicksMax: number;
  /** Decided proposals and done tasks are removed this many ticks after they finished. */
  readonly retentionTicks: number;
  /** Events kept in the ring buffer. */
  readonly eventsMax: number;
  /** Items one list query returns at most (events, proposals, tasks, evidence, agents). */
  readonly pageMax: number;
}

/** The defaults: sized so a full state stays in the tens of megabytes. */
export const DEFAULT_COORDINATION_LIMITS: CoordinationLimits = Object.freeze({
  proposalsMax: 256,
  openProposalsPerAgentMax: 16,
  votersMax: 64,
  weightMax: 1_000_000,
  candidatesMax: 16,
  scoreMax: 1_000_000,
  proposalIdBytesMax: 64,
  titleBytesMax: 256,
  candidateBytesMax: 32,
  reasonBytesMax: 1024,
  ballotBytesMax: 2048,
  deadlineTicksMax: 100_000_000,
  evidenceMax: 1024,
  evidencePerAgentMax: 32,
  kvKeysMax: 4096,
  kvKeyBytesMax: 256,
  kvValueBytesMax: 4096,
  locksMax: 1024,
  lockNameBytesMax: 256,
  tasksMax: 4096,
  taskIdBytesMax: 64,
  taskPayloadBytesMax: 4096,
  taskResultBytesMax: 4096,
  claimsPerAgentMax: 4,
  leaseTicksMax: 10_000_000,
  retentionTicks: 1_000_000,
  eventsMax: 1024,
  pageMax: 100,
});

/** Thrown by the constructor for limits that are not positive integers or contradict each other. */
export class CoordinationConfigError extends Error {
  /** Stable code, as for core's ConfigError. */
  readonly code = 'INVALID_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'CoordinationConfigError';
  }
}

/**
 * Merges overrides into the defaults and checks the constants against each other: every one a
 * positive safe integer, per-agent bounds within the totals, and integer arithmetic on weights
 * and scores (sums times 1000) within the safe-integer range.
 */
export function resolveLimits(overrides: Partial<CoordinationLimits> = {}): CoordinationLimits {
  const limits: CoordinationLimits = { ...DEFAULT_COORDINATION_LIMITS, ...overrides };
  for (const name of Object.keys(DEFAULT_COORDINATION_LIMITS) as (keyof CoordinationLimits)[]) {
    const value = limits[name];
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new CoordinationConfigError(`${name} must be a positive safe integer, got ${String(value)}`);
  }
  const atMost = (small: keyof CoordinationLimits, large: keyof CoordinationLimits) => {
    if (limits[small] > limits[large])
      throw new CoordinationConfigError(
        `${small} (${limits[small]}) must not exceed ${large} (${limits[large]})`,
      );
  };
  atMost('openProposalsPerAgentMax', 'proposalsMax');
  atMost('evidencePerAgentMax', 'evidenceMax');
  atMost('claimsPerAgentMax', 'tasksMax');
  if (limits.votersMax * limits.weightMax > Number.MAX_SAFE_INTEGER)
    throw new CoordinationConfigError('votersMax * weightMax must be a safe integer');
  if (limits.votersMax * limits.scoreMax * 1000 > Number.MAX_SAFE_INTEGER)
    throw new CoordinationConfigError('votersMax * scoreMax * 1000 must be a safe integer');
  return Object.freeze(limits);
}
