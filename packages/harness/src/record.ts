import type { Tally } from '@conclave/coordination';

/**
 * What a simulated run leaves behind for the checkers: plain data, no live objects, so checkers
 * are pure functions and tests can hand-build records (good and bad) to feed them.
 * Byte strings are lower-case hex, so records compare and print easily.
 */

export interface ExecutedRequestRecord {
  readonly agent: string;
  readonly requestId: number;
  readonly result: string;
  /** The key (hex) that signed it: its agent's key in force at this sequence, if core is right. */
  readonly publicKey?: string;
}

/** An ordered request core refused for its key (not executed; answered with core's refusal). */
export interface RefusedRequestRecord {
  readonly agent: string;
  readonly requestId: number;
  /** The key (hex) that signed it. */
  readonly publicKey: string;
  readonly code: 'UNKNOWN_AGENT' | 'REVOKED_KEY';
}

/** An agent registry as plain data: agent id → its key in force (hex). */
export type RegistryRecord = Readonly<Record<string, string>>;

export interface ExecutedRecord {
  /** Virtual tick at which the replica reported the batch. */
  readonly tick: number;
  readonly sequence: number;
  readonly view: number;
  readonly digest: string;
  readonly timestamp: number;
  readonly via: 'protocol' | 'fetch';
  readonly requests: readonly ExecutedRequestRecord[];
  /** State digest right after this batch, recorded when it was the last batch of its step. */
  readonly stateDigest?: string;
  /** Which life of the replica executed it: 0 until its first restart, then 1, ... */
  readonly incarnation?: number;
  /** Equivocation evidence this batch produced: `agent#requestId` keys. */
  readonly equivocations?: readonly string[];
  /** Requests of this batch core refused for their key (see registry-record.ts). */
  readonly refused?: readonly RefusedRequestRecord[];
  /**
   * The whole registry after this batch, when it differs from the replica's registry before it
   * (the batch changed it, or the replica arrived here by state transfer or a restart).
   */
  readonly agentKeys?: RegistryRecord;
  /** Digest of the registry after this batch (in force from the next sequence), when known. */
  readonly registry?: string;
}

/** A receipt an honest replica gave for a request it had just executed, as checked offline. */
export interface ReceiptRecord {
  readonly sequence: number;
  readonly agent: string;
  readonly requestId: number;
  readonly tick: number;
  /** `verifyReceipt`'s answer. */
  readonly ok: boolean;
  readonly reason?: string;
  /** The batch digest (hex) the receipt proves, when it verified. */
  readonly digest?: string;
  readonly view?: number;
}

/** A crash and restart of a replica (honest ones may crash; they must come back honest). */
export interface RestartRecord {
  readonly crashTick: number;
  readonly restartTick: number;
  /** Restarted from its durable state (false: from nothing, which only a Byzantine replica does). */
  readonly durable: boolean;
  /** The last executed sequence it came back with. */
  readonly lastExecuted: number;
}

/** A pause of an honest replica that ended (it resumed with its memory) by the end of the run. */
export interface PauseRecord {
  readonly pauseTick: number;
  readonly resumeTick: number;
}

/**
 * An agent equivocation the replicas saw, so evidence of it must exist at every honest replica
 * by the end: two different signed requests with one requestId that both reached honest
 * replicas, or a second, different ballot for a proposal after a first one was counted.
 */
export interface EquivocationRecord {
  readonly agent: string;
  readonly description: string;
  /** Evidence under any of these keys will do (`agent#requestId`, `agent@proposalId`). */
  readonly keys: readonly string[];
  readonly tick: number;
  /** The sequence whose batch proves it, when the ordered log does (a second ballot after a counted one). */
  readonly sequence?: number;
}

/** A replica's view, and whether it was changing views, from `tick` on (recorded when either changes). */
export interface ViewRecord {
  readonly tick: number;
  readonly view: number;
  readonly changingView: boolean;
}

export interface ReplicaRecord {
  readonly id: number;
  readonly honest: boolean;
  /** Executed batches in the order the replica reported them (empty for Byzantine replicas). */
  readonly executed: readonly ExecutedRecord[];
  /** The replica's state when the run ended. */
  readonly final?: {
    readonly lastExecuted: number;
    readonly stateDigest: string;
    readonly view: number;
    /** Digest of its agent registry at the end (`Replica.agentKeys()`). */
    readonly registry?: string;
  };
  /** Receipts it gave for what it executed (checked by the receipt checker). */
  readonly receipts?: readonly ReceiptRecord[];
  /** Evidence keys in its final state (the coordination state machine's evidence list). */
  readonly evidence?: readonly string[];
  readonly restarts?: readonly RestartRecord[];
  /** The tick it crashed at, when it was still down at the end of the run (its restart was due later). */
  readonly downSince?: number;
  /** Its pauses that ended by the end of the run. */
  readonly pauses?: readonly PauseRecord[];
  /** The tick it was paused at, when it was still paused at the end of the run. */
  readonly pausedSince?: number;
  /** Its view over time: one entry per change, the first at its first step (honest replicas only). */
  readonly views?: readonly ViewRecord[];
}

export interface IssuedRequestRecord {
  readonly requestId: number;
  /** Digest of the signed request body. */
  readonly digest: string;
  readonly issuedTick: number;
}

/** A result the agent saw vouched for by f+1 distinct replicas. */
export interface AcceptedRecord {
  readonly requestId: number;
  readonly sequence: number;
  readonly result: string;
  readonly tick: number;
}

export interface AgentRecord {
  readonly id: string;
  readonly honest: boolean;
  /** How many requests the agent meant to complete. */
  readonly requestsPlanned: number;
  readonly issued: readonly IssuedRequestRecord[];
  /** Every distinct (requestId, sequence, result) that reached f+1 matching replies, in order seen. */
  readonly accepted: readonly AcceptedRecord[];
}

export interface BatchRecord {
  readonly digest: string;
  readonly timestamp: number;
  readonly requests: readonly {
    readonly agent: string;
    readonly requestId: number;
    readonly digest: string;
    /** The key (hex) the request names as its signer. */
    readonly publicKey?: string;
  }[];
}

/** What the fairness checker needs to know of one signed request: what it does, and to what. */
export interface OperationSummary {
  /** The coordination operation (`kv_put`, `lock_acquire`, ...), or `undecodable`. */
  readonly op: string;
  /** The key, lock name, task id or proposal id it names, if any. */
  readonly target?: string;
}

/** An event the shared log still held at the end of a run. */
export interface RetainedEventRecord {
  readonly sequence: number;
  /** Every string field of the event (agent ids among them: agent, holder, creator, ...). */
  readonly names: readonly string[];
}

/** Present in fairness runs only: what the fairness checker reads besides the rest of the record. */
export interface FairnessRecord {
  /** Ticks within which an honest request issued after the heal must be accepted. */
  readonly latencyBoundTicks: number;
  /** `agent#requestId` → what that request does, for every agent (honest or lying). */
  readonly operations: ReadonlyMap<string, OperationSummary>;
  /** The event log of the lowest-numbered honest replica at the end, and how far it had executed. */
  readonly events: {
    readonly replica: number;
    readonly lastExecuted: number;
    readonly retained: readonly RetainedEventRecord[];
  };
}

/** One bound a liveness figure must keep, with the rule it came from (e.g. `3 × requestTimeoutTicks`). */
export interface LivenessBound {
  readonly ticks: number;
  readonly rule: string;
}

/**
 * Present in runs that hold liveness to bounds (the liveness suite, see liveness-bounds.ts): the
 * shape of the run, the fault it planned first, and the bounds.
 */
export interface LivenessPlan {
  /** The named shape of the scenario, for reports. */
  readonly shape: string;
  /** The first fault the scenario planned: the stall across the faults is measured from it. */
  readonly faultTick: number;
  /** The last tick a planned fault began or ended (a crash for good counts at its start). */
  readonly lastFaultTick: number;
  /**
   * The longest stall after the faults: from the stabilisation (`livenessOf`'s `fromTick`), or
   * from `lastFaultTick` when that is later (see liveness-bounds.ts `settledTick`).
   */
  readonly stall: LivenessBound;
  /** Until every honest replica is in one view, from the same tick; never by the end breaks it too. */
  readonly oneView: LivenessBound;
  /** The longest stall from `faultTick`: what the faults themselves cost (a view change, say). */
  readonly faultStall: LivenessBound;
  /** The highest view an honest replica may enter (outside a view change), when the shape says. */
  readonly viewMax?: number;
  /** A view (whose primary is dead) every honest replica that entered must leave within the bound. */
  readonly viewPass?: { readonly view: number; readonly within: LivenessBound };
}

export interface RunRecord {
  readonly replicaCount: number;
  readonly faultsMax: number;
  readonly checkpointInterval: number;
  readonly replicas: readonly ReplicaRecord[];
  readonly agents: readonly AgentRecord[];
  /** Request body digest → who signed it: every request an agent of the simulation created. */
  readonly created: ReadonlyMap<string, { readonly agent: string; readonly requestId: number }>;
  /** Batch digest → contents, for every batch seen on the network. */
  readonly batches: ReadonlyMap<string, BatchRecord>;
  readonly healTick: number;
  readonly endTick: number;
  /** Whether the run stopped because every honest agent finished (rather than at the tick limit). */
  readonly agentsDone: boolean;
  /** Agent equivocations the replicas saw (see `EquivocationRecord`). */
  readonly equivocations?: readonly EquivocationRecord[];
  /** Fairness runs only (see fairness.ts). */
  readonly fairness?: FairnessRecord;
  /** Runs whose liveness is bounded only (see liveness-bounds.ts). */
  readonly liveness?: LivenessPlan;
  /** The registry at genesis (in force at sequence 1): the key checkers' starting point. */
  readonly genesisAgentKeys?: RegistryRecord;
  /** Membership runs only: what each scripted request had to produce (see membership-outcomes.ts). */
  readonly membership?: MembershipRecord;
  /** Runs where sealed proposals occur (see sealed-record.ts and sealed-checkers.ts). */
  readonly sealed?: SealedRecord;
}

/** One signed request of an ordered batch that touches proposals: propose, commit, reveal or vote. */
export interface SealedOperationRecord {
  /** Its position in the batch. */
  readonly index: number;
  /** The agent that signed the request. */
  readonly agent: string;
  readonly requestId: number;
  /** The coordination operation's bytes (not hex: the checkers decode them). */
  readonly operation: Uint8Array;
}

/** An evidence item on a sealed proposal, as an honest replica held it, checked offline. */
export interface SealedEvidenceRecord {
  readonly id: number;
  readonly kind: string;
  readonly agent: string;
  /** `verifyEvidence`'s verdict against the genesis keys. */
  readonly verified: boolean;
}

/** What an honest replica reported of a sealed proposal once it was decided (`get_proposal`). */
export interface SealedDecisionRecord {
  readonly replica: number;
  readonly proposalId: string;
  readonly status: string;
  readonly decidedAt: { readonly sequence: number; readonly timestamp: number };
  readonly commitDeadline: number;
  readonly deadline: number;
  readonly tally: Tally;
  /** Evidence on this proposal the replica held when it was first seen decided. */
  readonly evidence: readonly SealedEvidenceRecord[];
}

/** Ballot content found in an honest replica's state or in a result it sent (see sealed-record.ts). */
export interface SealedLeakRecord {
  readonly replica: number;
  readonly tick: number;
  /** The replica's agreed time when it held or sent it. */
  readonly agreedTime: number;
  readonly proposalId: string;
  /** Whose ballot it was. */
  readonly agent: string;
  readonly what: 'ballot' | 'reason';
  readonly where: 'snapshot' | 'reply';
}

export interface SealedRecord {
  /** Batch digest → its requests that touch proposals, for every batch seen on the wire that has any. */
  readonly operations: ReadonlyMap<string, readonly SealedOperationRecord[]>;
  readonly decisions: readonly SealedDecisionRecord[];
  readonly leaks: readonly SealedLeakRecord[];
  /** Snapshots and replies searched for ballot content while a commit phase was open. */
  readonly probes: { readonly snapshots: number; readonly replies: number };
  /** The sealed suite's scripted requests: what each had to produce (see sealed-agents.ts). */
  readonly outcomes?: readonly ExpectedOutcomeRecord[];
}

/** What one scripted request of the membership suite must produce, when an answer came. */
export interface ExpectedOutcomeRecord {
  readonly agent: string;
  /** The agent the request was signed as (another's id, for an attacker holding a stolen key). */
  readonly signedAs: string;
  readonly requestId: number;
  /** Which attack or honest step it is, for messages. */
  readonly label: string;
  readonly honest: boolean;
  /** Outcomes allowed: `ok`, a coordination error code, or `refused:<core code>`; empty = anything. */
  readonly allowed: readonly string[];
  /** The outcome f+1 replicas vouched for, when one was. */
  readonly outcome?: string;
  readonly sequence?: number;
  readonly tick?: number;
}

export interface MembershipRecord {
  readonly outcomes: readonly ExpectedOutcomeRecord[];
}
