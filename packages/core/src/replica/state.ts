/**
 * The replica's state, in one section per part of the protocol, each mostly kept by the file of
 * the same name under `replica/`. Parts reach into each other's sections where the protocol ties
 * them: entering a view restarts request timers, a stable checkpoint moves the primary's next
 * sequence, executing a batch ends a streak of view changes. Every time is a tick count
 * (`ReplicaContext.now` is the clock).
 */
import type {
  Batch,
  Checkpoint,
  Commit,
  Frame,
  NewView,
  PrePrepare,
  Prepare,
  PreparedProof,
  Request,
  ReturnAck,
  Signed,
  ViewChange,
} from '../messages.ts';
import type { SignedBytes } from '../receipt.ts';
import type { CommitProof, ViewInterval } from '../types.ts';

/**
 * What the replica is doing, as one value:
 * - `normal`: working in `view`, ordering and executing;
 * - `view-change`: left the views below `view`, waiting for (or computing) its NEW-VIEW;
 * - `restoring`: replaying its durable log after a restart, inside the constructor; nothing is
 *   proposed, and nothing it would send leaves.
 */
export type ReplicaMode = 'normal' | 'view-change' | 'restoring';

/** One sequence of the log: the proposal, the votes for it in `view`, and what became of it. */
export interface LogEntry {
  readonly sequence: number;
  /** The view that `prePrepare`, `prepares`, `commits` and `prepared` belong to. */
  view: number;
  prePrepare: Signed<PrePrepare> | undefined;
  prepares: Map<number, Signed<Prepare>>;
  commits: Map<number, Signed<Commit>>;
  prepared: boolean;
  /** The prepared certificate from the highest view in which this replica prepared this sequence. */
  preparedProof: PreparedProof | undefined;
  committed: (CommitProof & { via: 'protocol' | 'fetch' }) | undefined;
  /** Batches known for this sequence, by digest (hex). */
  batches: Map<string, Batch>;
}

export interface PendingRequest {
  readonly request: Signed<Request>;
  readonly digestHex: string;
  receivedAt: number;
  /** Sequence this request was assigned to in the current view (primary), if any. */
  assigned: number | undefined;
}

/** The reply cache entry of one agent: what makes execution exactly-once. */
export interface ClientRecord {
  readonly requestId: number;
  readonly result: Uint8Array;
  readonly sequence: number;
  /**
   * The agent's most recent executed requests (signed bodies, latest last): to recognise, and
   * prove, a different request signed with one of their ids. Bounded by RECENT_REQUESTS_PER_AGENT.
   */
  readonly recent: readonly RecentRequest[];
  /** Request ids whose equivocation was already reported (once is enough); bounded likewise. */
  readonly reported: readonly number[];
}

export interface RecentRequest {
  readonly requestId: number;
  readonly request: SignedBytes;
}

/** Executed requests remembered per agent for equivocation evidence; older ids can no longer be proven. */
export const RECENT_REQUESTS_PER_AGENT = 8;

/** Two different signed requests with one (agent, requestId), held until they are ordered together. */
export interface ConflictPair {
  readonly first: Signed<Request>;
  readonly second: Signed<Request>;
  assigned: number | undefined;
  forwardedAt: number;
  /** When this replica learned of the pair, or entered the current view: it times the primary out like a request. */
  since: number;
}

export interface StableCheckpoint {
  readonly sequence: number;
  readonly digest: Uint8Array;
  readonly proof: readonly Signed<Checkpoint>[];
  readonly snapshot: Uint8Array;
}

export interface StoredViewChange {
  readonly signed: Signed<ViewChange>;
  readonly batches: readonly Batch[];
}

/** A normal-case message for a view we have not entered yet, kept until we do. */
export interface EarlyFrame {
  readonly view: number;
  readonly sender: number;
  readonly frame: Frame;
  readonly raw: Uint8Array;
}

/** Requests: admission, the pending table, agent equivocation, and the primary's batching. */
export interface RequestsState {
  readonly pending: Map<string, PendingRequest>;
  readonly pendingPerAgent: Map<string, Set<number>>;
  /** Second requests with an already-seen (agent, requestId): evidence to be ordered. */
  readonly conflicts: Map<string, ConflictPair>;
  /**
   * The first signed request seen for each recent (agent, requestId), admitted or not: a second,
   * different one is proof of equivocation even when the first was refused (a full pending table).
   * FIFO, bounded by LIMITS.recentRequestsMax.
   */
  readonly recentRequests: Map<string, Signed<Request>>;
  /** The sequence the primary proposes next. */
  nextSequence: number;
  /** The primary's latest batch timestamp: the next one never goes back. */
  lastProposedTimestamp: number;
  /** Inside a `messages` burst: proposals wait for its end. */
  inBurst: boolean;
  /** A proposal was asked for during the burst. */
  proposalDeferred: boolean;
  /** When a backup last forwarded its unordered requests to the primary again (`forwardUnordered`). */
  lastForwardAt: number;
}

/** Agreement: the log of pre-prepares and votes inside the watermark window. */
export interface AgreementState {
  readonly log: Map<number, LogEntry>;
  /** The highest sequence any valid message has named: above `lastExecuted`, we are behind. */
  highestSeenSequence: number;
  /** Votes dropped unchecked because they could not change anything (`redundantVote`). */
  redundantVotes: number;
  /** Early messages for a view we have not entered, bounded per sender. */
  earlyFrames: EarlyFrame[];
}

/** Execution: how far the replicated state has gone, and what agents are owed. */
export interface ExecutionState {
  lastExecuted: number;
  /** Agreed time of the last executed batch. */
  agreedTime: number;
  /** The reply cache, by agent; replaced whole when a snapshot is installed. */
  clients: Map<string, ClientRecord>;
  /** Receipt material of recent sequences below the stable checkpoint (see `Replica.receipt`). */
  readonly receiptArchive: Map<number, { committed: CommitProof; batch: Batch }>;
}

/** Checkpoints: our own, the votes for them, and the stable one the log starts above. */
export interface CheckpointsState {
  stable: StableCheckpoint;
  readonly own: Map<number, { digest: Uint8Array; snapshot: Uint8Array }>;
  /** Checkpoint messages inside the window, by sequence then replica. */
  readonly votes: Map<number, Map<number, Signed<Checkpoint>>>;
  /** The few latest checkpoints per replica above our window: how we notice that we are behind. */
  readonly ahead: Map<number, Signed<Checkpoint>[]>;
}

/** State transfer: what we are catching up to, and the pacing of fetches both ways. */
export interface TransferState {
  /** A certified checkpoint above our execution, to fetch the state of. */
  target: { sequence: number; digest: Uint8Array; proof: readonly Signed<Checkpoint>[] } | undefined;
  lastFetchAt: number;
  /** Counts fetches, to ask a different peer each time. */
  fetchRound: number;
  /** When each peer was last served a fetch (rate limit). */
  readonly lastServedAt: Map<number, number>;
}

/** View change: the view-changes we hold, and what we sent, kept to send again. */
export interface ViewChangeState {
  /** Consecutive view changes without progress; the timeout doubles with each. */
  streak: number;
  /** When 2f+1 replicas had left the views below ours: the view-change timer runs from here. */
  armedAt: number | undefined;
  /** The latest valid view-change of each replica. */
  readonly latest: Map<number, StoredViewChange>;
  /** Our own view-change and the new-view we sent as primary, kept to re-send: the network may lose them. */
  ownFrame: Uint8Array | undefined;
  sentAt: number;
  newViewFrame: { view: number; frame: Uint8Array } | undefined;
  /** Digests of view-changes whose certificates were checked already (bounded). */
  readonly validated: Set<string>;
}

/** A suspicion of a view's primary (`Suspect`), as a frame that can be sent on as it is. */
export interface HeldSuspicion {
  readonly view: number;
  readonly frame: Uint8Array;
  /** When it arrived (or, for our own, when we last sent it): suspicions lapse unless renewed. */
  at: number;
}

/** Suspicions: ours, each replica's latest, and the f+1 that made us leave our last view. */
export interface SuspicionState {
  /** The latest live suspicion of each replica, ours included (bounded: one per replica). */
  readonly held: Map<number, HeldSuspicion>;
  /** The newest suspicion seen from each replica (view, then round), lapsed or not: older copies are replays. */
  readonly seen: Map<number, { readonly view: number; readonly round: number }>;
  /** The f+1 suspicions we left our last view on, relayed so every honest replica leaves it too. */
  cause: readonly Uint8Array[];
}

/** The last RETURN handled from a replica, and our acknowledgement of it if we gave one. */
export interface HandledReturn {
  readonly view: number;
  readonly through: number;
  readonly at: number;
  ack: Signed<ReturnAck> | undefined;
  /** When we last sent the returner our NEW-VIEW with the ack: at most once per `retryTicks`. */
  newViewSentAt: number | undefined;
}

/** The return we asked for: re-sent until 2f replicas acknowledge it. */
export interface AskedReturn {
  readonly view: number;
  readonly through: number;
  readonly frame: Uint8Array;
  sentAt: number;
  readonly acks: Set<number>;
  /** The NEW-VIEW of `view`, checked, when we never were in it (`left` < `view`). */
  newView: { readonly frame: Frame<NewView>; readonly raw: Uint8Array } | undefined;
}

/** Returning from a view change the others did not follow (`return.ts`). */
export interface ReturnState {
  /** The last view we were in normal mode: we never go back below it. */
  left: number;
  /** When we began changing views (or restarted while changing): others still at work below after that did not follow us. */
  changingSince: number;
  /** While we change views: the view of the last vote each replica sent us from a view below ours, and when. */
  readonly votesBelow: Map<number, { readonly view: number; readonly at: number }>;
  asked: AskedReturn | undefined;
  /** The views we will never enter: those we returned from, or acknowledged a return from. */
  skips: ViewInterval[];
  /**
   * The last RETURN handled from each replica: a new one costs a durable write and a signature
   * (rate-limited), a copy of it only a send of what we signed.
   */
  readonly handled: Map<number, HandledReturn>;
}

/** When things last happened, for the timeouts checked on each tick. */
export interface TimersState {
  lastProposalAt: number;
  lastProgressSeenAt: number;
  /** Whether the primary of the current view has sent us anything valid since we entered the view. */
  heardFromPrimary: boolean;
  /** When we last entered a view (its NEW-VIEW, or start): a new primary's stall is measured from here. */
  viewEnteredAt: number;
  lastExecutedAt: number;
  /** When we last re-sent our messages for sequences that stopped executing (`resendStuck`). */
  lastResentAt: number;
  /** The longest gap between protocol messages seen lately, and when it was seen (`noteProgress`). */
  progressGapPeak: number;
  /** How many gaps were measured since the peak was last reset: too few, and it means nothing. */
  progressGapsSeen: number;
  progressGapPeakAt: number;
  /** When each replica last sent us a message with a valid signature: who is alive (`isHeardFrom`). */
  readonly heardAt: Map<number, number>;
}
