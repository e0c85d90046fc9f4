/**
 * The replica's inputs and outputs: the whole contract between the protocol and its host
 * (the daemon, or the simulator). The host feeds one input at a time and carries out the
 * output in this order: persist, then send, then report executed.
 */
import type { Batch, Checkpoint, Commit, Decoded, Frame, MessageType, Signed } from './messages.ts';
import type { RequestEquivocation } from './state-machine.ts';

export type ReplicaInput =
  /**
   * A frame from the network, from a replica or an agent; its signature names the sender.
   * `decoded`, when given, must be `replica.decode(frame)` (a host that already decoded the
   * frame, e.g. to check its signatures in a worker pool, saves decoding it twice).
   */
  | { readonly kind: 'message'; readonly frame: Uint8Array; readonly decoded?: Decoded<Frame> }
  /**
   * Frames that arrived together, stepped in order as one input. The primary proposes once at the
   * end instead of after each request, so requests that arrive together share a batch (and the
   * per-batch signatures); the outcome is otherwise that of stepping each frame alone.
   */
  | {
      readonly kind: 'messages';
      readonly frames: readonly Uint8Array[];
      readonly decoded?: readonly (Decoded<Frame> | undefined)[];
    }
  /** Time passed: `ticks` ticks (default 1). Only the host knows how long a tick is. */
  | { readonly kind: 'tick'; readonly ticks?: number };

export type Destination =
  | { readonly kind: 'replica'; readonly id: number }
  /** Every replica except the sender. */
  | { readonly kind: 'replicas' }
  | { readonly kind: 'agent'; readonly id: string };

export interface Outbound {
  readonly to: Destination;
  readonly type: MessageType;
  readonly frame: Uint8Array;
}

/**
 * What must be durable before any message of the same output leaves the process.
 * Replaying these records in order onto an empty store yields the replica's durable state.
 */
/** Views above `above` through `through`: an interval of views a replica skips (`replica/return.ts`). */
export interface ViewInterval {
  readonly above: number;
  readonly through: number;
}

export type PersistRecord =
  /**
   * The view, whether the replica is changing views, and the last view it was in normal mode
   * (`left`: the view it may return to with its log; a return to a later one goes by that view's
   * NEW-VIEW, see `replica/return.ts`).
   */
  | { readonly kind: 'view'; readonly view: number; readonly changing: boolean; readonly left: number }
  /**
   * The views this replica will never enter (`replica/return.ts`), replacing what was recorded
   * before: intervals (above, through].
   */
  | {
      readonly kind: 'skips';
      readonly intervals: readonly ViewInterval[];
    }
  /** A protocol message accepted into the log (own or a peer's), with its batch when it carries one. */
  | { readonly kind: 'log'; readonly sequence: number; readonly frame: Uint8Array }
  /** A new stable checkpoint: its certificate and snapshot. Log records at or below `sequence` may be discarded. */
  | {
      readonly kind: 'checkpoint';
      readonly sequence: number;
      readonly stateDigest: Uint8Array;
      readonly proof: readonly Signed<Checkpoint>[];
      readonly snapshot: Uint8Array;
    };

export interface ExecutedRequest {
  readonly agent: string;
  readonly requestId: number;
  readonly result: Uint8Array;
  /** The key that signed the request: its agent's key in force at this sequence. */
  readonly publicKey: Uint8Array;
}

/** An ordered request core did not execute: its key was not its agent's key in force. */
export interface RefusedRequest {
  readonly agent: string;
  readonly requestId: number;
  readonly publicKey: Uint8Array;
  readonly code: 'UNKNOWN_AGENT' | 'REVOKED_KEY';
}

export interface ExecutedBatch {
  readonly sequence: number;
  readonly view: number;
  /** Requests ordered in this batch but refused for their key (see `RefusedRequest`). */
  readonly refused: readonly RefusedRequest[];
  /** The agent registry after this batch, when the batch changed it (in force from the next). */
  readonly agentKeys?: ReadonlyMap<string, Uint8Array>;
  readonly digest: Uint8Array;
  /** Agreed time the state machine saw for this batch. */
  readonly timestamp: number;
  /** Requests executed now; repeats of already executed requests are not listed. */
  readonly requests: readonly ExecutedRequest[];
  /** How the batch became known: the normal protocol, or a commit certificate fetched from a peer. */
  readonly via: 'protocol' | 'fetch';
  /** Agents this batch proved to have signed two different requests with one requestId. */
  readonly equivocations: readonly RequestEquivocation[];
}

/** Why a peer's or agent's input was dropped. Every rejection is counted under its code. */
export type RejectionCode =
  | 'FRAME_TOO_LARGE'
  | 'MALFORMED'
  | 'NOT_CANONICAL'
  | 'DECLARED_TOO_LARGE'
  | 'UNKNOWN_TYPE'
  | 'BATCH_TOO_LARGE'
  | 'OPERATION_TOO_LARGE'
  | 'UNKNOWN_SENDER'
  | 'BAD_SIGNATURE'
  | 'UNEXPECTED_TYPE'
  | 'STALE_VIEW'
  | 'FUTURE_VIEW_BUFFER_FULL'
  | 'VIEW_CHANGE_IN_PROGRESS'
  | 'NOT_PRIMARY'
  | 'PREPARE_FROM_PRIMARY'
  | 'OUT_OF_WATERMARKS'
  | 'CONFLICTING_PRE_PREPARE'
  | 'CONFLICTING_VOTE'
  | 'MISSING_BATCH'
  | 'INVALID_BATCH'
  | 'TIMESTAMP_OUT_OF_BOUNDS'
  | 'STALE_REQUEST'
  | 'AGENT_EQUIVOCATION'
  | 'PENDING_REQUESTS_FULL'
  | 'STALE_CHECKPOINT'
  | 'INVALID_CERTIFICATE'
  | 'INVALID_VIEW_CHANGE'
  | 'INVALID_NEW_VIEW'
  | 'SKIPPED_VIEW'
  | 'INVALID_RETURN'
  | 'RETURN_RATE_LIMITED'
  | 'INVALID_STATE'
  | 'FETCH_RATE_LIMITED'
  | 'UNKNOWN_AGENT'
  | 'REVOKED_KEY';

export interface Rejection {
  readonly code: RejectionCode;
  readonly detail: string;
}

export interface ReplicaOutput {
  /** Durable before any of `send` leaves. */
  readonly persist: PersistRecord[];
  readonly send: Outbound[];
  readonly executed: ExecutedBatch[];
  /** State transfers completed in this step: the replica jumped to a certified checkpoint. */
  readonly stateTransfers: { readonly sequence: number; readonly stateDigest: Uint8Array }[];
  readonly rejected: Rejection[];
  /**
   * The agent registry, when this step changed it (an executed batch or a restored snapshot
   * did): the host updates who may connect and with which key.
   */
  agentKeys?: ReadonlyMap<string, Uint8Array>;
}

export interface ReplicaStatus {
  readonly id: number;
  readonly view: number;
  readonly changingView: boolean;
  readonly primary: number;
  readonly lastExecuted: number;
  readonly stableCheckpoint: number;
  readonly lowWatermark: number;
  readonly highWatermark: number;
  /** Agreed time of the last executed batch. */
  readonly agreedTime: number;
  readonly now: number;
  readonly logSize: number;
  readonly pendingRequests: number;
  /** Prepares and commits dropped before their signature was checked, as they could not change anything. */
  readonly redundantVotesDropped: number;
  /** How long a silence now must last before this replica suspects its primary (`silenceTimeoutTicks`). */
  readonly silenceTimeoutTicks: number;
  /** The longest gap between protocol messages seen lately, which that timeout adapts to. */
  readonly progressGapPeakTicks: number;
  /** Replicas whose suspicion of this view (or a later one) this replica holds, itself included. */
  readonly suspicionsHeld: number;
}

/** One signature a replica will check: `signature` over `data` by the holder of `publicKey`. */
export interface SignatureCheck {
  readonly data: Uint8Array;
  readonly signature: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Internal: a batch known for a sequence. */
export type KnownBatch = Batch;

/** A commit certificate kept for receipts and catch-up. */
export interface CommitProof {
  readonly view: number;
  readonly digest: Uint8Array;
  readonly commits: readonly Signed<Commit>[];
}
