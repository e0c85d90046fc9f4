/**
 * Results: what `apply` and `query` return, as typed values and canonical record bytes.
 *
 * Every result is `{ ok: true, kind, at, ... }` or `{ ok: false, code, message }`. `at` is the
 * position of the state that answered (last sequence and agreed time it has seen), so a local
 * read says how stale it may be.
 */
import type { AgentQuotas, QuotaLimitName } from './agent-quotas.ts';
import type { Evidence, LogPosition } from './evidence.ts';
import type { GovernanceAction } from './governance.ts';
import type { KeyInterval } from './key-history.ts';
import type { Choice, Rule, SealedTerms, Voter } from './operations.ts';
import { decodeRecord, encodeRecord, type RecordValue } from './record.ts';

/** How a decided proposal ended. Exact definitions are in the README. */
export type Outcome = 'approved' | 'rejected' | 'no_quorum' | 'expired';
/** A proposal is open until it has an outcome. */
export type ProposalStatus = 'open' | Outcome;

/** How many counted ballots made one choice, and their total weight. */
export interface ChoiceCount {
  readonly count: number;
  readonly weight: number;
}

/** A ballot that counts. */
export interface CountedBallot {
  readonly agent: string;
  readonly weight: number;
  readonly choice: Choice;
  readonly confidencePermille: number;
}

/**
 * Why a voter's ballot does not count: it signed two different ballots (or, on a sealed
 * proposal, two different commitments), or it revealed a ballot its commitment does not seal.
 */
export type ExclusionReason = 'equivocation' | 'reveal_mismatch';

/** A voter whose ballot does not count, and why. */
export interface ExcludedBallot {
  readonly agent: string;
  readonly weight: number;
  readonly reason: ExclusionReason;
  /** The evidence that excluded it, if it was kept (null when the evidence store was full). */
  readonly evidenceId: number | null;
}

/**
 * A voter of a sealed proposal that committed and did not reveal by the deadline. It counts as
 * the proposal's `missingReveal` choice (yes/no rules; no scores under a score rule).
 */
export interface UnrevealedBallot {
  readonly agent: string;
  readonly weight: number;
  /** The no-reveal evidence (null when the evidence store was full). */
  readonly evidenceId: number | null;
}

/** A score proposal's standing for one candidate. */
export interface CandidateTally {
  readonly candidate: string;
  /** Counted ballots that scored it. */
  readonly ballots: number;
  /** The aggregate (median or trimmed mean) times 1000, rounded down; null with no ballots. */
  readonly aggregateMilli: number | null;
}

/** The tally of a proposal, recomputed from its counted ballots. */
export interface Tally {
  /** For score rules, the choice counts are zero. */
  readonly approve: ChoiceCount;
  readonly reject: ChoiceCount;
  readonly abstain: ChoiceCount;
  /** Voters who have not cast (or revealed) a ballot and are not excluded. */
  readonly pending: ChoiceCount;
  /** Counted ballots, in voter order: cast on an open proposal, revealed on a sealed one. */
  readonly counted: readonly CountedBallot[];
  readonly excluded: readonly ExcludedBallot[];
  /** Sealed proposals: voters with a commitment that counts (zero on open proposals). */
  readonly committed: ChoiceCount;
  /** Sealed proposals decided at their deadline: committed voters that never revealed, in voter order. */
  readonly unrevealed: readonly UnrevealedBallot[];
  /** Score rules only, in candidate order; empty otherwise. */
  readonly candidates: readonly CandidateTally[];
  /** Score rules: the candidate with the highest aggregate (ties: the smallest name); null otherwise or with no ballots. */
  readonly winner: string | null;
}

/** Where a proposal is in its life: an open ballot is `voting`; a sealed one `commit`, then `reveal`; then `decided`. */
export type ProposalPhase = 'voting' | 'commit' | 'reveal' | 'decided';

/** A sealed proposal's terms and who has committed: never what (that is in the commitments' seals only). */
export interface SealedView extends SealedTerms {
  /** Voters whose commitment counts, sorted. */
  readonly committed: readonly string[];
  /** Voters whose revealed ballot counts, sorted. */
  readonly revealed: readonly string[];
}

/** A proposal with its status and tally. */
export interface ProposalView {
  readonly proposalId: string;
  readonly proposer: string;
  readonly title: string;
  readonly rule: Rule;
  /** Sorted by agent id. */
  readonly voters: readonly Voter[];
  readonly deadline: number;
  /** Sorted. */
  readonly candidates: readonly string[];
  readonly createdAt: LogPosition;
  readonly status: ProposalStatus;
  readonly phase: ProposalPhase;
  readonly decidedAt: LogPosition | null;
  /** Null for an open ballot. */
  readonly sealed: SealedView | null;
  readonly tally: Tally;
  /** The governance action it carries; null for an ordinary proposal. */
  readonly action: GovernanceAction | null;
  /** Null until an action proposal is approved (and for ordinary ones). */
  readonly actionOutcome: ActionOutcome | null;
}

/** A proposal in a list. */
export interface ProposalSummary {
  readonly proposalId: string;
  readonly proposer: string;
  readonly title: string;
  readonly status: ProposalStatus;
  readonly phase: ProposalPhase;
  readonly deadline: number;
  /** Null for an open ballot. */
  readonly sealed: SealedTerms | null;
  readonly decidedAt: LogPosition | null;
  /** Score rules: the winner once approved. */
  readonly winner: string | null;
  /** The governance action's kind, if it carries one. */
  readonly actionKind: GovernanceAction['kind'] | null;
  readonly actionOutcome: ActionOutcome | null;
}

/**
 * A key's value and version; `value` null and `version` 0 when absent. The version is the
 * store's revision at the key's last write: it only grows, across deletes too (no ABA).
 */
export interface KvEntry {
  readonly key: string;
  readonly value: Uint8Array | null;
  readonly version: number;
  /** The agent whose quota the key counts against; null when absent. */
  readonly owner: string | null;
  /** Agents the owner granted write access (sorted); empty when absent or under `shared/`. */
  readonly writers: readonly string[];
  readonly updatedBy: string | null;
  readonly updatedAt: LogPosition | null;
}

/** A lock: holder and expiry are null when free. */
export interface LockView {
  readonly name: string;
  readonly holder: string | null;
  /** Agreed time at which the lease ends (the lock is free from this tick on). */
  readonly expiresAt: number | null;
  /** Fencing token: increases with every grant of any lock, so stale holders can be told apart. */
  readonly token: number | null;
}

/** Task statuses. */
export type TaskStatus = 'open' | 'claimed' | 'done';

/** A task on the board. */
export interface TaskView {
  readonly taskId: string;
  readonly creator: string;
  readonly payload: Uint8Array;
  readonly status: TaskStatus;
  readonly claimant: string | null;
  /** While claimed: agreed time at which the claim lapses and the task returns to the board. */
  readonly claimExpiresAt: number | null;
  readonly result: Uint8Array | null;
  readonly completedBy: string | null;
  readonly createdAt: LogPosition;
  readonly doneAt: LogPosition | null;
}

/** An agent record: registered, or removed (then `publicKey` is null and `removed` true). */
export interface AgentView {
  readonly id: string;
  /** The current key; null once removed. */
  readonly publicKey: Uint8Array | null;
  readonly removed: boolean;
  /** Voting weight (integer ≥ 1): its weight in council actions. */
  readonly weight: number;
  /** Per-agent quota overrides (each at most the global limit of that name). */
  readonly quotas: AgentQuotas;
  /** Whether it is on the council. */
  readonly council: boolean;
  /** Whether it is an observer: it may read, not write or vote (see the coordination README). */
  readonly observer: boolean;
  /** Every retained key with the sequences [from, until) it was in force, oldest first (see `keyInForce`). */
  readonly keys: readonly KeyInterval[];
}

/**
 * What one agent holds against each of its quotas (`list_usage`): `used` is the count the quota
 * check compares, `limits` the limit in force (its override, else the global one). A write that
 * would take `used` past its limit is refused with QUOTA.
 */
export interface AgentUsageView {
  readonly agent: string;
  readonly used: { readonly [K in QuotaLimitName]: number };
  readonly limits: { readonly [K in QuotaLimitName]: number };
}

/** The council: who may propose and vote governance actions, and the approving weight an action needs. */
export interface CouncilView {
  /** Sorted. */
  readonly members: readonly string[];
  readonly threshold: number;
}

/**
 * What became of an approved action proposal's action: executed at a position (its changes in
 * force from the next sequence), or failed with the refusal it met when it was re-checked.
 */
export type ActionOutcome =
  | { readonly status: 'executed'; readonly at: LogPosition; readonly code: null; readonly message: null }
  | {
      readonly status: 'failed';
      readonly at: LogPosition;
      readonly code: ErrorCode;
      readonly message: string;
    };

/** Where an event sits: its sequence and its index among that sequence's events. */
export interface EventCursor {
  readonly sequence: number;
  readonly index: number;
}

/** What an event says happened. */
export type EventBody =
  | {
      readonly kind: 'proposal_created';
      readonly proposalId: string;
      readonly proposer: string;
      readonly deadline: number;
    }
  | { readonly kind: 'ballot_cast'; readonly proposalId: string; readonly agent: string }
  /** A sealed proposal: `agent` committed (what it chose stays in the seal). */
  | { readonly kind: 'ballot_committed'; readonly proposalId: string; readonly agent: string }
  /** A sealed proposal's commit deadline passed: reveals are accepted from now on. */
  | { readonly kind: 'reveal_opened'; readonly proposalId: string; readonly committed: number }
  | { readonly kind: 'ballot_revealed'; readonly proposalId: string; readonly agent: string }
  /** A committed voter did not reveal by the deadline. */
  | {
      readonly kind: 'reveal_missing';
      readonly proposalId: string;
      readonly agent: string;
      readonly evidenceId: number | null;
    }
  | {
      readonly kind: 'ballot_voided';
      readonly proposalId: string;
      readonly agent: string;
      readonly evidenceId: number | null;
    }
  | {
      readonly kind: 'proposal_decided';
      readonly proposalId: string;
      readonly outcome: Outcome;
      readonly winner: string | null;
    }
  | { readonly kind: 'proposal_pruned'; readonly proposalId: string }
  | {
      readonly kind: 'evidence_recorded';
      readonly evidenceId: number;
      readonly agent: string;
      readonly evidenceKind: Evidence['kind'];
      readonly proposalId: string | null;
    }
  | { readonly kind: 'evidence_dropped'; readonly agent: string; readonly evidenceKind: Evidence['kind'] }
  | { readonly kind: 'kv_put'; readonly key: string; readonly version: number; readonly agent: string }
  | { readonly kind: 'kv_deleted'; readonly key: string; readonly agent: string }
  | {
      readonly kind: 'lock_acquired';
      readonly name: string;
      readonly holder: string;
      readonly expiresAt: number;
      readonly token: number;
    }
  | {
      readonly kind: 'lock_renewed';
      readonly name: string;
      readonly holder: string;
      readonly expiresAt: number;
    }
  | { readonly kind: 'lock_released'; readonly name: string; readonly holder: string }
  | { readonly kind: 'lock_expired'; readonly name: string; readonly holder: string }
  | { readonly kind: 'task_created'; readonly taskId: string; readonly creator: string }
  | {
      readonly kind: 'task_claimed';
      readonly taskId: string;
      readonly claimant: string;
      readonly expiresAt: number;
    }
  | { readonly kind: 'task_completed'; readonly taskId: string; readonly claimant: string }
  | { readonly kind: 'task_released'; readonly taskId: string; readonly claimant: string }
  | { readonly kind: 'task_claim_expired'; readonly taskId: string; readonly claimant: string }
  | { readonly kind: 'task_pruned'; readonly taskId: string }
  /** A registry or council change, by an action (`proposalId` set) or by the agent itself; in force from `effectiveFrom`. */
  | {
      readonly kind: 'registry_changed';
      readonly change: GovernanceAction['kind'] | 'rotate_key' | 'revoke_self';
      readonly agent: string | null;
      readonly proposalId: string | null;
      readonly effectiveFrom: number;
    }
  | {
      readonly kind: 'action_failed';
      readonly proposalId: string;
      readonly code: ErrorCode;
    };

/** One state change, in the order it happened. */
export type CoordinationEvent = EventBody & {
  /** The agent whose operation, or whose lock, claim, task, proposal or evidence, produced it: whose share of the log it uses. */
  readonly producer: string;
  readonly sequence: number;
  /** Position among the events of `sequence`, from 0. */
  readonly index: number;
  readonly timestamp: number;
};

/** Stable error codes. */
export type ErrorCode =
  /** Not canonical msgpack, or not a tuple. */
  | 'MALFORMED'
  /** A field has the wrong type, size or range, or the operation is unknown. */
  | 'INVALID'
  | 'NOT_FOUND'
  /** The caller may not do this (not a voter, not the holder or claimant, not registered). */
  | 'FORBIDDEN'
  /** The deadline or lease has passed. */
  | 'EXPIRED'
  /** A bound of the whole state would be exceeded (result size). */
  | 'LIMIT'
  /** One of the caller's per-agent quotas would be exceeded; `resource` names it. */
  | 'QUOTA'
  /** The id is taken, or the lock/task is held by someone. */
  | 'CONFLICT'
  | 'VERSION_MISMATCH'
  /** The ballot's signature does not verify, or its agent is not the request's signer. */
  | 'FORGED_BALLOT'
  /** The voter signed a different ballot for this proposal before: its ballot no longer counts. */
  | 'EQUIVOCATION'
  /** The proposal is already decided. */
  | 'CLOSED'
  /** A write was sent to `query`. */
  | 'READ_ONLY'
  /** Only council members may propose governance actions and vote on them. */
  | 'NOT_COUNCIL'
  /** A join statement that does not decode, is not an agent's, or is not signed by its own key. */
  | 'INVALID_JOIN'
  /** The agent id is registered already. */
  | 'AGENT_EXISTS'
  /** The agent is not registered. */
  | 'UNKNOWN_AGENT'
  /** The key is, or was, some agent's. */
  | 'KEY_IN_USE'
  /** The registry holds `agentsMax` agent records. */
  | 'REGISTRY_FULL'
  /** The action would break the governance rules (an empty or unreachable council, a quota above the global one). */
  | 'INVALID_ACTION'
  /** A plain `vote` on a sealed proposal: commit, then reveal. */
  | 'SEALED'
  /** A commit or reveal on a proposal that is not sealed. */
  | 'NOT_SEALED'
  /** A commitment after the commit deadline. */
  | 'COMMIT_CLOSED'
  /** A reveal before the commit deadline: refused, and nothing of it kept. */
  | 'REVEAL_TOO_EARLY'
  /** A reveal from a voter that has no commitment on the proposal. */
  | 'NO_COMMITMENT'
  /** A reveal whose ballot and salt do not reproduce the voter's commitment: recorded, and the voter excluded. */
  | 'REVEAL_MISMATCH';

/** Resources with a per-agent quota (`QUOTA` results name one). */
export type QuotaResource =
  | 'kv-keys'
  | 'kv-bytes'
  | 'locks'
  | 'tasks'
  | 'claims'
  | 'open-proposals'
  | 'retained-proposals'
  | 'events';

export const QUOTA_RESOURCES: ReadonlySet<string> = new Set<QuotaResource>([
  'kv-keys',
  'kv-bytes',
  'locks',
  'tasks',
  'claims',
  'open-proposals',
  'retained-proposals',
  'events',
]);

/** A refusal. `resource` is set exactly on `QUOTA` refusals. */
export interface ErrorResult {
  readonly ok: false;
  readonly code: ErrorCode;
  readonly message: string;
  readonly resource?: QuotaResource;
}

type Ok<K extends string, T> = { readonly ok: true; readonly kind: K; readonly at: LogPosition } & T;

/** Every result of `apply` and `query`. */
export type CoordinationResult =
  | Ok<'proposal', { readonly proposal: ProposalView }>
  /** A vote's (or commit's, or reveal's) result is the proposal's summary (status, winner); read the tally with `get_proposal`. */
  | Ok<'vote', { readonly duplicate: boolean; readonly proposal: ProposalSummary }>
  | Ok<'proposals', { readonly proposals: readonly ProposalSummary[]; readonly next: string | null }>
  | Ok<
      'ballot',
      {
        readonly proposalId: string;
        readonly agent: string;
        readonly ballotBytes: Uint8Array;
        readonly signature: Uint8Array;
        /** The voter's key the signature was checked against when cast (its key in force then); null once that key left the bounded history. */
        readonly publicKey: Uint8Array | null;
        /** The `from` of that key's interval in the voter's history (`list_agents`). */
        readonly keyFrom: number;
        readonly counted: boolean;
        /** A sealed proposal's revealed ballot: the salt its commitment sealed; null on open proposals. */
        readonly salt: Uint8Array | null;
      }
    >
  | Ok<
      'commitment',
      {
        readonly proposalId: string;
        readonly agent: string;
        readonly commitmentBytes: Uint8Array;
        readonly signature: Uint8Array;
        /** The voter's key the signature was checked against; null once it left the bounded history. */
        readonly publicKey: Uint8Array | null;
        readonly keyFrom: number;
        /** Always false: a revealed commitment is no longer held (read the ballot: its salt reproduces the seal). */
        readonly revealed: boolean;
        readonly counted: boolean;
      }
    >
  | Ok<'evidence', { readonly evidence: readonly Evidence[]; readonly next: number | null }>
  | Ok<'kv', { readonly entry: KvEntry }>
  | Ok<'lock', { readonly lock: LockView }>
  | Ok<'task', { readonly task: TaskView }>
  | Ok<'tasks', { readonly tasks: readonly TaskView[]; readonly next: string | null }>
  | Ok<
      'events',
      {
        readonly events: readonly CoordinationEvent[];
        /** Sequence of the oldest event still retained; null when none is. */
        readonly earliestSequence: number | null;
        /** True when events at or after the requested cursor were dropped from the log. */
        readonly missed: boolean;
        /** The first cursor from which no event has been dropped: where a new watcher starts. */
        readonly gapFreeFrom: EventCursor;
        /** Where to continue from. */
        readonly next: EventCursor;
      }
    >
  | Ok<'agents', { readonly agents: readonly AgentView[]; readonly next: string | null }>
  | Ok<'usage', { readonly usage: readonly AgentUsageView[]; readonly next: string | null }>
  | Ok<'council', { readonly council: CouncilView }>
  /** `rotate_key` and `revoke_self`: the record after the change, in force from `effectiveFrom`. */
  | Ok<'agent', { readonly agent: AgentView; readonly effectiveFrom: number }>
  | ErrorResult;

/** Result kinds of successful results. */
export const RESULT_KINDS: ReadonlySet<string> = new Set([
  'proposal',
  'vote',
  'proposals',
  'ballot',
  'commitment',
  'evidence',
  'kv',
  'lock',
  'task',
  'tasks',
  'events',
  'agents',
  'usage',
  'council',
  'agent',
]);

/** Error codes. */
export const ERROR_CODES: ReadonlySet<string> = new Set([
  'MALFORMED',
  'INVALID',
  'NOT_FOUND',
  'FORBIDDEN',
  'EXPIRED',
  'LIMIT',
  'QUOTA',
  'CONFLICT',
  'VERSION_MISMATCH',
  'FORGED_BALLOT',
  'EQUIVOCATION',
  'CLOSED',
  'READ_ONLY',
  'NOT_COUNCIL',
  'INVALID_JOIN',
  'AGENT_EXISTS',
  'UNKNOWN_AGENT',
  'KEY_IN_USE',
  'REGISTRY_FULL',
  'INVALID_ACTION',
  'SEALED',
  'NOT_SEALED',
  'COMMIT_CLOSED',
  'REVEAL_TOO_EARLY',
  'NO_COMMITMENT',
  'REVEAL_MISMATCH',
]);

/** The canonical bytes of a result. */
export function encodeResult(result: CoordinationResult): Uint8Array {
  return encodeRecord(result as unknown as RecordValue);
}

/**
 * Decodes result bytes (from f+1 matching replies, or one replica's local read). Checks the
 * envelope (ok, kind or code, message); the body is trusted to be what replicas produced.
 * Never throws: bytes that are not a result decode to a `MALFORMED` error result.
 */
export function decodeResult(bytes: Uint8Array): CoordinationResult {
  const value = decodeRecord(bytes);
  const malformed: ErrorResult = {
    ok: false,
    code: 'MALFORMED',
    message: 'bytes are not a coordination result',
  };
  if (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value))
    return malformed;
  if (value instanceof Uint8Array) return malformed;
  const record = value as { readonly [key: string]: RecordValue };
  if (record.ok === true) {
    if (typeof record.kind !== 'string' || !RESULT_KINDS.has(record.kind)) return malformed;
    return record as unknown as CoordinationResult;
  }
  if (record.ok === false && typeof record.code === 'string' && ERROR_CODES.has(record.code)) {
    if (typeof record.message !== 'string') return malformed;
    const error: ErrorResult = { ok: false, code: record.code as ErrorCode, message: record.message };
    if (record.code !== 'QUOTA') return error;
    if (typeof record.resource !== 'string' || !QUOTA_RESOURCES.has(record.resource)) return malformed;
    return { ...error, resource: record.resource as QuotaResource };
  }
  return malformed;
}
