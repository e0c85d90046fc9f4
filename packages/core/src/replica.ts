/**
 * The PBFT replica as a pure, deterministic state machine (Castro & Liskov, OSDI '99).
 *
 * One input at a time goes in (`step`), the effects come out: records to persist, then frames
 * to send, then what was executed. No clocks, timers, randomness or I/O: time is a tick count.
 *
 * Two kinds of failure, kept apart:
 * - input from a peer or an agent that fails validation is rejected with a typed, counted reason;
 * - a broken invariant of our own state is a bug: `assert` throws and the host should crash.
 */
import { type ReplyAuthenticator, signBody, signedReplies } from './auth.ts';
import { bytesEqual, decodeCanonical, encodeCanonical, toHex } from './codec.ts';
import {
  type ClusterConfig,
  DEFAULT_PROTOCOL_CONFIG,
  LIMITS,
  type ProtocolConfig,
  type Quorums,
  quorumsOf,
  validateCluster,
  validateProtocol,
} from './config.ts';
import type { CryptoBackend } from './crypto.ts';
import type { DurableState } from './durable.ts';
import { assert } from './errors.ts';
import {
  type Batch,
  type Body,
  type Checkpoint,
  type Commit,
  type Committed,
  type CommittedEntry,
  claimedSigner,
  type Decoded,
  type DecodeLimits,
  decodeFrame,
  encodeBody,
  encodeFrame,
  type FetchCommitted,
  type FetchReceipt,
  type FetchState,
  type Frame,
  MessageType,
  makeBatch,
  type NewView,
  type PrePrepare,
  type Prepare,
  type PreparedProof,
  type Query,
  type QueryReply,
  type ReceiptReply,
  type Reply,
  type Request,
  type Signed,
  type State,
  type ViewChange,
} from './messages.ts';
import { encodeReceipt, type Receipt, type SignedBytes } from './receipt.ts';
import {
  type AgreementState,
  type CheckpointsState,
  type ClientRecord,
  type ConflictPair,
  type ExecutionState,
  type LogEntry,
  type PendingRequest,
  RECENT_REQUESTS_PER_AGENT,
  type ReplicaMode,
  type RequestsState,
  type StableCheckpoint,
  type StoredViewChange,
  type TimersState,
  type TransferState,
  type ViewChangeState,
} from './replica/state.ts';
import type { ExecutionContext, RequestEquivocation, StateMachine } from './state-machine.ts';
import type {
  ExecutedRequest,
  Outbound,
  RejectionCode,
  ReplicaInput,
  ReplicaOutput,
  ReplicaStatus,
  SignatureCheck,
} from './types.ts';

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

const requestKey = (agent: string, requestId: number): string => `${agent}\u0000${requestId}`;

export class Replica {
  readonly id: number;
  readonly #cluster: ClusterConfig;
  readonly #protocol: ProtocolConfig;
  readonly #quorums: Quorums;
  readonly #crypto: CryptoBackend;
  readonly #secretKey: Uint8Array;
  readonly #stateMachine: StateMachine;
  readonly #replyAuthenticator: ReplyAuthenticator;
  readonly #agentKeys: Map<string, Uint8Array>;
  readonly #decodeLimits: DecodeLimits;
  readonly #nullBatch: Batch;

  #now: number;
  #view = 0;
  #mode: ReplicaMode = 'normal';
  #rejections: Partial<Record<RejectionCode, number>> = {};
  #out: ReplicaOutput = emptyOutput();
  readonly #requests: RequestsState = {
    pending: new Map(),
    pendingPerAgent: new Map(),
    conflicts: new Map(),
    recentRequests: new Map(),
    nextSequence: 1,
    lastProposedTimestamp: 0,
    inBurst: false,
    proposalDeferred: false,
  };
  readonly #agreement: AgreementState = {
    log: new Map(),
    highestSeenSequence: 0,
    redundantVotes: 0,
    earlyFrames: [],
  };
  readonly #execution: ExecutionState = {
    lastExecuted: 0,
    agreedTime: 0,
    clients: new Map(),
    receiptArchive: new Map(),
  };
  readonly #checkpoints: CheckpointsState;
  readonly #transfer: TransferState = {
    target: undefined,
    lastFetchAt: Number.NEGATIVE_INFINITY,
    fetchRound: 0,
    lastServedAt: new Map(),
  };
  readonly #viewChange: ViewChangeState = {
    streak: 0,
    armedAt: undefined,
    latest: new Map(),
    ownFrame: undefined,
    sentAt: 0,
    newViewFrame: undefined,
    validated: new Set(),
  };
  readonly #timers: TimersState;

  constructor(options: ReplicaOptions) {
    validateCluster(options.cluster);
    const protocol = { ...DEFAULT_PROTOCOL_CONFIG, ...options.protocol };
    validateProtocol(protocol);
    assert(
      Number.isInteger(options.id) && options.id >= 0 && options.id < options.cluster.replicas.length,
      'replica id out of range',
    );
    this.id = options.id;
    this.#cluster = options.cluster;
    this.#protocol = protocol;
    this.#quorums = quorumsOf(options.cluster.replicas.length);
    this.#crypto = options.crypto;
    this.#secretKey = options.secretKey;
    this.#stateMachine = options.stateMachine;
    this.#replyAuthenticator = options.replyAuthenticator ?? signedReplies(options.crypto, options.secretKey);
    this.#agentKeys = new Map(options.cluster.agents.map((agent) => [agent.id, agent.publicKey]));
    const entriesMax = Math.max(protocol.watermarkWindow, LIMITS.committedBatchesPerFetchMax);
    this.#decodeLimits = {
      batchSizeMax: protocol.batchSizeMax,
      operationBytesMax: protocol.operationBytesMax,
      entriesMax,
      snapshotBytesMax: LIMITS.frameBytesMax,
    };
    this.#nullBatch = makeBatch(0, [], this.#crypto.hash);
    this.#now = options.clockStart ?? 0;
    this.#timers = {
      lastProposalAt: this.#now,
      lastProgressSeenAt: this.#now,
      heardFromPrimary: false,
      viewEnteredAt: 0,
      lastExecutedAt: this.#now,
    };
    const snapshot = this.#takeSnapshot();
    this.#checkpoints = {
      stable: { sequence: 0, digest: this.#crypto.hash(snapshot), proof: [], snapshot },
      own: new Map(),
      votes: new Map(),
      ahead: new Map(),
    };
    if (options.restored !== undefined) {
      this.#mode = 'restoring';
      this.#restore(options.restored);
      this.#checkInvariants();
      this.#out = emptyOutput();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Entry point

  step(input: ReplicaInput): ReplicaOutput {
    this.#out = emptyOutput();
    if (input.kind === 'tick') this.#onTick(input.ticks ?? 1);
    else if (input.kind === 'message') this.#onFrame(input.frame, input.decoded);
    else {
      this.#requests.inBurst = true;
      try {
        input.frames.forEach((frame, index) => {
          this.#onFrame(frame, input.decoded?.[index]);
        });
      } finally {
        this.#requests.inBurst = false;
      }
      if (this.#requests.proposalDeferred) this.#propose();
    }
    this.#checkInvariants();
    const out = this.#out;
    this.#out = emptyOutput();
    return out;
  }

  status(): ReplicaStatus {
    return {
      id: this.id,
      view: this.#view,
      changingView: this.#mode === 'view-change',
      primary: this.#primaryOf(this.#view),
      lastExecuted: this.#execution.lastExecuted,
      stableCheckpoint: this.#checkpoints.stable.sequence,
      lowWatermark: this.#low,
      highWatermark: this.#high,
      agreedTime: this.#execution.agreedTime,
      now: this.#now,
      logSize: this.#agreement.log.size,
      pendingRequests: this.#requests.pending.size,
      redundantVotesDropped: this.#agreement.redundantVotes,
    };
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
      view: this.#view,
      changingView: this.#mode === 'view-change',
      stableCheckpoint: this.#checkpoints.stable.sequence,
      lastExecuted: this.#execution.lastExecuted,
      agreedTime: this.#execution.agreedTime,
      log: [...this.#agreement.log.values()]
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
    return { ...this.#rejections };
  }

  /** Digest of the state at the last stable checkpoint. */
  stableStateDigest(): Uint8Array {
    return this.#checkpoints.stable.digest;
  }

  /**
   * A receipt for an executed request, while its batch is in the log or among the last
   * `watermarkWindow` sequences below the stable checkpoint (kept in memory for receipts only: a
   * request that lands on a checkpoint's sequence is often garbage-collected before its agent
   * asks). Anyone with the cluster's public keys can check it with `verifyReceipt`.
   */
  receipt(sequence: number, agent: string, requestId: number): Receipt | undefined {
    if (sequence > this.#execution.lastExecuted) return undefined;
    const entry = this.#agreement.log.get(sequence);
    const archived = this.#execution.receiptArchive.get(sequence);
    const committed = entry?.committed ?? archived?.committed;
    if (committed === undefined) return undefined;
    const batch =
      entry?.committed !== undefined ? entry.batches.get(toHex(committed.digest)) : archived?.batch;
    if (batch === undefined) return undefined;
    const request = batch.requests.find((r) => r.body.agent === agent && r.body.requestId === requestId);
    if (request === undefined) return undefined;
    return {
      request: { bytes: request.bytes, signature: request.signature },
      sequence,
      view: committed.view,
      timestamp: batch.timestamp,
      requestDigests: batch.requestDigests,
      commits: committed.commits.map((c) => ({ bytes: c.bytes, signature: c.signature })),
    };
  }

  /** Keeps what a receipt needs of a log entry leaving the log; the oldest beyond the window go. */
  #archiveReceipts(entry: LogEntry): void {
    const committed = entry.committed;
    if (committed === undefined || committed.commits.length === 0) return;
    const batch = entry.batches.get(toHex(committed.digest));
    if (batch === undefined || batch.requests.length === 0) return;
    this.#execution.receiptArchive.set(entry.sequence, { committed, batch });
    for (const sequence of this.#execution.receiptArchive.keys()) {
      if (this.#execution.receiptArchive.size <= this.#protocol.watermarkWindow) break;
      this.#execution.receiptArchive.delete(sequence);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Derived values

  get #low(): number {
    return this.#checkpoints.stable.sequence;
  }
  get #high(): number {
    return this.#checkpoints.stable.sequence + this.#protocol.watermarkWindow;
  }
  #primaryOf(view: number): number {
    return view % this.#quorums.n;
  }
  get #isPrimary(): boolean {
    return this.#primaryOf(this.#view) === this.id;
  }
  #inWatermarks(sequence: number): boolean {
    return sequence > this.#low && sequence <= this.#high;
  }
  #timeoutTicks(): number {
    return (
      this.#protocol.requestTimeoutTicks *
      2 ** Math.min(this.#viewChange.streak, this.#protocol.viewChangeBackoffMax)
    );
  }

  // -------------------------------------------------------------------------------------------
  // Output helpers

  #reject(code: RejectionCode, detail: string): void {
    this.#rejections[code] = (this.#rejections[code] ?? 0) + 1;
    this.#out.rejected.push({ code, detail });
  }

  #sign<B extends Body>(body: B): Signed<B> {
    return signBody(body, this.#crypto, this.#secretKey);
  }

  #send(to: Outbound['to'], signed: Signed, batches: readonly Batch[] = []): Uint8Array {
    const frame = encodeFrame(signed, batches);
    this.#out.send.push({ to, type: signed.body.type, frame });
    return frame;
  }

  #broadcast(signed: Signed, batches: readonly Batch[] = []): Uint8Array {
    return this.#send({ kind: 'replicas' }, signed, batches);
  }

  #persistLog(sequence: number, frame: Uint8Array): void {
    this.#out.persist.push({ kind: 'log', sequence, frame });
  }

  #persistView(): void {
    this.#out.persist.push({ kind: 'view', view: this.#view, changing: this.#mode === 'view-change' });
  }

  // -------------------------------------------------------------------------------------------
  // Dispatch

  /**
   * Decodes a frame as `step` would (shape, canonical form, limits; no signature checked), for a
   * host that wants to look at it first — to check its signatures elsewhere — and then pass the
   * result to `step` so it is not decoded twice.
   */
  decode(raw: Uint8Array): Decoded<Frame> {
    return decodeFrame(raw, this.#decodeLimits, this.#crypto.hash);
  }

  /**
   * The signature checks stepping this decoded frame will need, for a host that checks them ahead
   * of time (in parallel) and hands the results to the replica's crypto through a cache of
   * verified signatures. Only a hint: the replica still checks every signature it relies on.
   * Empty for votes the replica would drop unchecked (see `#redundantVote`).
   */
  signatureChecks(frame: Frame): readonly SignatureCheck[] {
    if (this.#redundantVote(frame.body)) return [];
    const publicKey = this.#senderKey(claimedSigner(frame.body));
    if (publicKey === undefined) return [];
    const checks: SignatureCheck[] = [{ data: frame.bytes, signature: frame.signature, publicKey }];
    if (frame.body.type === MessageType.prePrepare) {
      for (const batch of frame.batches) {
        for (const request of batch.requests) {
          const key = this.#agentKeys.get(request.body.agent);
          if (key !== undefined)
            checks.push({ data: request.bytes, signature: request.signature, publicKey: key });
        }
      }
    }
    return checks;
  }

  /**
   * A prepare or commit that cannot change anything: for the current view, at a sequence that is
   * already prepared (for a prepare) or committed (for a commit) in this view, or a second vote
   * from a replica we already have the same vote from. It is dropped before its signature is
   * checked — the most expensive thing a replica does — since a quorum needs only 2f prepares and
   * 2f+1 commits and the rest of the n-1 votes that arrive would be checked for nothing.
   */
  #redundantVote(body: Body): boolean {
    if (body.type !== MessageType.prepare && body.type !== MessageType.commit) return false;
    if (body.view !== this.#view || this.#mode !== 'normal') return false;
    const entry = this.#agreement.log.get(body.sequence);
    if (entry === undefined || entry.view !== body.view) return false;
    const votes: Map<number, Signed<Prepare | Commit>> = body.type === MessageType.prepare
      ? entry.prepares
      : entry.commits;
    const existing = votes.get(body.replica);
    // A second vote with another digest is checked, so that equivocation is reported.
    if (existing !== undefined) return bytesEqual(existing.body.digest, body.digest);
    return body.type === MessageType.prepare ? entry.prepared : entry.committed !== undefined;
  }

  #onFrame(raw: Uint8Array, predecoded?: Decoded<Frame>): void {
    const decoded = predecoded ?? decodeFrame(raw, this.#decodeLimits, this.#crypto.hash);
    if (!decoded.ok) {
      this.#reject(decoded.reason, `frame of ${raw.byteLength} bytes`);
      return;
    }
    const frame = decoded.value;
    if (this.#redundantVote(frame.body)) {
      this.#agreement.redundantVotes++;
      return;
    }
    if (!this.#verifySender(frame)) return;
    const signer = claimedSigner(frame.body);
    if (
      signer.kind === 'replica' &&
      signer.id === this.#primaryOf(this.#view) &&
      this.#mode === 'normal' &&
      !this.#timers.heardFromPrimary
    ) {
      this.#timers.heardFromPrimary = true;
      this.#timers.lastProgressSeenAt = this.#now; // silence is measured from first contact
    }
    this.#dispatch(frame, raw);
  }

  /** The registered key of the replica or agent a message claims as its signer. */
  #senderKey(signer: ReturnType<typeof claimedSigner>): Uint8Array | undefined {
    return signer.kind === 'agent'
      ? this.#agentKeys.get(signer.id)
      : this.#cluster.replicas[signer.id]?.publicKey;
  }

  #verifySender(signed: Signed): boolean {
    const signer = claimedSigner(signed.body);
    const publicKey = this.#senderKey(signer);
    if (publicKey === undefined) {
      this.#reject('UNKNOWN_SENDER', `${signer.kind} ${signer.id}`);
      return false;
    }
    if (!this.#crypto.verify(signed.bytes, signed.signature, publicKey)) {
      this.#reject('BAD_SIGNATURE', `type ${signed.body.type} from ${signer.kind} ${signer.id}`);
      return false;
    }
    return true;
  }

  #dispatch(frame: Frame, raw: Uint8Array): void {
    const body = frame.body;
    switch (body.type) {
      case MessageType.request:
        this.#onRequest(frame as Frame<Request>, raw);
        return;
      case MessageType.prePrepare:
        this.#onPrePrepare(frame as Frame<PrePrepare>, raw);
        return;
      case MessageType.prepare:
        this.#onPrepare(frame as Frame<Prepare>, raw);
        return;
      case MessageType.commit:
        this.#onCommit(frame as Frame<Commit>, raw);
        return;
      case MessageType.checkpoint:
        this.#onCheckpoint(frame as Frame<Checkpoint>, raw);
        return;
      case MessageType.viewChange:
        this.#onViewChange(frame as Frame<ViewChange>, raw);
        return;
      case MessageType.newView:
        this.#onNewView(frame as Frame<NewView>, raw);
        return;
      case MessageType.fetchState:
        this.#onFetchState(frame as Frame<FetchState>);
        return;
      case MessageType.state:
        this.#onState(frame as Frame<State>);
        return;
      case MessageType.fetchCommitted:
        this.#onFetchCommitted(frame as Frame<FetchCommitted>);
        return;
      case MessageType.committed:
        this.#onCommitted(frame as Frame<Committed>, raw);
        return;
      case MessageType.query:
        this.#onQuery(frame as Frame<Query>);
        return;
      case MessageType.fetchReceipt:
        this.#onFetchReceipt(frame as Frame<FetchReceipt>);
        return;
      case MessageType.queryReply:
      case MessageType.receipt:
        this.#reject('UNEXPECTED_TYPE', 'replicas do not take answers meant for agents');
        return;
      case MessageType.reply:
        this.#reject('UNEXPECTED_TYPE', 'replicas do not take replies');
        return;
    }
  }

  /**
   * Is a normal-case message for the view we are working in? Older views are rejected; newer
   * ones (or ours while we are still changing into it) are buffered, boundedly, for when we get there.
   */
  #acceptView(view: number, frame: Frame, raw: Uint8Array): boolean {
    if (view < this.#view) {
      this.#reject('STALE_VIEW', `view ${view} < ${this.#view}`);
      return false;
    }
    if (view > this.#view || this.#mode !== 'normal') {
      const sender = (frame.body as { replica: number }).replica;
      const perSenderMax = 2 * this.#protocol.watermarkWindow;
      const fromSender = this.#agreement.earlyFrames.filter((item) => item.sender === sender).length;
      if (fromSender >= perSenderMax) {
        this.#reject('FUTURE_VIEW_BUFFER_FULL', `view ${view} from ${sender}`);
        return false;
      }
      this.#agreement.earlyFrames.push({ view, sender, frame, raw });
      return false;
    }
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  #onRequest(frame: Frame<Request>, raw: Uint8Array): void {
    const request = frame.body;
    const client = this.#execution.clients.get(request.agent);
    const seenKey = requestKey(request.agent, request.requestId);
    const seen = this.#requests.recentRequests.get(seenKey);
    if (seen === undefined) {
      if (this.#requests.recentRequests.size >= LIMITS.recentRequestsMax) {
        this.#requests.recentRequests.delete(this.#requests.recentRequests.keys().next().value as string);
      }
      this.#requests.recentRequests.set(seenKey, frame);
    } else if (!bytesEqual(seen.bytes, frame.bytes)) {
      if (!(client?.reported.includes(request.requestId) ?? false)) this.#noteConflict(seen, frame);
      return;
    }
    if (client !== undefined && request.requestId <= client.requestId) {
      const executed = client.recent.find((r) => r.requestId === request.requestId);
      if (executed !== undefined && !bytesEqual(frame.bytes, executed.request.bytes)) {
        if (!client.reported.includes(request.requestId))
          this.#noteConflict(this.#requestOf(executed.request), frame);
      } else if (request.requestId === client.requestId) this.#sendReply(request.agent, client);
      else
        this.#reject(
          'STALE_REQUEST',
          `agent ${request.agent} request ${request.requestId} <= ${client.requestId}`,
        );
      return;
    }
    const key = requestKey(request.agent, request.requestId);
    const existing = this.#requests.pending.get(key);
    if (existing !== undefined) {
      if (existing.digestHex !== toHex(this.#crypto.hash(frame.bytes)))
        this.#noteConflict(existing.request, frame);
      return;
    }
    if (!this.#addPending(frame)) return;
    if (this.#mode !== 'normal') return;
    if (this.#isPrimary) this.#propose();
    else
      this.#out.send.push({
        to: { kind: 'replica', id: this.#primaryOf(this.#view) },
        type: MessageType.request,
        frame: raw,
      });
  }

  /**
   * An agent signed two different requests with one requestId: that is proof of equivocation.
   * The pair is ordered together (the first executes, or already has; the second never does), so
   * every replica's state machine learns of it at the same point in the log. Backups send the
   * pair to every replica — not only the primary, which may be the one keeping it out of the
   * log — again every retryTicks and in each new view, until it is ordered; and an unordered
   * pair times the primary out like an overdue request, so f+1 honest replicas that hold it
   * replace a primary that censors it.
   */
  #noteConflict(first: Signed<Request>, second: Signed<Request>): void {
    const { agent, requestId } = second.body;
    this.#reject('AGENT_EQUIVOCATION', `agent ${agent} signed two different requests with id ${requestId}`);
    const key = requestKey(agent, requestId);
    if (this.#requests.conflicts.has(key)) return;
    // A pair proves itself however old it is (both bodies are ordered together); at the bound
    // the oldest unordered one gives way.
    if (this.#requests.conflicts.size >= LIMITS.conflictingRequestsMax) {
      this.#requests.conflicts.delete(this.#requests.conflicts.keys().next().value as string);
    }
    const pair: ConflictPair = {
      first,
      second,
      assigned: undefined,
      forwardedAt: this.#now,
      since: this.#now,
    };
    this.#requests.conflicts.set(key, pair);
    if (this.#isPrimary && this.#mode === 'normal') this.#propose();
    else this.#forwardConflict(pair);
  }

  #forwardConflict(pair: ConflictPair): void {
    pair.forwardedAt = this.#now;
    for (const request of [pair.first, pair.second]) {
      this.#out.send.push({
        to: { kind: 'replicas' },
        type: MessageType.request,
        frame: encodeFrame(request),
      });
    }
  }

  /**
   * Whether a pair of conflicting requests has waited a timeout to be ordered. Pairs whose
   * evidence this replica already holds (it came with a checkpoint's state, say) are dropped.
   */
  #conflictOverdue(timeout: number): boolean {
    let overdue = false;
    for (const [key, pair] of this.#requests.conflicts) {
      const { agent, requestId } = pair.second.body;
      if (this.#execution.clients.get(agent)?.reported.includes(requestId) ?? false) {
        this.#requests.conflicts.delete(key);
        continue;
      }
      if (this.#now - pair.since >= timeout) overdue = true;
    }
    return overdue;
  }

  /** A request from its signed bytes (our own durable or replicated copy: it decodes). */
  #requestOf(signed: SignedBytes): Signed<Request> {
    const decoded = decodeCanonical(signed.bytes);
    assert(
      decoded.ok && Array.isArray(decoded.value) && decoded.value.length === 4,
      'a remembered request does not decode',
    );
    const [, agent, requestId, operation] = decoded.value as [number, string, number, Uint8Array];
    return {
      body: { type: MessageType.request, agent, requestId, operation },
      bytes: signed.bytes,
      signature: signed.signature,
    };
  }

  /** `digest` is the request body's digest when the caller already has it (a batch does). */
  #addPending(request: Signed<Request>, assigned?: number, digest?: Uint8Array): boolean {
    const { agent, requestId } = request.body;
    const ids = this.#requests.pendingPerAgent.get(agent) ?? new Set<number>();
    if (
      ids.size >= this.#protocol.pendingRequestsPerAgentMax ||
      this.#requests.pending.size >= LIMITS.pendingRequestsMax
    ) {
      this.#reject('PENDING_REQUESTS_FULL', `agent ${agent} has ${ids.size} pending`);
      return false;
    }
    ids.add(requestId);
    this.#requests.pendingPerAgent.set(agent, ids);
    this.#requests.pending.set(requestKey(agent, requestId), {
      request,
      digestHex: toHex(digest ?? this.#crypto.hash(request.bytes)),
      receivedAt: this.#now,
      assigned,
    });
    return true;
  }

  /** Drops pending requests of `agent` at or below `requestId` (executed, or superseded). */
  #clearPending(agent: string, requestId: number): void {
    const ids = this.#requests.pendingPerAgent.get(agent);
    if (ids === undefined) return;
    for (const id of ids) {
      if (id <= requestId) {
        ids.delete(id);
        this.#requests.pending.delete(requestKey(agent, id));
      }
    }
    if (ids.size === 0) this.#requests.pendingPerAgent.delete(agent);
  }

  // -------------------------------------------------------------------------------------------
  // Normal case: primary

  /** The primary orders pending requests: as many batches as the pipeline and the watermarks allow. */
  #propose(): void {
    if (!this.#isPrimary || this.#mode !== 'normal') return;
    if (this.#requests.inBurst) {
      this.#requests.proposalDeferred = true;
      return;
    }
    this.#requests.proposalDeferred = false;
    while (
      this.#requests.nextSequence <= this.#high &&
      this.#requests.nextSequence - 1 - this.#execution.lastExecuted < this.#protocol.pipelineDepthMax
    ) {
      const requests: Signed<Request>[] = [];
      // Evidence first: ordered before the agent's next requests can make it unprovable.
      for (const conflict of this.#requests.conflicts.values()) {
        if (requests.length + 2 > this.#protocol.batchSizeMax) break;
        if (conflict.assigned !== undefined) continue;
        requests.push(conflict.first, conflict.second);
        conflict.assigned = this.#requests.nextSequence;
      }
      for (const pending of this.#requests.pending.values()) {
        if (requests.length >= this.#protocol.batchSizeMax) break;
        if (pending.assigned !== undefined) continue;
        requests.push(pending.request);
      }
      if (requests.length === 0) return;
      this.#proposeBatch(requests);
    }
  }

  #proposeBatch(requests: readonly Signed<Request>[]): void {
    const timestamp = Math.max(this.#now, this.#requests.lastProposedTimestamp, this.#execution.agreedTime);
    const batch = makeBatch(timestamp, requests, this.#crypto.hash);
    const sequence = this.#requests.nextSequence++;
    // A new view may start above our window (its stable checkpoint is ahead of ours, and we catch
    // up by state transfer); we never propose there. #propose checks; this is the invariant.
    assert(
      this.#inWatermarks(sequence),
      `primary proposing at ${sequence} outside (${this.#low}, ${this.#high}]`,
    );
    const prePrepare = this.#sign<PrePrepare>({
      type: MessageType.prePrepare,
      view: this.#view,
      sequence,
      digest: batch.digest,
      replica: this.id,
    });
    const entry = this.#entryFor(sequence);
    assert(
      entry.prePrepare === undefined,
      `primary ${this.id} proposing twice at ${sequence} in view ${this.#view}`,
    );
    entry.prePrepare = prePrepare;
    entry.batches.set(toHex(batch.digest), batch);
    for (const request of requests) {
      const pending = this.#requests.pending.get(requestKey(request.body.agent, request.body.requestId));
      if (pending !== undefined) pending.assigned = sequence;
    }
    this.#requests.lastProposedTimestamp = timestamp;
    this.#timers.lastProposalAt = this.#now;
    const frame = encodeFrame(prePrepare, [batch]);
    this.#persistLog(sequence, frame);
    this.#out.send.push({ to: { kind: 'replicas' }, type: MessageType.prePrepare, frame });
    this.#checkPrepared(entry);
  }

  // -------------------------------------------------------------------------------------------
  // Normal case: backups and everyone

  #entryFor(sequence: number): LogEntry {
    let entry = this.#agreement.log.get(sequence);
    if (entry === undefined) {
      assert(
        this.#inWatermarks(sequence),
        `log entry ${sequence} outside watermarks (${this.#low}, ${this.#high}]`,
      );
      entry = {
        sequence,
        view: this.#view,
        prePrepare: undefined,
        prepares: new Map(),
        commits: new Map(),
        prepared: false,
        preparedProof: undefined,
        committed: undefined,
        batches: new Map(),
      };
      this.#agreement.log.set(sequence, entry);
    } else if (entry.view < this.#view) {
      entry.view = this.#view;
      entry.prePrepare = undefined;
      entry.prepares = new Map();
      entry.commits = new Map();
      entry.prepared = false;
    }
    return entry;
  }

  #noteSequence(sequence: number): void {
    if (sequence > this.#agreement.highestSeenSequence) this.#agreement.highestSeenSequence = sequence;
  }

  #onPrePrepare(frame: Frame<PrePrepare>, raw: Uint8Array): void {
    const prePrepare = frame.body;
    if (!this.#acceptView(prePrepare.view, frame, raw)) return;
    if (prePrepare.replica !== this.#primaryOf(prePrepare.view)) {
      this.#reject('NOT_PRIMARY', `pre-prepare from ${prePrepare.replica} in view ${prePrepare.view}`);
      return;
    }
    if (!this.#inWatermarks(prePrepare.sequence)) {
      if (prePrepare.sequence > this.#high) {
        // The primary is alive and we are behind: not silence, and a reason to catch up.
        this.#timers.lastProgressSeenAt = this.#now;
        this.#noteSequence(prePrepare.sequence);
      }
      this.#reject(
        'OUT_OF_WATERMARKS',
        `pre-prepare at ${prePrepare.sequence} outside (${this.#low}, ${this.#high}]`,
      );
      return;
    }
    const entry = this.#entryFor(prePrepare.sequence);
    if (entry.prePrepare !== undefined) {
      if (!bytesEqual(entry.prePrepare.body.digest, prePrepare.digest)) {
        this.#reject(
          'CONFLICTING_PRE_PREPARE',
          `two pre-prepares at (${prePrepare.view}, ${prePrepare.sequence})`,
        );
      }
      return;
    }
    const batch = frame.batches.find((b) => bytesEqual(b.digest, prePrepare.digest));
    if (batch === undefined) {
      this.#reject('MISSING_BATCH', `pre-prepare at ${prePrepare.sequence} without its batch`);
      return;
    }
    if (!this.#validateBatch(batch)) return;
    entry.prePrepare = frame;
    entry.batches.set(toHex(batch.digest), batch);
    this.#noteSequence(prePrepare.sequence);
    this.#timers.lastProgressSeenAt = this.#now;
    this.#persistLog(prePrepare.sequence, raw);
    for (const [index, request] of batch.requests.entries()) {
      const { agent, requestId } = request.body;
      const pending = this.#requests.pending.get(requestKey(agent, requestId));
      if (pending !== undefined) pending.assigned = prePrepare.sequence;
      else if ((this.#execution.clients.get(agent)?.requestId ?? -1) < requestId)
        this.#addPendingQuietly(request, prePrepare.sequence, batch.requestDigests[index] as Uint8Array);
    }
    this.#sendPrepare(entry);
    this.#checkPrepared(entry);
  }

  /** Requests learnt from a batch also start the view-change timer, but a full table is not the batch's fault. */
  #addPendingQuietly(request: Signed<Request>, sequence: number, digest: Uint8Array): void {
    const ids = this.#requests.pendingPerAgent.get(request.body.agent);
    if (
      (ids?.size ?? 0) >= this.#protocol.pendingRequestsPerAgentMax ||
      this.#requests.pending.size >= LIMITS.pendingRequestsMax
    )
      return;
    this.#addPending(request, sequence, digest);
  }

  /** Checks a proposed batch: every request signed by a registered agent, the timestamp plausible. */
  #validateBatch(batch: Batch): boolean {
    const skew = Math.abs(batch.timestamp - this.#now);
    if (batch.timestamp < this.#execution.agreedTime || skew > this.#protocol.timestampSkewMaxTicks) {
      this.#reject(
        'TIMESTAMP_OUT_OF_BOUNDS',
        `timestamp ${batch.timestamp}, clock ${this.#now}, agreed ${this.#execution.agreedTime}`,
      );
      return false;
    }
    for (const [index, request] of batch.requests.entries()) {
      const { agent, requestId } = request.body;
      // A request we already checked (it reached us directly) is not checked again.
      const pending = this.#requests.pending.get(requestKey(agent, requestId));
      if (pending !== undefined && pending.digestHex === toHex(batch.requestDigests[index] as Uint8Array))
        continue;
      const publicKey = this.#agentKeys.get(agent);
      if (publicKey === undefined || !this.#crypto.verify(request.bytes, request.signature, publicKey)) {
        this.#reject('INVALID_BATCH', `request ${agent}/${requestId} not signed by a registered agent`);
        return false;
      }
    }
    return true;
  }

  #sendPrepare(entry: LogEntry): void {
    if (this.#isPrimary || entry.prePrepare === undefined || entry.prepares.has(this.id)) return;
    const prepare = this.#sign<Prepare>({
      type: MessageType.prepare,
      view: this.#view,
      sequence: entry.sequence,
      digest: entry.prePrepare.body.digest,
      replica: this.id,
    });
    entry.prepares.set(this.id, prepare);
    const frame = encodeFrame(prepare);
    this.#persistLog(entry.sequence, frame);
    this.#out.send.push({ to: { kind: 'replicas' }, type: MessageType.prepare, frame });
  }

  #onPrepare(frame: Frame<Prepare>, raw: Uint8Array): void {
    const prepare = frame.body;
    if (!this.#acceptView(prepare.view, frame, raw)) return;
    if (prepare.replica === this.#primaryOf(prepare.view)) {
      this.#reject('PREPARE_FROM_PRIMARY', `replica ${prepare.replica} is primary of view ${prepare.view}`);
      return;
    }
    if (!this.#inWatermarks(prepare.sequence)) {
      if (prepare.sequence > this.#high) this.#noteSequence(prepare.sequence); // we are behind: catch up
      this.#reject(
        'OUT_OF_WATERMARKS',
        `prepare at ${prepare.sequence} outside (${this.#low}, ${this.#high}]`,
      );
      return;
    }
    const entry = this.#entryFor(prepare.sequence);
    if (!this.#recordVote(entry.prepares, frame)) return;
    this.#noteSequence(prepare.sequence);
    this.#timers.lastProgressSeenAt = this.#now;
    this.#persistLog(prepare.sequence, raw);
    this.#checkPrepared(entry);
  }

  #onCommit(frame: Frame<Commit>, raw: Uint8Array): void {
    const commit = frame.body;
    if (!this.#acceptView(commit.view, frame, raw)) return;
    if (!this.#inWatermarks(commit.sequence)) {
      if (commit.sequence > this.#high) this.#noteSequence(commit.sequence); // we are behind: catch up
      this.#reject('OUT_OF_WATERMARKS', `commit at ${commit.sequence} outside (${this.#low}, ${this.#high}]`);
      return;
    }
    const entry = this.#entryFor(commit.sequence);
    if (!this.#recordVote(entry.commits, frame)) return;
    this.#noteSequence(commit.sequence);
    this.#timers.lastProgressSeenAt = this.#now;
    this.#persistLog(commit.sequence, raw);
    this.#checkCommitted(entry);
  }

  /** One vote per replica per (view, sequence): a second, different one is equivocation. */
  #recordVote<V extends Prepare | Commit>(votes: Map<number, Signed<V>>, vote: Signed<V>): boolean {
    const existing = votes.get(vote.body.replica);
    if (existing !== undefined) {
      if (!bytesEqual(existing.body.digest, vote.body.digest)) {
        this.#reject(
          'CONFLICTING_VOTE',
          `replica ${vote.body.replica} voted twice at (${vote.body.view}, ${vote.body.sequence})`,
        );
      }
      return false;
    }
    votes.set(vote.body.replica, vote);
    return true;
  }

  /** Prepared = the pre-prepare and 2f matching prepares from distinct backups. True when it just became so. */
  #derivePrepared(entry: LogEntry): boolean {
    if (entry.prepared || entry.prePrepare === undefined) return false;
    const digest = entry.prePrepare.body.digest;
    const matching = [...entry.prepares.values()].filter((p) => bytesEqual(p.body.digest, digest));
    if (matching.length < 2 * this.#quorums.f) return false;
    entry.prepared = true;
    entry.preparedProof = { prePrepare: entry.prePrepare, prepares: matching.slice(0, 2 * this.#quorums.f) };
    return true;
  }

  /** Committed-local = prepared and 2f+1 matching commits. True when it just became so. */
  #deriveCommitted(entry: LogEntry): boolean {
    if (!entry.prepared || entry.prePrepare === undefined || entry.committed !== undefined) return false;
    const digest = entry.prePrepare.body.digest;
    const matching = [...entry.commits.values()].filter((c) => bytesEqual(c.body.digest, digest));
    if (matching.length < this.#quorums.quorum) return false;
    entry.committed = {
      view: entry.view,
      digest,
      commits: matching.slice(0, this.#quorums.quorum),
      via: 'protocol',
    };
    return true;
  }

  #checkPrepared(entry: LogEntry): void {
    if (!this.#derivePrepared(entry)) return;
    const digest = (entry.prePrepare as Signed<PrePrepare>).body.digest;
    const commit = this.#sign<Commit>({
      type: MessageType.commit,
      view: this.#view,
      sequence: entry.sequence,
      digest,
      replica: this.id,
    });
    entry.commits.set(this.id, commit);
    const frame = encodeFrame(commit);
    this.#persistLog(entry.sequence, frame);
    this.#out.send.push({ to: { kind: 'replicas' }, type: MessageType.commit, frame });
    this.#checkCommitted(entry);
  }

  #checkCommitted(entry: LogEntry): void {
    if (!entry.prepared || entry.prePrepare === undefined) return;
    const digest = entry.prePrepare.body.digest;
    if (entry.committed !== undefined) {
      assert(
        bytesEqual(entry.committed.digest, digest),
        'prepared a digest that conflicts with a commit certificate',
      );
      return;
    }
    if (this.#deriveCommitted(entry)) this.#executeReady();
  }

  // -------------------------------------------------------------------------------------------
  // Execution

  #executeReady(): void {
    for (;;) {
      const sequence = this.#execution.lastExecuted + 1;
      const entry = this.#agreement.log.get(sequence);
      if (entry?.committed === undefined) return;
      const batch =
        entry.batches.get(toHex(entry.committed.digest)) ?? this.#nullBatchFor(entry.committed.digest);
      if (batch === undefined) return; // fetched later with its certificate
      this.#execute(entry, batch);
    }
  }

  #nullBatchFor(digest: Uint8Array): Batch | undefined {
    return bytesEqual(digest, this.#nullBatch.digest) ? this.#nullBatch : undefined;
  }

  #execute(entry: LogEntry, batch: Batch): void {
    assert(entry.sequence === this.#execution.lastExecuted + 1, 'execution out of order');
    assert(entry.committed !== undefined, 'executing an uncommitted batch');
    const timestamp = Math.max(this.#execution.agreedTime, batch.timestamp);
    const batchContext = { sequence: entry.sequence, timestamp };
    this.#stateMachine.advanceTime?.(batchContext);
    const executed: ExecutedRequest[] = [];
    const equivocations: RequestEquivocation[] = [];
    /** Requests earlier in this batch, by (agent, requestId): an ordered pair proves itself. */
    const inBatch = new Map<string, SignedBytes>();
    for (const request of batch.requests) {
      const { agent, requestId, operation } = request.body;
      const key = requestKey(agent, requestId);
      const earlier = inBatch.get(key);
      if (earlier === undefined) inBatch.set(key, { bytes: request.bytes, signature: request.signature });
      const previous = this.#execution.clients.get(agent);
      if (previous !== undefined && requestId <= previous.requestId) {
        // Exactly once: never executed again. A different body with an executed id is evidence.
        const first = previous.recent.find((r) => r.requestId === requestId)?.request ?? earlier;
        if (
          first !== undefined &&
          !previous.reported.includes(requestId) &&
          !bytesEqual(request.bytes, first.bytes)
        ) {
          const evidence: RequestEquivocation = {
            agent,
            requestId,
            first,
            second: { bytes: request.bytes, signature: request.signature },
          };
          this.#stateMachine.onEquivocation?.(evidence, batchContext);
          this.#execution.clients.set(agent, {
            ...previous,
            reported: [...previous.reported, requestId].slice(-RECENT_REQUESTS_PER_AGENT),
          });
          equivocations.push(evidence);
          this.#requests.conflicts.delete(requestKey(agent, requestId));
        }
        continue;
      }
      const context: ExecutionContext = { agent, requestId, sequence: entry.sequence, timestamp };
      const result = this.#stateMachine.apply(operation, context);
      const record: ClientRecord = {
        requestId,
        result,
        sequence: entry.sequence,
        recent: [
          ...(previous?.recent ?? []),
          { requestId, request: { bytes: request.bytes, signature: request.signature } },
        ].slice(-RECENT_REQUESTS_PER_AGENT),
        reported: previous?.reported ?? [],
      };
      this.#execution.clients.set(agent, record);
      this.#clearPending(agent, requestId);
      executed.push({ agent, requestId, result });
      this.#sendReply(agent, record);
    }
    this.#execution.agreedTime = timestamp;
    this.#execution.lastExecuted = entry.sequence;
    this.#timers.lastExecutedAt = this.#now;
    // Progress in the current view ends a streak of view changes: the next timeout starts short again.
    if (entry.committed.view === this.#view && this.#mode !== 'view-change') this.#viewChange.streak = 0;
    this.#out.executed.push({
      sequence: entry.sequence,
      view: entry.committed.view,
      digest: entry.committed.digest,
      timestamp,
      requests: executed,
      via: entry.committed.via,
      equivocations,
    });
    if (entry.sequence % this.#protocol.checkpointInterval === 0) this.#takeCheckpoint(entry.sequence);
    if (this.#transfer.target !== undefined && this.#transfer.target.sequence <= this.#execution.lastExecuted)
      this.#transfer.target = undefined;
    this.#propose();
  }

  /** A read-only query: answered at once from the executed state, never ordered. */
  #onQuery(frame: Frame<Query>): void {
    const query = frame.body;
    const result =
      this.#stateMachine.query?.(query.operation) ??
      encodeCanonical([false, 'this state machine answers no queries', 0]);
    const body: QueryReply = {
      type: MessageType.queryReply,
      agent: query.agent,
      queryId: query.queryId,
      result,
      lastExecuted: this.#execution.lastExecuted,
      agreedTime: this.#execution.agreedTime,
      replica: this.id,
    };
    const bytes = encodeBody(body);
    const signature = this.#replyAuthenticator.authenticate(bytes, query.agent);
    this.#send({ kind: 'agent', id: query.agent }, { body, bytes, signature });
  }

  /** Receipts are served while the batch is in the log or the receipt archive (see `receipt`). */
  #onFetchReceipt(frame: Frame<FetchReceipt>): void {
    const { agent, requestId, sequence } = frame.body;
    const receipt = this.receipt(sequence, agent, requestId);
    const body: ReceiptReply = {
      type: MessageType.receipt,
      agent,
      requestId,
      receipt: receipt === undefined ? new Uint8Array(0) : encodeReceipt(receipt),
      replica: this.id,
    };
    const bytes = encodeBody(body);
    this.#send(
      { kind: 'agent', id: agent },
      { body, bytes, signature: this.#replyAuthenticator.authenticate(bytes, agent) },
    );
  }

  #sendReply(agent: string, record: ClientRecord): void {
    const body: Reply = {
      type: MessageType.reply,
      view: this.#view,
      sequence: record.sequence,
      agent,
      requestId: record.requestId,
      result: record.result,
      replica: this.id,
    };
    const bytes = encodeBody(body);
    const signature = this.#replyAuthenticator.authenticate(bytes, agent);
    this.#send({ kind: 'agent', id: agent }, { body, bytes, signature });
  }

  // -------------------------------------------------------------------------------------------
  // Checkpoints, garbage collection, state transfer

  /** The replicated state: application snapshot and digest, the reply cache (exactly-once), agreed time. */
  #takeSnapshot(): Uint8Array {
    const agents = [...this.#execution.clients.keys()].sort();
    const clients = agents.map((agent) => {
      const record = this.#execution.clients.get(agent) as ClientRecord;
      return [
        agent,
        record.requestId,
        record.result,
        record.sequence,
        record.recent.map((r) => [r.requestId, r.request.bytes, r.request.signature]),
        [...record.reported],
      ];
    });
    return encodeCanonical([
      this.#stateMachine.snapshot(),
      this.#stateMachine.digest(),
      clients,
      this.#execution.agreedTime,
    ]);
  }

  #takeCheckpoint(sequence: number): void {
    const snapshot = this.#takeSnapshot();
    const digest = this.#crypto.hash(snapshot);
    this.#checkpoints.own.set(sequence, { digest, snapshot });
    const checkpoint = this.#sign<Checkpoint>({
      type: MessageType.checkpoint,
      sequence,
      stateDigest: digest,
      replica: this.id,
    });
    const frame = encodeFrame(checkpoint);
    this.#persistLog(sequence, frame);
    this.#out.send.push({ to: { kind: 'replicas' }, type: MessageType.checkpoint, frame });
    this.#recordCheckpoint(checkpoint);
  }

  #onCheckpoint(frame: Frame<Checkpoint>, raw: Uint8Array): void {
    const checkpoint = frame.body;
    if (checkpoint.sequence <= this.#low || checkpoint.sequence % this.#protocol.checkpointInterval !== 0) {
      this.#reject(
        'STALE_CHECKPOINT',
        `checkpoint ${checkpoint.sequence} at or below ${this.#low}, or off the interval`,
      );
      return;
    }
    if (checkpoint.sequence <= this.#high) this.#persistLog(checkpoint.sequence, raw);
    this.#noteSequence(checkpoint.sequence);
    this.#timers.lastProgressSeenAt = this.#now;
    this.#recordCheckpoint(frame);
  }

  #recordCheckpoint(checkpoint: Signed<Checkpoint>): void {
    const { sequence, replica } = checkpoint.body;
    if (sequence <= this.#high) {
      const votes = this.#checkpoints.votes.get(sequence) ?? new Map<number, Signed<Checkpoint>>();
      if (votes.has(replica)) return;
      votes.set(replica, checkpoint);
      this.#checkpoints.votes.set(sequence, votes);
      this.#checkStable([...votes.values()], sequence);
    } else {
      // Above our window: remember the few latest per replica, to notice that we are behind.
      const ahead = (this.#checkpoints.ahead.get(replica) ?? []).filter((c) => c.body.sequence !== sequence);
      ahead.push(checkpoint);
      ahead.sort((a, b) => a.body.sequence - b.body.sequence);
      while (ahead.length > LIMITS.aheadCheckpointsPerReplicaMax) ahead.shift();
      this.#checkpoints.ahead.set(replica, ahead);
      const votes = [...this.#checkpoints.ahead.values()].flat().filter((c) => c.body.sequence === sequence);
      this.#checkStable(votes, sequence);
    }
  }

  /** 2f+1 matching checkpoints make a certificate: stabilise, or, if we are behind, fetch that state. */
  #checkStable(votes: readonly Signed<Checkpoint>[], sequence: number): void {
    const proof = this.#largestMatchingSet(votes);
    if (proof.length < this.#quorums.quorum) return;
    this.#adoptCheckpointCertificate(
      sequence,
      proof[0]?.body.stateDigest as Uint8Array,
      proof.slice(0, this.#quorums.quorum),
    );
  }

  #largestMatchingSet(votes: readonly Signed<Checkpoint>[]): Signed<Checkpoint>[] {
    const groups = new Map<string, Signed<Checkpoint>[]>();
    for (const vote of votes) {
      const key = toHex(vote.body.stateDigest);
      const group = groups.get(key) ?? [];
      group.push(vote);
      groups.set(key, group);
    }
    let best: Signed<Checkpoint>[] = [];
    for (const group of groups.values()) if (group.length > best.length) best = group;
    return best;
  }

  #adoptCheckpointCertificate(
    sequence: number,
    digest: Uint8Array,
    proof: readonly Signed<Checkpoint>[],
  ): void {
    if (sequence <= this.#low) return;
    const own = this.#checkpoints.own.get(sequence);
    if (sequence <= this.#execution.lastExecuted && own !== undefined && bytesEqual(own.digest, digest)) {
      this.#makeStable({ sequence, digest, proof, snapshot: own.snapshot });
      return;
    }
    if (sequence <= this.#execution.lastExecuted && own !== undefined) {
      // 2f+1 replicas, so at least f+1 honest ones, certify a state we do not have.
      this.#reject(
        'INVALID_CERTIFICATE',
        `our state at ${sequence} differs from a 2f+1 checkpoint certificate`,
      );
    }
    if (this.#transfer.target === undefined || this.#transfer.target.sequence < sequence) {
      this.#transfer.target = { sequence, digest, proof };
      this.#fetch();
    }
  }

  #makeStable(checkpoint: StableCheckpoint): void {
    assert(checkpoint.sequence > this.#low, 'stable checkpoint must advance');
    assert(checkpoint.sequence <= this.#execution.lastExecuted, 'stable checkpoint above execution');
    this.#checkpoints.stable = checkpoint;
    for (const [sequence, entry] of this.#agreement.log) {
      if (sequence > checkpoint.sequence) continue;
      this.#archiveReceipts(entry);
      this.#agreement.log.delete(sequence);
    }
    for (const sequence of this.#checkpoints.votes.keys())
      if (sequence <= checkpoint.sequence) this.#checkpoints.votes.delete(sequence);
    for (const sequence of this.#checkpoints.own.keys())
      if (sequence < checkpoint.sequence) this.#checkpoints.own.delete(sequence);
    for (const [replica, ahead] of this.#checkpoints.ahead) {
      const kept = ahead.filter((c) => c.body.sequence > checkpoint.sequence);
      if (kept.length === 0) this.#checkpoints.ahead.delete(replica);
      else this.#checkpoints.ahead.set(replica, kept);
    }
    // Checkpoints now inside the moved window count as votes there.
    for (const ahead of [...this.#checkpoints.ahead.values()]) {
      for (const c of ahead) if (c.body.sequence <= this.#high) this.#recordCheckpointVote(c);
    }
    if (this.#requests.nextSequence <= checkpoint.sequence)
      this.#requests.nextSequence = checkpoint.sequence + 1;
    this.#out.persist.push({
      kind: 'checkpoint',
      sequence: checkpoint.sequence,
      stateDigest: checkpoint.digest,
      proof: checkpoint.proof,
      snapshot: checkpoint.snapshot,
    });
    this.#propose();
  }

  #recordCheckpointVote(checkpoint: Signed<Checkpoint>): void {
    const votes =
      this.#checkpoints.votes.get(checkpoint.body.sequence) ?? new Map<number, Signed<Checkpoint>>();
    if (!votes.has(checkpoint.body.replica)) votes.set(checkpoint.body.replica, checkpoint);
    this.#checkpoints.votes.set(checkpoint.body.sequence, votes);
  }

  /** Checks a checkpoint certificate; returns the certified digest. */
  #verifyCheckpointProof(sequence: number, proof: readonly Signed<Checkpoint>[]): Uint8Array | undefined {
    if (proof.length < this.#quorums.quorum) return undefined;
    const digest = proof[0]?.body.stateDigest as Uint8Array;
    const signers = new Set<number>();
    for (const checkpoint of proof) {
      const body = checkpoint.body;
      if (body.sequence !== sequence || !bytesEqual(body.stateDigest, digest) || signers.has(body.replica))
        return undefined;
      if (!this.#verifyReplicaSignature(checkpoint)) return undefined;
      signers.add(body.replica);
    }
    return digest;
  }

  /** Asks a peer for what we are missing: the state at a certified checkpoint, or committed batches. */
  #fetch(): void {
    if (this.#now - this.#transfer.lastFetchAt < this.#protocol.retryTicks) return;
    this.#transfer.lastFetchAt = this.#now;
    const round = this.#transfer.fetchRound++;
    if (
      this.#transfer.target !== undefined &&
      this.#transfer.target.sequence > this.#execution.lastExecuted
    ) {
      const signers = this.#transfer.target.proof.map((c) => c.body.replica).filter((r) => r !== this.id);
      const target = signers[round % signers.length] as number;
      this.#send(
        { kind: 'replica', id: target },
        this.#sign<FetchState>({
          type: MessageType.fetchState,
          sequence: this.#transfer.target.sequence,
          replica: this.id,
        }),
      );
      return;
    }
    const others = this.#cluster.replicas.map((r) => r.id).filter((r) => r !== this.id);
    const target = others[round % others.length] as number;
    this.#send(
      { kind: 'replica', id: target },
      this.#sign<FetchCommitted>({
        type: MessageType.fetchCommitted,
        fromSequence: this.#execution.lastExecuted + 1,
        replica: this.id,
      }),
    );
  }

  /** Serving fetches costs bandwidth: each peer is served at most once per half retry interval. */
  #rateLimited(replica: number): boolean {
    const last = this.#transfer.lastServedAt.get(replica);
    if (last !== undefined && this.#now - last < this.#protocol.retryTicks / 2) {
      this.#reject('FETCH_RATE_LIMITED', `replica ${replica}`);
      return true;
    }
    this.#transfer.lastServedAt.set(replica, this.#now);
    return false;
  }

  #onFetchState(frame: Frame<FetchState>): void {
    const fetch = frame.body;
    if (fetch.replica === this.id || this.#rateLimited(fetch.replica)) return;
    if (this.#checkpoints.stable.sequence === 0 || this.#checkpoints.stable.sequence < fetch.sequence) return; // nothing to offer yet
    this.#sendState(fetch.replica);
  }

  #sendState(replica: number): void {
    this.#send(
      { kind: 'replica', id: replica },
      this.#sign<State>({
        type: MessageType.state,
        sequence: this.#checkpoints.stable.sequence,
        snapshot: this.#checkpoints.stable.snapshot,
        checkpointProof: this.#checkpoints.stable.proof,
        replica: this.id,
      }),
    );
  }

  #onState(frame: Frame<State>): void {
    const state = frame.body;
    if (state.sequence <= this.#execution.lastExecuted) {
      this.#reject(
        'STALE_CHECKPOINT',
        `state at ${state.sequence}, executed ${this.#execution.lastExecuted}`,
      );
      return;
    }
    const digest = this.#verifyCheckpointProof(state.sequence, state.checkpointProof);
    if (digest === undefined) {
      this.#reject(
        'INVALID_CERTIFICATE',
        `state at ${state.sequence} without a valid checkpoint certificate`,
      );
      return;
    }
    if (!bytesEqual(this.#crypto.hash(state.snapshot), digest)) {
      this.#reject('INVALID_STATE', `snapshot at ${state.sequence} does not match its certificate`);
      return;
    }
    // The snapshot is what 2f+1 replicas (so at least one honest one) certified: from here on,
    // a failure to read it is our bug, not the sender's.
    this.#installSnapshot(state.sequence, state.snapshot);
    this.#checkpoints.own.set(state.sequence, { digest, snapshot: state.snapshot });
    if (this.#transfer.target !== undefined && this.#transfer.target.sequence <= state.sequence)
      this.#transfer.target = undefined;
    this.#out.stateTransfers.push({ sequence: state.sequence, stateDigest: digest });
    this.#makeStable({
      sequence: state.sequence,
      digest,
      proof: state.checkpointProof,
      snapshot: state.snapshot,
    });
    this.#executeReady();
  }

  /** Replaces the replicated state (application, reply cache, agreed time) with a certified snapshot. */
  #installSnapshot(sequence: number, snapshot: Uint8Array): void {
    const decoded = decodeCanonical(snapshot);
    assert(
      decoded.ok && Array.isArray(decoded.value) && decoded.value.length === 4,
      'certified snapshot is not a replica snapshot',
    );
    const [appSnapshot, appDigest, clients, agreedTime] = decoded.value as [
      Uint8Array,
      Uint8Array,
      [string, number, Uint8Array, number, [number, Uint8Array, Uint8Array][], number[]][],
      number,
    ];
    this.#stateMachine.restore(appSnapshot);
    assert(
      bytesEqual(this.#stateMachine.digest(), appDigest),
      'restored state machine digest differs from its certified snapshot',
    );
    this.#execution.clients = new Map(
      clients.map(([agent, requestId, result, at, recent, reported]) => [
        agent,
        {
          requestId,
          result,
          sequence: at,
          recent: recent.map(([id, bytes, signature]) => ({ requestId: id, request: { bytes, signature } })),
          reported,
        },
      ]),
    );
    for (const [agent, record] of this.#execution.clients) this.#clearPending(agent, record.requestId);
    this.#execution.agreedTime = agreedTime;
    this.#execution.lastExecuted = sequence;
    this.#timers.lastExecutedAt = this.#now;
  }

  #onFetchCommitted(frame: Frame<FetchCommitted>): void {
    const fetch = frame.body;
    if (fetch.replica === this.id || this.#rateLimited(fetch.replica)) return;
    if (fetch.fromSequence <= this.#low && this.#checkpoints.stable.sequence > 0)
      this.#sendState(fetch.replica);
    const entries: CommittedEntry[] = [];
    const batches: Batch[] = [];
    for (let sequence = Math.max(fetch.fromSequence, this.#low + 1); sequence <= this.#high; sequence++) {
      if (entries.length === LIMITS.committedBatchesPerFetchMax) break;
      const entry = this.#agreement.log.get(sequence);
      if (entry?.committed === undefined) break;
      const batch =
        entry.batches.get(toHex(entry.committed.digest)) ?? this.#nullBatchFor(entry.committed.digest);
      if (batch === undefined) break;
      entries.push({
        sequence,
        view: entry.committed.view,
        digest: entry.committed.digest,
        commits: entry.committed.commits,
      });
      if (batch !== this.#nullBatch) batches.push(batch);
    }
    if (entries.length === 0) return;
    this.#send(
      { kind: 'replica', id: fetch.replica },
      this.#sign<Committed>({ type: MessageType.committed, entries, replica: this.id }),
      batches,
    );
  }

  #onCommitted(frame: Frame<Committed>, raw: Uint8Array): void {
    let accepted = false;
    for (const item of frame.body.entries) {
      if (item.sequence <= this.#execution.lastExecuted) continue;
      if (!this.#inWatermarks(item.sequence)) {
        this.#reject(
          'OUT_OF_WATERMARKS',
          `committed batch at ${item.sequence} outside (${this.#low}, ${this.#high}]`,
        );
        continue;
      }
      if (!this.#verifyCommitCertificate(item)) {
        this.#reject('INVALID_CERTIFICATE', `commit certificate at ${item.sequence}`);
        continue;
      }
      // The certificate vouches for the digest, and so for the batch's request bodies: at least f+1
      // honest replicas checked their signatures before committing.
      const batch =
        frame.batches.find((b) => bytesEqual(b.digest, item.digest)) ?? this.#nullBatchFor(item.digest);
      if (batch === undefined) {
        this.#reject('MISSING_BATCH', `committed batch at ${item.sequence} without its batch`);
        continue;
      }
      const entry = this.#entryFor(item.sequence);
      if (entry.committed !== undefined && !bytesEqual(entry.committed.digest, item.digest)) {
        this.#reject('INVALID_CERTIFICATE', `commit certificate at ${item.sequence} conflicts with ours`);
        continue;
      }
      entry.batches.set(toHex(batch.digest), batch);
      entry.committed ??= { view: item.view, digest: item.digest, commits: item.commits, via: 'fetch' };
      accepted = true;
    }
    if (!accepted) return;
    this.#persistLog(this.#execution.lastExecuted + 1, raw);
    this.#executeReady();
  }

  #verifyCommitCertificate(item: CommittedEntry): boolean {
    if (item.commits.length < this.#quorums.quorum) return false;
    const signers = new Set<number>();
    for (const commit of item.commits) {
      const body = commit.body;
      if (body.view !== item.view || body.sequence !== item.sequence || !bytesEqual(body.digest, item.digest))
        return false;
      if (signers.has(body.replica)) return false;
      if (!this.#verifyReplicaSignature(commit)) return false;
      signers.add(body.replica);
    }
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // View change

  #startViewChange(newView: number): void {
    assert(newView > this.#view, 'view change must move forward');
    this.#view = newView;
    this.#mode = 'view-change';
    this.#viewChange.streak = Math.min(this.#viewChange.streak + 1, this.#protocol.viewChangeBackoffMax);
    this.#viewChange.armedAt = undefined;
    this.#timers.heardFromPrimary = false;
    this.#agreement.earlyFrames = this.#agreement.earlyFrames.filter((item) => item.view >= newView);
    this.#persistView();
    this.#sendViewChange();
  }

  /** Signs, records, persists and broadcasts our view-change for the view we are changing into. */
  #sendViewChange(): void {
    const newView = this.#view;
    const prepared: PreparedProof[] = [];
    const batches: Batch[] = [];
    for (const entry of [...this.#agreement.log.values()].sort((a, b) => a.sequence - b.sequence)) {
      if (entry.preparedProof === undefined) continue;
      prepared.push(entry.preparedProof);
      const batch = entry.batches.get(toHex(entry.preparedProof.prePrepare.body.digest));
      if (batch !== undefined) batches.push(batch);
    }
    const viewChange = this.#sign<ViewChange>({
      type: MessageType.viewChange,
      newView,
      stableSequence: this.#checkpoints.stable.sequence,
      checkpointProof: this.#checkpoints.stable.proof,
      prepared,
      replica: this.id,
    });
    this.#viewChange.latest.set(this.id, { signed: viewChange, batches });
    this.#viewChange.validated.add(toHex(this.#crypto.hash(viewChange.bytes)));
    const frame = this.#broadcast(viewChange, batches);
    this.#viewChange.ownFrame = frame;
    this.#viewChange.sentAt = this.#now;
    this.#persistLog(this.#low, frame);
    this.#maybeArmViewChangeTimer();
    this.#maybeSendNewView();
  }

  #onViewChange(frame: Frame<ViewChange>, _raw: Uint8Array): void {
    const viewChange = frame.body;
    if (
      viewChange.newView === this.#view &&
      this.#mode === 'normal' &&
      this.#viewChange.newViewFrame?.view === this.#view
    ) {
      // A replica still changing into the view we lead missed our new-view: send it again.
      if (!this.#rateLimited(viewChange.replica)) {
        this.#out.send.push({
          to: { kind: 'replica', id: viewChange.replica },
          type: MessageType.newView,
          frame: this.#viewChange.newViewFrame.frame,
        });
      }
      return;
    }
    if (viewChange.newView < this.#view || (viewChange.newView === this.#view && this.#mode === 'normal')) {
      this.#reject('STALE_VIEW', `view-change to ${viewChange.newView}, in view ${this.#view}`);
      return;
    }
    const previous = this.#viewChange.latest.get(viewChange.replica);
    if (previous !== undefined && previous.signed.body.newView >= viewChange.newView) return;
    if (!this.#validateViewChange(frame)) {
      this.#reject('INVALID_VIEW_CHANGE', `from ${viewChange.replica} to view ${viewChange.newView}`);
      return;
    }
    this.#viewChange.latest.set(viewChange.replica, { signed: frame, batches: frame.batches });
    if (viewChange.stableSequence > this.#low && viewChange.checkpointProof[0] !== undefined) {
      this.#adoptCheckpointCertificate(
        viewChange.stableSequence,
        viewChange.checkpointProof[0].body.stateDigest,
        viewChange.checkpointProof,
      );
    }
    // Join: f+1 replicas want a view above ours, so at least one honest replica does.
    const above = [...this.#viewChange.latest.values()]
      .map((stored) => stored.signed.body)
      .filter((vc) => vc.replica !== this.id && vc.newView > this.#view);
    if (above.length >= this.#quorums.weak) {
      const smallest = Math.min(...above.map((vc) => vc.newView));
      this.#startViewChange(smallest);
      return;
    }
    this.#maybeArmViewChangeTimer();
    this.#maybeSendNewView();
  }

  /** Checks a view-change's certificates: the checkpoint proof and every prepared proof. */
  #validateViewChange(signed: Signed<ViewChange>): boolean {
    const key = toHex(this.#crypto.hash(signed.bytes));
    if (this.#viewChange.validated.has(key)) return true;
    const viewChange = signed.body;
    if (viewChange.stableSequence > 0) {
      if (this.#verifyCheckpointProof(viewChange.stableSequence, viewChange.checkpointProof) === undefined)
        return false;
    } else if (viewChange.checkpointProof.length !== 0) return false;
    const sequences = new Set<number>();
    for (const proof of viewChange.prepared) {
      const prePrepare = proof.prePrepare.body;
      const { view, sequence, digest } = prePrepare;
      if (
        sequence <= viewChange.stableSequence ||
        sequence > viewChange.stableSequence + this.#protocol.watermarkWindow
      )
        return false;
      if (view >= viewChange.newView || sequences.has(sequence)) return false;
      sequences.add(sequence);
      const primary = this.#primaryOf(view);
      if (prePrepare.replica !== primary || !this.#verifyReplicaSignature(proof.prePrepare)) return false;
      const signers = new Set<number>();
      for (const prepare of proof.prepares) {
        const body = prepare.body;
        if (body.view !== view || body.sequence !== sequence || !bytesEqual(body.digest, digest))
          return false;
        if (body.replica === primary || signers.has(body.replica) || !this.#verifyReplicaSignature(prepare))
          return false;
        signers.add(body.replica);
      }
      if (signers.size < 2 * this.#quorums.f) return false;
    }
    if (this.#viewChange.validated.size >= 4 * this.#quorums.n) this.#viewChange.validated.clear();
    this.#viewChange.validated.add(key);
    return true;
  }

  #verifyReplicaSignature(signed: Signed): boolean {
    const replica = (signed.body as { replica: number }).replica;
    const publicKey = this.#cluster.replicas[replica]?.publicKey;
    return publicKey !== undefined && this.#crypto.verify(signed.bytes, signed.signature, publicKey);
  }

  #viewChangesFor(view: number): StoredViewChange[] {
    return [...this.#viewChange.latest.values()]
      .filter((stored) => stored.signed.body.newView === view)
      .sort((a, b) => a.signed.body.replica - b.signed.body.replica);
  }

  /**
   * The view-change timer starts once 2f+1 replicas have left the views below ours. A replica
   * whose latest view-change names a view above ours has left them too: only its latest is kept,
   * and not counting it could leave honest replicas split across two view changes forever.
   */
  #maybeArmViewChangeTimer(): void {
    if (this.#mode !== 'view-change' || this.#viewChange.armedAt !== undefined) return;
    let atOrAbove = 0;
    for (const stored of this.#viewChange.latest.values())
      if (stored.signed.body.newView >= this.#view) atOrAbove++;
    if (atOrAbove >= this.#quorums.quorum) this.#viewChange.armedAt = this.#now;
  }

  /**
   * What NEW-VIEW must re-propose, computed from the view-changes alone, so that backups can
   * recompute it: for every sequence between the highest stable checkpoint and the highest
   * prepared sequence, the digest prepared in the highest view, or the null batch.
   */
  #computeNewView(viewChanges: readonly ViewChange[]): {
    minSequence: number;
    proposals: { sequence: number; digest: Uint8Array }[];
  } {
    let minSequence = 0;
    for (const vc of viewChanges) minSequence = Math.max(minSequence, vc.stableSequence);
    let maxSequence = minSequence;
    const best = new Map<number, { view: number; digest: Uint8Array }>();
    for (const vc of viewChanges) {
      for (const proof of vc.prepared) {
        const { sequence, view, digest } = proof.prePrepare.body;
        if (sequence <= minSequence) continue;
        maxSequence = Math.max(maxSequence, sequence);
        const current = best.get(sequence);
        if (
          current === undefined ||
          view > current.view ||
          (view === current.view && toHex(digest) < toHex(current.digest))
        ) {
          best.set(sequence, { view, digest });
        }
      }
    }
    const proposals: { sequence: number; digest: Uint8Array }[] = [];
    for (let sequence = minSequence + 1; sequence <= maxSequence; sequence++) {
      proposals.push({ sequence, digest: best.get(sequence)?.digest ?? this.#nullBatch.digest });
    }
    return { minSequence, proposals };
  }

  #maybeSendNewView(): void {
    if (this.#mode !== 'view-change' || !this.#isPrimary) return;
    const stored = this.#viewChangesFor(this.#view);
    if (stored.length < this.#quorums.quorum) return;
    const own = stored.find((s) => s.signed.body.replica === this.id);
    if (own === undefined) return;
    const chosen = [own, ...stored.filter((s) => s !== own)].slice(0, this.#quorums.quorum);
    const { proposals } = this.#computeNewView(chosen.map((s) => s.signed.body));
    const knownBatches = new Map<string, Batch>();
    for (const s of chosen) for (const batch of s.batches) knownBatches.set(toHex(batch.digest), batch);
    for (const entry of this.#agreement.log.values())
      for (const [key, batch] of entry.batches) knownBatches.set(key, batch);
    const prePrepares: Signed<PrePrepare>[] = [];
    const batches: Batch[] = [];
    for (const { sequence, digest } of proposals) {
      prePrepares.push(
        this.#sign<PrePrepare>({
          type: MessageType.prePrepare,
          view: this.#view,
          sequence,
          digest,
          replica: this.id,
        }),
      );
      const batch = knownBatches.get(toHex(digest));
      if (batch !== undefined && !bytesEqual(digest, this.#nullBatch.digest)) batches.push(batch);
    }
    const newView = this.#sign<NewView>({
      type: MessageType.newView,
      view: this.#view,
      viewChanges: chosen.map((s) => s.signed),
      prePrepares,
      replica: this.id,
    });
    const frame = this.#broadcast(newView, batches);
    this.#viewChange.newViewFrame = { view: this.#view, frame };
    this.#persistLog(this.#low, frame);
    this.#enterView(
      newView,
      batches,
      chosen.map((s) => s.signed.body),
    );
  }

  #onNewView(frame: Frame<NewView>, _raw: Uint8Array): void {
    const newView = frame.body;
    if (newView.view < this.#view || (newView.view === this.#view && this.#mode === 'normal')) {
      this.#reject('STALE_VIEW', `new-view for ${newView.view}, in view ${this.#view}`);
      return;
    }
    if (newView.replica !== this.#primaryOf(newView.view)) {
      this.#reject('NOT_PRIMARY', `new-view for ${newView.view} from ${newView.replica}`);
      return;
    }
    const signers = new Set<number>();
    for (const viewChange of newView.viewChanges) {
      const body = viewChange.body;
      if (
        body.newView !== newView.view ||
        signers.has(body.replica) ||
        !this.#verifyReplicaSignature(viewChange) ||
        !this.#validateViewChange(viewChange)
      ) {
        this.#reject('INVALID_NEW_VIEW', `view-change from ${body.replica} in new-view ${newView.view}`);
        return;
      }
      signers.add(body.replica);
    }
    if (signers.size < this.#quorums.quorum) {
      this.#reject('INVALID_NEW_VIEW', `new-view ${newView.view} with ${signers.size} view-changes`);
      return;
    }
    // Recompute what the new primary had to propose, and accept nothing else.
    const { proposals } = this.#computeNewView(newView.viewChanges.map((vc) => vc.body));
    const matches =
      proposals.length === newView.prePrepares.length &&
      proposals.every((expected, index) => {
        const prePrepare = newView.prePrepares[index] as Signed<PrePrepare>;
        const body = prePrepare.body;
        return (
          body.view === newView.view &&
          body.replica === newView.replica &&
          body.sequence === expected.sequence &&
          bytesEqual(body.digest, expected.digest) &&
          this.#verifyReplicaSignature(prePrepare)
        );
      });
    if (!matches) {
      this.#reject('INVALID_NEW_VIEW', `new-view ${newView.view} proposals differ from the recomputation`);
      return;
    }
    this.#view = newView.view;
    this.#enterView(
      frame,
      frame.batches,
      newView.viewChanges.map((vc) => vc.body),
    );
  }

  #enterView(newView: Signed<NewView>, batches: readonly Batch[], viewChanges: readonly ViewChange[]): void {
    this.#mode = 'normal';
    this.#viewChange.armedAt = undefined;
    this.#timers.heardFromPrimary = true; // its new-view is a message from it
    this.#timers.viewEnteredAt = this.#now;
    this.#persistView();
    // Adopt the highest stable checkpoint among the view-changes.
    const highest = viewChanges.reduce<ViewChange | undefined>(
      (best, vc) => (best === undefined || vc.stableSequence > best.stableSequence ? vc : best),
      undefined,
    );
    if (
      highest !== undefined &&
      highest.stableSequence > this.#low &&
      highest.checkpointProof[0] !== undefined
    ) {
      this.#adoptCheckpointCertificate(
        highest.stableSequence,
        highest.checkpointProof[0].body.stateDigest,
        highest.checkpointProof,
      );
    }
    for (const pending of this.#requests.pending.values()) {
      pending.assigned = undefined;
      pending.receivedAt = this.#now;
    }
    for (const conflict of this.#requests.conflicts.values()) {
      conflict.assigned = undefined;
      conflict.since = this.#now;
      if (!this.#isPrimary) this.#forwardConflict(conflict);
    }
    let maxSequence = this.#low;
    for (const prePrepare of newView.body.prePrepares) {
      const sequence = prePrepare.body.sequence;
      maxSequence = Math.max(maxSequence, sequence);
      if (!this.#inWatermarks(sequence)) continue;
      const entry = this.#entryFor(sequence);
      entry.prePrepare = prePrepare;
      const batch =
        batches.find((b) => bytesEqual(b.digest, prePrepare.body.digest)) ??
        this.#nullBatchFor(prePrepare.body.digest);
      if (batch !== undefined) {
        entry.batches.set(toHex(batch.digest), batch);
        for (const request of batch.requests) {
          const pending = this.#requests.pending.get(requestKey(request.body.agent, request.body.requestId));
          if (pending !== undefined) pending.assigned = sequence;
        }
      }
      this.#noteSequence(sequence);
      this.#sendPrepare(entry);
      this.#checkPrepared(entry);
    }
    this.#requests.nextSequence = Math.max(maxSequence, this.#low) + 1;
    this.#timers.lastProgressSeenAt = this.#now;
    this.#timers.lastProposalAt = this.#now;
    // Messages that arrived early for this view are now current.
    const buffered = this.#agreement.earlyFrames.filter((item) => item.view === this.#view);
    this.#agreement.earlyFrames = this.#agreement.earlyFrames.filter((item) => item.view > this.#view);
    for (const item of buffered) this.#dispatch(item.frame, item.raw);
    this.#propose();
  }

  // -------------------------------------------------------------------------------------------
  // Restart

  /**
   * Rebuilds the replica from its durable state. Every message it signed before the crash is
   * back in its log, so it signs nothing that conflicts: a vote it cast is found, not cast
   * anew, and as primary it proposes only above its last proposal, with timestamps that do not
   * go back. Requests that were pending are not durable; agents retry them.
   */
  #restore(state: DurableState): void {
    const checkpoint = state.checkpoint;
    if (checkpoint !== undefined && checkpoint.sequence > 0) {
      assert(
        bytesEqual(this.#crypto.hash(checkpoint.snapshot), checkpoint.stateDigest),
        'durable snapshot does not match its digest',
      );
      this.#installSnapshot(checkpoint.sequence, checkpoint.snapshot);
      this.#checkpoints.stable = {
        sequence: checkpoint.sequence,
        digest: checkpoint.stateDigest,
        proof: checkpoint.proof,
        snapshot: checkpoint.snapshot,
      };
      this.#checkpoints.own.set(checkpoint.sequence, {
        digest: checkpoint.stateDigest,
        snapshot: checkpoint.snapshot,
      });
      this.#requests.nextSequence = checkpoint.sequence + 1;
    }
    for (const record of state.log) {
      const decoded = decodeFrame(record.frame, this.#decodeLimits, this.#crypto.hash);
      assert(decoded.ok, `durable log holds an undecodable frame (${decoded.ok ? '' : decoded.reason})`);
      this.#restoreMessage(decoded.value, record.frame);
    }
    this.#view = state.view;
    // The log is replayed: the replica resumes the mode it had persisted, and finishes catching up
    // in it (its view-change made again, committed batches executed). Requests are not durable, so
    // none is pending and the primary has nothing to propose; what it would send is discarded.
    assert(
      this.#requests.pending.size === 0 && this.#requests.conflicts.size === 0,
      'requests pending during a restore',
    );
    this.#mode = state.changingView ? 'view-change' : 'normal';
    if (
      this.#mode === 'view-change' &&
      this.#viewChange.latest.get(this.id)?.signed.body.newView !== this.#view
    ) {
      this.#sendViewChange(); // ours was garbage-collected with the log: make it again
    }
    this.#executeReady();
  }

  #restoreMessage(frame: Frame, raw: Uint8Array): void {
    const body = frame.body;
    switch (body.type) {
      case MessageType.prePrepare:
        this.#restorePrePrepare(frame as Frame<PrePrepare>, frame.batches);
        return;
      case MessageType.prepare:
        this.#restoreVote(body.view, body.sequence, (entry) => {
          if (!entry.prepares.has(body.replica)) entry.prepares.set(body.replica, frame as Signed<Prepare>);
        });
        return;
      case MessageType.commit:
        this.#restoreVote(body.view, body.sequence, (entry) => {
          if (!entry.commits.has(body.replica)) entry.commits.set(body.replica, frame as Signed<Commit>);
        });
        return;
      case MessageType.checkpoint:
        // Our own checkpoints come back when re-execution takes them again (same bytes).
        if (body.replica !== this.id && body.sequence > this.#low)
          this.#recordCheckpoint(frame as Signed<Checkpoint>);
        return;
      case MessageType.viewChange: {
        const previous = this.#viewChange.latest.get(body.replica);
        if (previous === undefined || previous.signed.body.newView < body.newView) {
          this.#viewChange.latest.set(body.replica, {
            signed: frame as Signed<ViewChange>,
            batches: frame.batches,
          });
        }
        if (body.replica === this.id) this.#viewChange.ownFrame = raw;
        return;
      }
      case MessageType.newView:
        for (const prePrepare of body.prePrepares)
          this.#restorePrePrepare(prePrepare as Frame<PrePrepare>, frame.batches);
        if (body.replica === this.id) this.#viewChange.newViewFrame = { view: body.view, frame: raw };
        if (body.view > this.#view) this.#view = body.view;
        return;
      case MessageType.committed:
        for (const item of body.entries) {
          if (!this.#inWatermarks(item.sequence)) continue;
          const entry = this.#entryFor(item.sequence);
          const batch = frame.batches.find((b) => bytesEqual(b.digest, item.digest));
          if (batch !== undefined) entry.batches.set(toHex(batch.digest), batch);
          entry.committed ??= { view: item.view, digest: item.digest, commits: item.commits, via: 'fetch' };
        }
        return;
      default:
        return; // requests, replies and fetches are never persisted
    }
  }

  #restorePrePrepare(prePrepare: Signed<PrePrepare>, batches: readonly Batch[]): void {
    const { view, sequence, digest, replica } = prePrepare.body;
    this.#restoreVote(view, sequence, (entry) => {
      entry.prePrepare ??= prePrepare;
      const batch = batches.find((b) => bytesEqual(b.digest, digest)) ?? this.#nullBatchFor(digest);
      if (batch !== undefined) entry.batches.set(toHex(batch.digest), batch);
      if (replica === this.id) {
        this.#requests.nextSequence = Math.max(this.#requests.nextSequence, sequence + 1);
        if (batch !== undefined)
          this.#requests.lastProposedTimestamp = Math.max(
            this.#requests.lastProposedTimestamp,
            batch.timestamp,
          );
      }
    });
  }

  /** Applies a logged message of `view` to its entry, then re-derives prepared and committed. */
  #restoreVote(view: number, sequence: number, apply: (entry: LogEntry) => void): void {
    if (!this.#inWatermarks(sequence)) return;
    if (view > this.#view) this.#view = view;
    const entry = this.#entryFor(sequence);
    if (entry.view !== view) return; // a message of an older view, superseded in the log
    apply(entry);
    // The same rules as the live path, without sending: what we voted is already in the log.
    this.#derivePrepared(entry);
    this.#deriveCommitted(entry);
  }

  // -------------------------------------------------------------------------------------------
  // Time

  #onPrimaryTick(timeout: number, requestOverdue: boolean): void {
    this.#propose();
    const idle = this.#requests.nextSequence - 1 === this.#execution.lastExecuted;
    if (
      idle &&
      this.#requests.nextSequence <= this.#high &&
      this.#now - this.#timers.lastProposalAt >= this.#protocol.heartbeatTicks
    ) {
      this.#proposeBatch([]); // heartbeat: agreed time advances even with nothing to order
    }
    // A primary that cannot get anything executed is leading no one (the others may have moved
    // to other views while it was cut off, each waiting for f+1 to join them): it gives up its
    // view like a backup would, which is always safe and costs a working primary nothing.
    const inFlight = this.#requests.nextSequence - 1 > this.#execution.lastExecuted;
    const stalled =
      inFlight && this.#now - Math.max(this.#timers.lastExecutedAt, this.#timers.viewEnteredAt) >= timeout;
    if (requestOverdue || stalled) this.#startViewChange(this.#view + 1);
  }

  #onBackupTick(timeout: number, requestOverdue: boolean): void {
    // Silence is only evidence against a primary we have heard from in this view: a replica that
    // is still connecting, or is itself cut off, would otherwise start a view change alone and,
    // having promised to leave the view, could not come back to it.
    const primarySilent =
      this.#timers.heardFromPrimary && this.#now - this.#timers.lastProgressSeenAt >= timeout;
    if (requestOverdue || primarySilent) this.#startViewChange(this.#view + 1);
  }

  #onTick(ticks: number): void {
    assert(Number.isInteger(ticks) && ticks > 0, 'ticks must be a positive integer');
    this.#now += ticks;
    if (this.#mode === 'view-change') {
      if (
        this.#viewChange.ownFrame !== undefined &&
        this.#now - this.#viewChange.sentAt >= this.#protocol.retryTicks
      ) {
        this.#viewChange.sentAt = this.#now;
        this.#out.send.push({
          to: { kind: 'replicas' },
          type: MessageType.viewChange,
          frame: this.#viewChange.ownFrame,
        });
      }
      if (
        this.#viewChange.armedAt !== undefined &&
        this.#now - this.#viewChange.armedAt >= this.#timeoutTicks()
      ) {
        this.#startViewChange(this.#view + 1);
      }
    } else {
      const timeout = this.#timeoutTicks();
      const oldest = this.#requests.pending.values().next().value as PendingRequest | undefined;
      const requestOverdue =
        (oldest !== undefined && this.#now - oldest.receivedAt >= timeout) || this.#conflictOverdue(timeout);
      if (this.#isPrimary) this.#onPrimaryTick(timeout, requestOverdue);
      else this.#onBackupTick(timeout, requestOverdue);
    }
    // Evidence that has not been ordered yet goes out again (forwards can be lost), also while
    // changing views: the replicas that must join the change may not know of it yet.
    if (this.#mode === 'view-change' || !this.#isPrimary) {
      for (const pair of this.#requests.conflicts.values()) {
        if (this.#now - pair.forwardedAt >= this.#protocol.retryTicks) this.#forwardConflict(pair);
      }
    }
    const behind =
      this.#agreement.highestSeenSequence > this.#execution.lastExecuted ||
      this.#transfer.target !== undefined;
    if (behind && this.#now - this.#timers.lastExecutedAt >= this.#protocol.retryTicks) this.#fetch();
  }

  // -------------------------------------------------------------------------------------------
  // Invariants, checked after every step

  #checkInvariants(): void {
    assert(
      this.#low <= this.#execution.lastExecuted,
      `stable checkpoint ${this.#low} above execution ${this.#execution.lastExecuted}`,
    );
    assert(
      this.#execution.lastExecuted <= this.#high,
      `execution ${this.#execution.lastExecuted} above high watermark ${this.#high}`,
    );
    assert(this.#requests.pending.size <= LIMITS.pendingRequestsMax, 'pending requests over their bound');
    assert(
      this.#agreement.log.size <= this.#protocol.watermarkWindow,
      'log larger than the watermark window',
    );
    assert(
      this.#agreement.earlyFrames.length <= 2 * this.#protocol.watermarkWindow * this.#quorums.n,
      'future buffer over its bound',
    );
    assert(
      this.#checkpoints.own.size <= this.#protocol.watermarkWindow / this.#protocol.checkpointInterval + 1,
      'own checkpoints over their bound',
    );
  }
}

function emptyOutput(): ReplicaOutput {
  return { persist: [], send: [], executed: [], stateTransfers: [], rejected: [] };
}
