/**
 * The shared, typed context every part of the replica works on: its fixed configuration, the
 * clock, the view and mode, the output of the step in progress, and one state section per part
 * of the protocol (see `state.ts`). `Replica` owns one; the functions under `replica/` take it
 * as their first argument.
 */
import { type ReplyAuthenticator, signedReplies } from '../auth.ts';
import {
  type ClusterConfig,
  DEFAULT_PROTOCOL_CONFIG,
  LIMITS,
  type ProtocolConfig,
  type Quorums,
  quorumsOf,
  validateCluster,
  validateProtocol,
} from '../config.ts';
import type { CryptoBackend } from '../crypto.ts';
import { assert } from '../errors.ts';
import {
  type Batch,
  type claimedSigner,
  type DecodeLimits,
  type Frame,
  makeBatch,
  type Signed,
} from '../messages.ts';
import type { StateMachine } from '../state-machine.ts';
import type { RejectionCode, ReplicaOutput } from '../types.ts';
import { initialAgentKeys } from './registry.ts';
import { encodeSnapshot } from './snapshot.ts';
import type {
  AgreementState,
  CheckpointsState,
  ExecutionState,
  ReplicaMode,
  RequestsState,
  ReturnState,
  SuspicionState,
  TimersState,
  TransferState,
  ViewChangeState,
} from './state.ts';

export interface ReplicaContext {
  readonly id: number;
  readonly cluster: ClusterConfig;
  readonly protocol: ProtocolConfig;
  readonly quorums: Quorums;
  readonly crypto: CryptoBackend;
  /** This replica's 64-byte Ed25519 secret key. */
  readonly secretKey: Uint8Array;
  readonly stateMachine: StateMachine;
  readonly replyAuthenticator: ReplyAuthenticator;
  readonly decodeLimits: DecodeLimits;
  /** The empty batch at timestamp 0: what a new view proposes where nothing prepared. */
  readonly nullBatch: Batch;

  /** Each registered agent's key in force at the last executed sequence (see `registry.ts`). */
  agentKeys: ReadonlyMap<string, Uint8Array>;
  /** The state machine registry's version `agentKeys` was read at; undefined for a fixed registry. */
  agentKeysVersion: number | undefined;

  /** The clock, in ticks. */
  now: number;
  view: number;
  mode: ReplicaMode;
  /** The effects of the step in progress. */
  out: ReplicaOutput;
  /** Rejected inputs so far, by reason. */
  readonly rejections: Partial<Record<RejectionCode, number>>;

  readonly requests: RequestsState;
  readonly agreement: AgreementState;
  readonly execution: ExecutionState;
  readonly checkpoints: CheckpointsState;
  readonly transfer: TransferState;
  readonly viewChange: ViewChangeState;
  readonly suspicion: SuspicionState;
  readonly returning: ReturnState;
  readonly timers: TimersState;

  /**
   * The replica's dispatcher, for messages that arrived early for a view and are handled when
   * the replica enters it (`enterView`).
   */
  readonly dispatch: (frame: Frame, raw: Uint8Array) => void;
}

/** The configuration a replica is built from: `ReplicaOptions` without its restart state. */
export interface ContextOptions {
  readonly id: number;
  readonly cluster: ClusterConfig;
  readonly protocol?: Partial<ProtocolConfig>;
  readonly crypto: CryptoBackend;
  readonly secretKey: Uint8Array;
  readonly stateMachine: StateMachine;
  readonly replyAuthenticator?: ReplyAuthenticator;
  readonly clockStart?: number;
}

/** The part of the context fixed at construction. */
type FixedConfig = Pick<
  ReplicaContext,
  | 'id'
  | 'cluster'
  | 'protocol'
  | 'quorums'
  | 'crypto'
  | 'secretKey'
  | 'stateMachine'
  | 'replyAuthenticator'
  | 'decodeLimits'
  | 'nullBatch'
>;

/** A fresh replica at sequence 0 in view 0, after checking its configuration. */
export function createContext(
  options: ContextOptions,
  dispatch: (frame: Frame, raw: Uint8Array) => void,
): ReplicaContext {
  const config = fixedConfig(options);
  const now = options.clockStart ?? 0;
  // The stable checkpoint at sequence 0 is the initial state, with no certificate.
  const snapshot = encodeSnapshot(options.stateMachine, new Map(), 0);
  const stable = { sequence: 0, digest: options.crypto.hash(snapshot), proof: [], snapshot };
  const registry = initialAgentKeys(options);
  return {
    ...config,
    agentKeys: registry.keys,
    agentKeysVersion: registry.version,
    now,
    view: 0,
    mode: 'normal',
    out: emptyOutput(),
    rejections: {},
    requests: {
      pending: new Map(),
      pendingPerAgent: new Map(),
      conflicts: new Map(),
      recentRequests: new Map(),
      nextSequence: 1,
      lastProposedTimestamp: 0,
      inBurst: false,
      proposalDeferred: false,
      lastForwardAt: now,
    },
    agreement: { log: new Map(), highestSeenSequence: 0, redundantVotes: 0, earlyFrames: [] },
    execution: { lastExecuted: 0, agreedTime: 0, clients: new Map(), receiptArchive: new Map() },
    checkpoints: { stable, own: new Map(), votes: new Map(), ahead: new Map() },
    transfer: {
      target: undefined,
      lastFetchAt: Number.NEGATIVE_INFINITY,
      fetchRound: 0,
      lastServedAt: new Map(),
    },
    viewChange: {
      streak: 0,
      armedAt: undefined,
      latest: new Map(),
      ownFrame: undefined,
      sentAt: 0,
      newViewFrame: undefined,
      validated: new Set(),
    },
    suspicion: { held: new Map(), seen: new Map(), cause: [] },
    returning: {
      left: 0,
      changingSince: now,
      votesBelow: new Map(),
      asked: undefined,
      skips: [],
      handled: new Map(),
    },
    timers: {
      lastProposalAt: now,
      lastProgressSeenAt: now,
      heardFromPrimary: false,
      viewEnteredAt: 0,
      lastExecutedAt: now,
      lastResentAt: now,
      progressGapPeak: 0,
      progressGapsSeen: 0,
      progressGapPeakAt: now,
      // Every replica counts as heard from at start: who is down shows only after a while.
      heardAt: new Map(options.cluster.replicas.map((_, id) => [id, now])),
    },
    dispatch,
  };
}

/** Checks the cluster and protocol configuration, and derives what stays fixed from it. */
function fixedConfig(options: ContextOptions): FixedConfig {
  validateCluster(options.cluster);
  const protocol = { ...DEFAULT_PROTOCOL_CONFIG, ...options.protocol };
  validateProtocol(protocol);
  assert(
    Number.isInteger(options.id) && options.id >= 0 && options.id < options.cluster.replicas.length,
    'replica id out of range',
  );
  return {
    id: options.id,
    cluster: options.cluster,
    protocol,
    quorums: quorumsOf(options.cluster.replicas.length),
    crypto: options.crypto,
    secretKey: options.secretKey,
    stateMachine: options.stateMachine,
    replyAuthenticator: options.replyAuthenticator ?? signedReplies(options.crypto, options.secretKey),
    decodeLimits: {
      batchSizeMax: protocol.batchSizeMax,
      operationBytesMax: protocol.operationBytesMax,
      entriesMax: Math.max(protocol.watermarkWindow, LIMITS.committedBatchesPerFetchMax),
      snapshotBytesMax: LIMITS.frameBytesMax,
    },
    // The empty batch a new view proposes where nothing prepared.
    nullBatch: makeBatch(0, [], options.crypto.hash),
  };
}

/** The effects of a step that has done nothing yet. */
export function emptyOutput(): ReplicaOutput {
  return { persist: [], send: [], executed: [], stateTransfers: [], rejected: [] };
}

/** The key of one request in the pending and conflict tables. */
export const requestKey = (agent: string, requestId: number): string => `${agent}\u0000${requestId}`;

// Derived values: the watermark window, the primary, the timeout.

/** The low watermark: the stable checkpoint; the log holds only sequences above it. */
export function low(ctx: ReplicaContext): number {
  return ctx.checkpoints.stable.sequence;
}

/** The high watermark: nothing is ordered above the stable checkpoint plus the window. */
export function high(ctx: ReplicaContext): number {
  return ctx.checkpoints.stable.sequence + ctx.protocol.watermarkWindow;
}

/** The primary of a view: replicas take turns. */
export function primaryOf(ctx: ReplicaContext, view: number): number {
  return view % ctx.quorums.n;
}

/** Whether this replica is the primary of the current view. */
export function isPrimary(ctx: ReplicaContext): boolean {
  return primaryOf(ctx, ctx.view) === ctx.id;
}

/** Whether a sequence is inside the window the log may hold: (low, high]. */
export function inWatermarks(ctx: ReplicaContext, sequence: number): boolean {
  return sequence > low(ctx) && sequence <= high(ctx);
}

/** The request and view-change timeout: doubles with each consecutive view change, up to a bound. */
export function timeoutTicks(ctx: ReplicaContext): number {
  return ctx.protocol.requestTimeoutTicks * backoffFactor(ctx);
}

/** 2 to the number of consecutive view changes, up to `viewChangeBackoffMax`: every timeout doubles. */
function backoffFactor(ctx: ReplicaContext): number {
  return 2 ** Math.min(ctx.viewChange.streak, ctx.protocol.viewChangeBackoffMax);
}

/** How many times the longest recent gap between protocol messages a silence must last to count. */
const SILENCE_GAP_FACTOR = 2;
/** Gaps seen longer ago than this many request timeouts no longer set the silence timeout. */
const GAP_PEAK_TIMEOUTS = 5;
/**
 * Gaps that must have been measured (within the window above) before the silence timeout adapts.
 * With fewer, the rhythm of the view is unknown — a cluster that is still connecting, a replica
 * that just started — and the longest gap seen so far says nothing about the next one; the
 * full timeout applies. Under load this many messages arrive within a few ticks.
 */
export const SILENCE_SAMPLES_MIN = 8;

/**
 * A protocol message of the current view arrived: the view is alive. The gap since the last one
 * is kept if it is the longest seen lately, for the silence timeout. A gap as long as the request
 * timeout is not a busy primary's jitter: this replica was paused (its clock jumped), or the view
 * had failed; counting it would stretch the timeout for the next real failure.
 */
export function noteProgress(ctx: ReplicaContext): void {
  const timers = ctx.timers;
  const gap = ctx.now - timers.lastProgressSeenAt;
  if (ctx.now - timers.progressGapPeakAt > GAP_PEAK_TIMEOUTS * ctx.protocol.requestTimeoutTicks) {
    timers.progressGapPeak = 0;
    timers.progressGapPeakAt = ctx.now;
    timers.progressGapsSeen = 0;
  }
  timers.progressGapsSeen++;
  if (gap < ctx.protocol.requestTimeoutTicks && gap >= timers.progressGapPeak) {
    timers.progressGapPeak = gap;
    timers.progressGapPeakAt = ctx.now;
  }
  timers.lastProgressSeenAt = ctx.now;
}

/**
 * How long a backup waits, with work outstanding, before silence counts against its primary.
 * Under load messages arrive every few ticks, so a silence twice the longest recent gap
 * (at least `silenceTimeoutMinTicks`) is already far outside what a working primary does; a busy
 * primary that is slow now and then sets a longer gap, and with it a longer timeout. With
 * nothing outstanding the primary sends only heartbeats, and the full timeout applies; so it
 * does until `SILENCE_SAMPLES_MIN` gaps have been measured. Both
 * double with each consecutive view change, like `timeoutTicks`.
 */
export function silenceTimeoutTicks(ctx: ReplicaContext): number {
  const full = timeoutTicks(ctx);
  const outstanding =
    ctx.requests.pending.size > 0 || ctx.agreement.highestSeenSequence > ctx.execution.lastExecuted;
  if (!outstanding || ctx.timers.progressGapsSeen < SILENCE_SAMPLES_MIN) return full;
  const adaptive = Math.max(
    ctx.protocol.silenceTimeoutMinTicks,
    SILENCE_GAP_FACTOR * ctx.timers.progressGapPeak,
  );
  return Math.min(full, adaptive * backoffFactor(ctx));
}

/** The registered key of the replica or agent a message claims as its signer. */
export function senderKey(
  ctx: ReplicaContext,
  signer: ReturnType<typeof claimedSigner>,
): Uint8Array | undefined {
  return signer.kind === 'agent' ? ctx.agentKeys.get(signer.id) : ctx.cluster.replicas[signer.id]?.publicKey;
}

/** Whether a message carries a valid signature of the replica it names. */
export function verifyReplicaSignature(ctx: ReplicaContext, signed: Signed): boolean {
  const replica = (signed.body as { replica: number }).replica;
  const publicKey = ctx.cluster.replicas[replica]?.publicKey;
  return publicKey !== undefined && ctx.crypto.verify(signed.bytes, signed.signature, publicKey);
}
