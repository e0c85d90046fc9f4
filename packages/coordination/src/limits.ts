/**
 * The bounds on every map, list and field of the coordination state. Each is a named constant;
 * what would exceed one is refused with a `LIMIT` (or `INVALID`, for field sizes) result, so the
 * state never grows without bound.
 */
import { LIMITS } from '@conclave/core';
import { QUOTA_KNOBS, snapshotBytesBound } from './capacity.ts';

/** Every bound of the coordination state machine. Counts are items, sizes are UTF-8 bytes, durations are ticks. */
export interface CoordinationLimits {
  /** Open proposals one agent may have proposed at once (quota `open-proposals`). */
  readonly openProposalsPerAgentMax: number;
  /** Decided proposals still within `retentionTicks` that count against their proposer (quota `retained-proposals`). */
  readonly retainedProposalsPerAgentMax: number;
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
  /** Keys one agent owns (quota `kv-keys`). */
  readonly kvKeysPerAgentMax: number;
  /** Bytes of keys, values and writers lists of the keys one agent owns (quota `kv-bytes`). */
  readonly kvBytesPerAgentMax: number;
  /** Agents an owner may grant write access to one key (the `writers` list of `kv_put`). */
  readonly kvWritersMax: number;
  readonly kvKeyBytesMax: number;
  readonly kvValueBytesMax: number;
  /** Locks one agent holds at once (quota `locks`; expired ones are freed when agreed time passes their expiry). */
  readonly locksPerAgentMax: number;
  readonly lockNameBytesMax: number;
  /** Tasks one agent created that are kept: open, claimed, and done ones still within `retentionTicks` (quota `tasks`). */
  readonly tasksPerAgentMax: number;
  readonly taskIdBytesMax: number;
  readonly taskPayloadBytesMax: number;
  readonly taskResultBytesMax: number;
  /** Active (unexpired) task claims one agent may hold at once. */
  readonly claimsPerAgentMax: number;
  /** A lock or claim lease lasts 1..leaseTicksMax ticks. */
  readonly leaseTicksMax: number;
  /** Decided proposals and done tasks are removed this many ticks after they finished. */
  readonly retentionTicks: number;
  /** Events produced by one agent that the log keeps; its older ones give way first (its share of the log). */
  readonly eventsPerAgentMax: number;
  /** Events one agent's operations may produce per `eventWindowTicks` of agreed time (quota `events`). */
  readonly eventsPerWindowPerAgentMax: number;
  /** The window of agreed time over which `eventsPerWindowPerAgentMax` is counted. */
  readonly eventWindowTicks: number;
  /** Items one list query returns at most (events, proposals, tasks, evidence, agents). */
  readonly pageMax: number;
  /**
   * Agent records the registry holds at most: registered agents plus removed ones, whose records
   * (and whatever they still own) are kept. The snapshot fit is checked for this many agents at
   * full quota. Raised to the genesis agent count when that is larger and not overridden.
   */
  readonly agentsMax: number;
  /** Keys (current and past, with their intervals) one agent record keeps; the oldest past key gives way. */
  readonly keyHistoryMax: number;
}

/**
 * The defaults. Quotas are per agent, so what the whole state holds grows with the registry;
 * `resolveLimits` checks that every agent at full quota still fits one snapshot frame (with
 * these defaults: up to `DEFAULT_AGENTS_FIT` agents; lower the quota it names for more).
 */
export const DEFAULT_COORDINATION_LIMITS: CoordinationLimits = Object.freeze({
  openProposalsPerAgentMax: 2,
  retainedProposalsPerAgentMax: 2,
  votersMax: 64,
  weightMax: 1_000_000,
  candidatesMax: 16,
  scoreMax: 1_000_000,
  proposalIdBytesMax: 64,
  titleBytesMax: 256,
  candidateBytesMax: 32,
  reasonBytesMax: 128,
  ballotBytesMax: 256,
  deadlineTicksMax: 100_000_000,
  evidenceMax: 1024,
  evidencePerAgentMax: 32,
  kvKeysPerAgentMax: 32,
  kvBytesPerAgentMax: 16_384,
  kvWritersMax: 8,
  kvKeyBytesMax: 256,
  kvValueBytesMax: 4096,
  locksPerAgentMax: 8,
  lockNameBytesMax: 256,
  tasksPerAgentMax: 8,
  taskIdBytesMax: 64,
  taskPayloadBytesMax: 1024,
  taskResultBytesMax: 1024,
  claimsPerAgentMax: 4,
  leaseTicksMax: 360_000,
  retentionTicks: 60_000,
  eventsPerAgentMax: 32,
  // Above what one agent writing one request at a time can reach (a ~10 ms round trip: ~100/s),
  // so only a flood is refused; what it bounds is how fast an agent turns over its own share.
  eventsPerWindowPerAgentMax: 256,
  eventWindowTicks: 100,
  pageMax: 100,
  agentsMax: 64,
  keyHistoryMax: 8,
});

/**
 * Refuses limits under which `agentCount` agents, each at full quota, would make a snapshot
 * larger than a frame: then some agent could not use its quota without breaking state transfer.
 * The error names the resource that weighs most, the one to lower.
 */
function checkFits(limits: CoordinationLimits, agentCount: number): void {
  const bound = snapshotBytesBound(limits, agentCount);
  if (bound.total <= LIMITS.frameBytesMax) return;
  const [heaviest] = Object.entries(bound.perAgent).sort(([, a], [, b]) => b - a);
  const [resource, bytes] = heaviest ?? ['', 0];
  throw new CoordinationConfigError(
    `${agentCount} agents at full quota could fill ${bound.total} snapshot bytes, over the ` +
      `${LIMITS.frameBytesMax}-byte frame; ${resource} weigh most (${bytes} bytes per agent): lower ` +
      `${QUOTA_KNOBS[resource as keyof typeof QUOTA_KNOBS]}`,
  );
}

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
 * `agentsMax` covers the genesis registry: an explicit value below the genesis count is refused;
 * the default is raised to it (so a cluster file naming more agents than the default keeps
 * loading, and the fit check below names the quotas to lower, as it always did).
 */
function withRegistrySize(
  limits: CoordinationLimits,
  overrides: Partial<CoordinationLimits>,
  agentCount: number,
): CoordinationLimits {
  if (agentCount <= limits.agentsMax) return limits;
  if (overrides.agentsMax !== undefined)
    throw new CoordinationConfigError(
      `agentsMax (${limits.agentsMax}) must be at least the ${agentCount} genesis agents`,
    );
  return { ...limits, agentsMax: agentCount };
}

/**
 * Merges overrides into the defaults and checks the constants against each other: every one a
 * positive safe integer, per-agent bounds within the totals, and integer arithmetic on weights
 * and scores (sums times 1000) within the safe-integer range; and, for `agentCount` registered
 * agents, that every agent at full quota still fits one snapshot (`checkFits`).
 */
export function resolveLimits(
  overrides: Partial<CoordinationLimits> = {},
  agentCount = 1,
): CoordinationLimits {
  for (const name of Object.keys(overrides))
    if (!(name in DEFAULT_COORDINATION_LIMITS))
      throw new CoordinationConfigError(`unknown coordination limit ${JSON.stringify(name)}`);
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
  atMost('evidencePerAgentMax', 'evidenceMax');
  atMost('kvKeyBytesMax', 'kvBytesPerAgentMax');
  if (limits.votersMax * limits.weightMax > Number.MAX_SAFE_INTEGER)
    throw new CoordinationConfigError('votersMax * weightMax must be a safe integer');
  if (limits.votersMax * limits.scoreMax * 1000 > Number.MAX_SAFE_INTEGER)
    throw new CoordinationConfigError('votersMax * scoreMax * 1000 must be a safe integer');
  const sized = withRegistrySize(limits, overrides, agentCount);
  checkFits(sized, sized.agentsMax);
  return Object.freeze(sized);
}
