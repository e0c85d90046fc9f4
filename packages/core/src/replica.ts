/**
 * The PBFT replica as a pure, deterministic state machine (Castro & Liskov, OSDI '99).
 *
 * One input at a time goes in (`step`), the effects come out: records to persist, then frames
 * to send, then what was executed. No clocks, timers, randomness or I/O: time is a tick count.
 *
 * Two kinds of failure, kept apart:
 * - input from a peer or an agent that fails validation is rejected with a typed, counted reason;
 * - a broken invariant of our own state is a bug: `assert` throws and the host should crash.
 *
 * This class is the public face and the one dispatcher: `step` hands each input to a handler of
 * one part of the protocol under `replica/` (see packages/core/README.md for which rule is where).
 * They all work on one `ReplicaContext`, whose state is kept in a section per part (`state.ts`).
 */
import type { ReplyAuthenticator } from './auth.ts';
import { bytesEqual } from './codec.ts';
import type { ClusterConfig, ProtocolConfig } from './config.ts';
import type { CryptoBackend } from './crypto.ts';
import type { DurableState } from './durable.ts';
import {
  type Checkpoint,
  type Commit,
  type Committed,
  claimedSigner,
  type Decoded,
  decodeFrame,
  type FetchCommitted,
  type FetchReceipt,
  type FetchState,
  type Frame,
  MessageType,
  type NewView,
  type PrePrepare,
  type Prepare,
  type Query,
  type Request,
  type Return,
  type ReturnAck,
  type Signed,
  type State,
  type Suspect,
  type ViewChange,
} from './messages.ts';
import type { Receipt } from './receipt.ts';
import { onCommit, onPrePrepare, onPrepare, redundantVote } from './replica/agreement.ts';
import { onCheckpoint } from './replica/checkpoints.ts';
import {
  createContext,
  emptyOutput,
  high,
  low,
  primaryOf,
  type ReplicaContext,
  senderKey,
  silenceTimeoutTicks,
} from './replica/context.ts';
import { answerLastExecuted, onFetchReceipt, onQuery, receiptFor } from './replica/execution.ts';
import { checkInvariants } from './replica/invariants.ts';
import { onNewView } from './replica/new-view.ts';
import { reject } from './replica/output.ts';
import { onRequest, propose } from './replica/requests.ts';
import { restore } from './replica/restore.ts';
import { onReturn, onReturnAck } from './replica/return.ts';
import { onCommitted, onFetchCommitted, onFetchState, onState } from './replica/state-transfer.ts';
import { onSuspect } from './replica/suspicion.ts';
import { onTick } from './replica/timers.ts';
import { onViewChange } from './replica/view-change.ts';
import type { StateMachine } from './state-machine.ts';
import type { RejectionCode, ReplicaInput, ReplicaOutput, ReplicaStatus, SignatureCheck } from './types.ts';

export interface ReplicaOptions {
  readonly id: number;
  readonly cluster: ClusterConfig;
  readonly protocol?: Partial<ProtocolConfig>;
  readonly crypto: CryptoBackend;
  /** This replica's 64-byte Ed25519 secret key. */
  readonly secretKey: Uint8Array;
  readonly stateMachine: StateMachine;
  /** How replies to agents are authenticated; Ed25519 signatures by default. */
  readonly replyAuthenticator?: ReplyAuthenticator;
  /** The tick count at start. The daemon passes wall-clock time in ticks so primaries' timestamps stay comparable across restarts. */
  readonly clockStart?: number;
  /** Durable state from before a restart (see `applyPersistRecords`); the replica resumes from it. */
  readonly restored?: DurableState;
}

/** What `Replica.inspect` returns: a copy, safe to keep. */
export interface ReplicaInspection {
  readonly view: number;
  readonly changingView: boolean;
  readonly stableCheckpoint: number;
  readonly lastExecuted: number;
  readonly agreedTime: number;
  readonly log: readonly LogEntryInspection[];
}

export interface LogEntryInspection {
  readonly sequence: number;
  /** The view the entry's pre-prepare and votes belong to. */
  readonly view: number;
  readonly prePrepareDigest: Uint8Array | undefined;
  readonly prepares: readonly { readonly replica: number; readonly digest: Uint8Array }[];
  readonly commits: readonly { readonly replica: number; readonly digest: Uint8Array }[];
  readonly prepared: boolean;
  /** The prepared certificate from the highest view in which this replica prepared the sequence. */
  readonly preparedProof: { readonly view: number; readonly digest: Uint8Array } | undefined;
  readonly committed: { readonly view: number; readonly digest: Uint8Array } | undefined;
}

type Handler = (ctx: ReplicaContext, frame: Frame, raw: Uint8Array) => void;

/** The handler of each message type; the frame's signature is checked already. */
const HANDLERS: Readonly<Record<MessageType, Handler>> = {
  [MessageType.request]: (ctx, frame, raw) => onRequest(ctx, frame as Frame<Request>, raw),
  [MessageType.prePrepare]: (ctx, frame, raw) => onPrePrepare(ctx, frame as Frame<PrePrepare>, raw),
  [MessageType.prepare]: (ctx, frame, raw) => onPrepare(ctx, frame as Frame<Prepare>, raw),
  [MessageType.commit]: (ctx, frame, raw) => onCommit(ctx, frame as Frame<Commit>, raw),
  [MessageType.checkpoint]: (ctx, frame, raw) => onCheckpoint(ctx, frame as Frame<Checkpoint>, raw),
  [MessageType.viewChange]: (ctx, frame) => onViewChange(ctx, frame as Frame<ViewChange>),
  [MessageType.newView]: (ctx, frame, raw) => onNewView(ctx, frame as Frame<NewView>, raw),
  [MessageType.suspect]: (ctx, frame, raw) => onSuspect(ctx, frame.body as Suspect, raw),
  [MessageType.return]: (ctx, frame) => onReturn(ctx, frame.body as Return),
  [MessageType.returnAck]: (ctx, frame) => onReturnAck(ctx, frame.body as ReturnAck),
  [MessageType.fetchState]: (ctx, frame) => onFetchState(ctx, frame as Frame<FetchState>),
  [MessageType.state]: (ctx, frame) => onState(ctx, frame as Frame<State>),
  [MessageType.fetchCommitted]: (ctx, frame) => onFetchCommitted(ctx, frame as Frame<FetchCommitted>),
  [MessageType.committed]: (ctx, frame, raw) => onCommitted(ctx, frame as Frame<Committed>, raw),
  [MessageType.query]: (ctx, frame) => onQuery(ctx, frame as Frame<Query>),
  [MessageType.fetchReceipt]: (ctx, frame) => onFetchReceipt(ctx, frame as Frame<FetchReceipt>),
  [MessageType.queryReply]: (ctx) =>
    reject(ctx, 'UNEXPECTED_TYPE', 'replicas do not take answers meant for agents'),
  [MessageType.receipt]: (ctx) =>
    reject(ctx, 'UNEXPECTED_TYPE', 'replicas do not take answers meant for agents'),
  [MessageType.reply]: (ctx) => reject(ctx, 'UNEXPECTED_TYPE', 'replicas do not take replies'),
};

export class Replica {
  readonly id: number;
  readonly #ctx: ReplicaContext;

  constructor(options: ReplicaOptions) {
    this.#ctx = createContext(options, (frame, raw) => this.#dispatch(frame, raw));
    this.id = options.id;
    if (options.restored !== undefined) {
      this.#ctx.mode = 'restoring';
      restore(this.#ctx, options.restored);
      checkInvariants(this.#ctx);
      this.#ctx.out = emptyOutput(); // a restart sends nothing: peers hear from it when it next steps
    }
  }

  // -------------------------------------------------------------------------------------------
  // Entry point

  step(input: ReplicaInput): ReplicaOutput {
    const ctx = this.#ctx;
    ctx.out = emptyOutput();
    if (input.kind === 'tick') onTick(ctx, input.ticks ?? 1);
    else if (input.kind === 'message') this.#onFrame(input.frame, input.decoded);
    else this.#onBurst(input.frames, input.decoded);
    checkInvariants(ctx);
    const out = ctx.out;
    ctx.out = emptyOutput();
    return out;
  }

  /** Frames that arrived together: the primary proposes once, at the end, so they share a batch. */
  #onBurst(
    frames: readonly Uint8Array[],
    decoded: readonly (Decoded<Frame> | undefined)[] | undefined,
  ): void {
    const requests = this.#ctx.requests;
    requests.inBurst = true;
    try {
      frames.forEach((frame, index) => {
        this.#onFrame(frame, decoded?.[index]);
      });
    } finally {
      requests.inBurst = false;
    }
    if (requests.proposalDeferred) propose(this.#ctx);
  }

  /** Decodes, drops a redundant vote unchecked, checks the signer, then dispatches. */
  #onFrame(raw: Uint8Array, predecoded?: Decoded<Frame>): void {
    const ctx = this.#ctx;
    const decoded = predecoded ?? decodeFrame(raw, ctx.decodeLimits, ctx.crypto.hash);
    if (!decoded.ok) {
      reject(
        ctx,
        decoded.reason,
        `frame of ${raw.byteLength} bytes${decoded.detail ? `: ${decoded.detail}` : ''}`,
      );
      return;
    }
    const frame = decoded.value;
    if (redundantVote(ctx, frame.body)) {
      ctx.agreement.redundantVotes++;
      return;
    }
    if (!this.#verifySender(frame)) return;
    const signer = claimedSigner(frame.body);
    if (signer.kind === 'replica') ctx.timers.heardAt.set(signer.id, ctx.now);
    if (
      signer.kind === 'replica' &&
      signer.id === primaryOf(ctx, ctx.view) &&
      ctx.mode === 'normal' &&
      !ctx.timers.heardFromPrimary
    ) {
      ctx.timers.heardFromPrimary = true;
      ctx.timers.lastProgressSeenAt = ctx.now; // silence is measured from first contact
    }
    this.#dispatch(frame, raw);
  }

  #verifySender(signed: Signed): boolean {
    const ctx = this.#ctx;
    const signer = claimedSigner(signed.body);
    const publicKey = senderKey(ctx, signer);
    const outOfForce =
      signed.body.type === MessageType.request &&
      (publicKey === undefined || !bytesEqual(publicKey, signed.body.publicKey));
    if (outOfForce && answerLastExecuted(ctx, signed as Signed<Request>)) return false;
    if (publicKey === undefined) {
      reject(ctx, 'UNKNOWN_SENDER', `${signer.kind} ${signer.id}`);
      return false;
    }
    if (outOfForce) {
      reject(ctx, 'REVOKED_KEY', `request from agent ${signer.id} names a key not in force`);
      return false;
    }
    if (!ctx.crypto.verify(signed.bytes, signed.signature, publicKey)) {
      reject(ctx, 'BAD_SIGNATURE', `type ${signed.body.type} from ${signer.kind} ${signer.id}`);
      return false;
    }
    return true;
  }

  #dispatch(frame: Frame, raw: Uint8Array): void {
    // The decoder admits only known types; an unknown one would be dropped, as by a switch.
    HANDLERS[frame.body.type]?.(this.#ctx, frame, raw);
  }

  // -------------------------------------------------------------------------------------------
  // Looking in: status, inspection, receipts, and help for hosts that check signatures ahead

  /** Each registered agent's key in force at the last executed sequence (see replica/registry.ts). */
  agentKeys(): ReadonlyMap<string, Uint8Array> {
    return this.#ctx.agentKeys;
  }

  status(): ReplicaStatus {
    return {
      id: this.#ctx.id,
      view: this.#ctx.view,
      changingView: this.#ctx.mode === 'view-change',
      primary: primaryOf(this.#ctx, this.#ctx.view),
      lastExecuted: this.#ctx.execution.lastExecuted,
      stableCheckpoint: this.#ctx.checkpoints.stable.sequence,
      lowWatermark: low(this.#ctx),
      highWatermark: high(this.#ctx),
      agreedTime: this.#ctx.execution.agreedTime,
      now: this.#ctx.now,
      logSize: this.#ctx.agreement.log.size,
      pendingRequests: this.#ctx.requests.pending.size,
      redundantVotesDropped: this.#ctx.agreement.redundantVotes,
      silenceTimeoutTicks: silenceTimeoutTicks(this.#ctx),
      progressGapPeakTicks: this.#ctx.timers.progressGapPeak,
      suspicionsHeld: [...this.#ctx.suspicion.held.values()].filter((held) => held.view >= this.#ctx.view)
        .length,
    };
  }

  /**
   * The highest sequence this replica knows committed: at least the last executed, and ahead of
   * it while committed batches wait for earlier ones (or for state transfer). For metrics; it
   * walks the log, so call it a few times a second, not per message.
   */
  highestCommitted(): number {
    let highest = this.#ctx.execution.lastExecuted;
    for (const entry of this.#ctx.agreement.log.values())
      if (entry.committed !== undefined && entry.sequence > highest) highest = entry.sequence;
    return highest;
  }

  /**
   * Why this replica left its last view: the f+1 suspicions (who, of which view) it left on,
   * empty when it joined a view change on others' view-changes or came back by a return. For
   * the operator's log line when the view changes; it decodes frames, so not per message.
   */
  viewChangeCause(): readonly { readonly replica: number; readonly view: number }[] {
    const cause: { replica: number; view: number }[] = [];
    for (const raw of this.#ctx.suspicion.cause) {
      const decoded = this.decode(raw);
      if (decoded.ok && decoded.value.body.type === MessageType.suspect)
        cause.push({ replica: decoded.value.body.replica, view: decoded.value.body.view });
    }
    return cause;
  }

  /**
   * A read-only copy of the protocol state — view, stable checkpoint, execution and the log with
   * its votes — for model-based tests (spec/mbt) and debugging. Changes nothing.
   */
  inspect(): ReplicaInspection {
    const vote = (signed: Signed<Prepare | Commit>) => ({
      replica: signed.body.replica,
      digest: signed.body.digest,
    });
    return {
      view: this.#ctx.view,
      changingView: this.#ctx.mode === 'view-change',
      stableCheckpoint: this.#ctx.checkpoints.stable.sequence,
      lastExecuted: this.#ctx.execution.lastExecuted,
      agreedTime: this.#ctx.execution.agreedTime,
      log: [...this.#ctx.agreement.log.values()]
        .sort((a, b) => a.sequence - b.sequence)
        .map((entry) => ({
          sequence: entry.sequence,
          view: entry.view,
          prePrepareDigest: entry.prePrepare?.body.digest,
          prepares: [...entry.prepares.values()].map(vote),
          commits: [...entry.commits.values()].map(vote),
          prepared: entry.prepared,
          preparedProof:
            entry.preparedProof === undefined
              ? undefined
              : {
                  view: entry.preparedProof.prePrepare.body.view,
                  digest: entry.preparedProof.prePrepare.body.digest,
                },
          committed:
            entry.committed === undefined
              ? undefined
              : { view: entry.committed.view, digest: entry.committed.digest },
        })),
    };
  }

  /** Rejected inputs so far, by reason. */
  rejections(): Readonly<Partial<Record<RejectionCode, number>>> {
    return { ...this.#ctx.rejections };
  }

  /** Digest of the state at the last stable checkpoint. */
  stableStateDigest(): Uint8Array {
    return this.#ctx.checkpoints.stable.digest;
  }

  /**
   * A receipt for an executed request, while its batch is in the log or among the last
   * `watermarkWindow` sequences below the stable checkpoint (kept in memory for receipts only: a
   * request that lands on a checkpoint's sequence is often garbage-collected before its agent
   * asks). Anyone with the cluster's public keys can check it with `verifyReceipt`.
   */
  receipt(sequence: number, agent: string, requestId: number): Receipt | undefined {
    return receiptFor(this.#ctx, sequence, agent, requestId);
  }

  /**
   * Decodes a frame as `step` would (shape, canonical form, limits; no signature checked), for a
   * host that wants to look at it first — to check its signatures elsewhere — and then pass the
   * result to `step` so it is not decoded twice.
   */
  decode(raw: Uint8Array): Decoded<Frame> {
    return decodeFrame(raw, this.#ctx.decodeLimits, this.#ctx.crypto.hash);
  }

  /**
   * The signature checks stepping this decoded frame will need, for a host that checks them ahead
   * of time (in parallel) and hands the results to the replica's crypto through a cache of
   * verified signatures. Only a hint: the replica still checks every signature it relies on.
   * Empty for votes the replica would drop unchecked (see `redundantVote` in replica/agreement.ts).
   */
  signatureChecks(frame: Frame): readonly SignatureCheck[] {
    if (redundantVote(this.#ctx, frame.body)) return [];
    const publicKey = senderKey(this.#ctx, claimedSigner(frame.body));
    if (publicKey === undefined) return [];
    // A request under a key not in force is refused unchecked (#verifySender): no work ahead.
    if (frame.body.type === MessageType.request && !bytesEqual(publicKey, frame.body.publicKey)) return [];
    const checks: SignatureCheck[] = [{ data: frame.bytes, signature: frame.signature, publicKey }];
    if (frame.body.type === MessageType.prePrepare) {
      for (const batch of frame.batches) {
        for (const request of batch.requests) {
          checks.push({
            data: request.bytes,
            signature: request.signature,
            publicKey: request.body.publicKey,
          });
        }
      }
    }
    return checks;
  }
}
