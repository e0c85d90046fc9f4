/**
 * What one agent may ask of one replica (`agentLimits` in cluster.json), and the cheap peek that
 * tells a request from a read. Limits are per agent and per replica; real time (token refill)
 * lives here in the daemon, never in core.
 */
import { MessageType } from '@conclave/core';
import { checkSettings } from './settings-check.ts';

export interface AgentLimits {
  /** Request frames (ordered writes) per second. */
  readonly requestsPerSecond: number;
  /** Query, receipt, state and committed-batch fetch frames per second. */
  readonly readsPerSecond: number;
  /** Frames of either kind an agent may send at once above its rate. */
  readonly burstFrames: number;
  /** Bytes per second, every kind together. */
  readonly bytesPerSecond: number;
  /** Bytes an agent may send at once above its rate (a larger frame passes when the bucket is full). */
  readonly burstBytes: number;
  /** Frames of one agent waiting for the step loop; beyond, refused (`AGENT_QUEUE_FULL`). */
  readonly queueFramesMax: number;
}

/**
 * Sane for `pnpm bench` (16 closed-loop agents, one request in flight each: ~20 requests/s per
 * agent) and for one agent writing one request at a time (60–85/s on two cores), with room for
 * bursts. Every ordered request costs all replicas, so requests are set against the cluster's
 * capacity (~330/s on two cores): one agent at the limit takes under a third of it, and an honest
 * agent beside it keeps ~0.77 of its throughput (`pnpm attack --only event-wipe`; 0.60 at 200).
 */
export const DEFAULT_AGENT_LIMITS: AgentLimits = {
  requestsPerSecond: 100,
  readsPerSecond: 500,
  burstFrames: 250,
  bytesPerSecond: 4 * 1024 * 1024,
  burstBytes: 4 * 1024 * 1024,
  queueFramesMax: 64,
};

/** An agent queue longer than this is refused in the configuration: it would not be a bound. */
export const AGENT_QUEUE_FRAMES_LIMIT = 4_096;

/** Defaults for what is absent; a RangeError naming the field for what is not a positive whole number. */
export function resolveAgentLimits(partial: unknown = {}): AgentLimits {
  checkSettings('agentLimits', partial, Object.keys(DEFAULT_AGENT_LIMITS));
  const limits: AgentLimits = { ...DEFAULT_AGENT_LIMITS, ...(partial as Partial<AgentLimits>) };
  if (limits.queueFramesMax > AGENT_QUEUE_FRAMES_LIMIT)
    throw new RangeError(`"agentLimits.queueFramesMax" must be at most ${AGENT_QUEUE_FRAMES_LIMIT}`);
  return limits;
}

/** The budget a frame of an agent draws on. */
export type AgentFrameKind = 'request' | 'read';

/**
 * Peeks at a frame's message type without decoding it: a frame is the canonical msgpack
 * `[bin body, bin signature, batches]`, and a body `[type, …]` with a small positive type. Anything
 * that does not look like a request is a read (it is decoded, and refused, later).
 */
export function agentFrameKind(frame: Uint8Array): AgentFrameKind {
  return peekMessageType(frame) === MessageType.request ? 'request' : 'read';
}

/**
 * The message types an agent sends: a request, a query, a receipt fetch. Every other type is
 * between replicas (agreement, checkpoints, view changes, state transfer) or from a replica to an
 * agent; from an agent's connection it can only be an attack or a relayed replica message, and a
 * prePrepare alone would queue up to 1 + 64 × 64 signature checks.
 */
export const AGENT_MESSAGE_TYPES: ReadonlySet<number> = new Set([
  MessageType.request,
  MessageType.query,
  MessageType.fetchReceipt,
]);

/**
 * Whether the frame peeks as a known type an agent never sends. A frame that does not peek (not
 * canonical) is left to the decoder, which refuses it without any signature work.
 */
export function isReplicaOnlyFrame(frame: Uint8Array): boolean {
  const type = peekMessageType(frame);
  return type !== undefined && KNOWN_TYPES.has(type) && !AGENT_MESSAGE_TYPES.has(type);
}

/** Every message type the decoder knows (a new type is a replica's unless listed above). */
const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(MessageType));

export function peekMessageType(frame: Uint8Array): number | undefined {
  if (frame[0] !== 0x93) return undefined; // fixarray of 3
  const bodyAt = frame[1] === 0xc4 ? 3 : frame[1] === 0xc5 ? 4 : frame[1] === 0xc6 ? 6 : undefined;
  if (bodyAt === undefined) return undefined;
  const head = frame[bodyAt];
  const type = frame[bodyAt + 1];
  if (head === undefined || type === undefined || (head & 0xf0) !== 0x90 || type > 0x7f) return undefined;
  return type;
}
