/**
 * The daemon's inbox: what waits for the step loop, kept so that no agent can deny service to
 * others or to the replicas.
 *
 * - Replicas have their own lane (one queue per replica, deficit round robin) and the first
 *   `REPLICA_ROUND_SHARE` of every round: agent traffic cannot consume it.
 * - Each agent has its own bounded queue, drained by deficit round robin over bytes into what is
 *   left of the round, and token buckets (requests, reads, bytes) from `agentLimits`. A frame
 *   that would exceed them is refused before it is decoded or its signature is looked at, and
 *   the refusal is reported with its reason and agent.
 * - An agent's frame of a type only replicas send (prePrepare, votes, checkpoints, view changes,
 *   state transfer) is refused first (`REPLICA_ONLY_TYPE`), from a peek at its type byte.
 *
 * Pure but for the injected clock: the daemon passes `performance.now()`, tests a fake.
 */
import { type AgentLimits, agentFrameKind, isReplicaOnlyFrame } from './agent-limits.ts';
import { DeficitRoundRobin } from './deficit-round-robin.ts';
import { TokenBucket } from './token-bucket.ts';

/** Frames one replica may have waiting; beyond, dropped and counted (`INBOX_FULL`): the protocol retransmits. */
export const REPLICA_QUEUE_FRAMES_MAX = 16_384;
/** Frames of all agents together waiting; beyond, refused (`AGENTS_BUSY`), so many agents cannot fill memory. */
export const AGENT_FRAMES_QUEUED_MAX = 16_384;
/** Frames of a round reserved for replicas first (of `ROUND_INPUTS_MAX`); agents get the rest and whatever replicas leave. */
export const REPLICA_ROUND_SHARE = 768;
/** What a frame costs beyond its bytes, in bytes: the signature check and step every frame needs. */
export const FRAME_COST_BYTES = 1_024;
/** Credit per visit of a queue: about three small frames, so many busy agents still interleave finely. */
export const DRR_QUANTUM_BYTES = 4 * 1_024;

/** Why an agent's frame was refused (the label of `conclave_agent_refused_total`). */
export type AgentRefusal =
  | 'REPLICA_ONLY_TYPE'
  | 'REQUEST_RATE'
  | 'READ_RATE'
  | 'BYTE_RATE'
  | 'AGENT_QUEUE_FULL'
  | 'AGENTS_BUSY';

/**
 * How long a replica stops reading an agent whose frame it refused for the agent's own excess
 * (over a rate, a full queue, a replica-only type). Its further frames wait in its own socket
 * buffers and send queue instead of each costing this replica a read, a MAC check and a refusal:
 * a flood is slowed at its source. Not for `AGENTS_BUSY`, which is no one agent's doing. Short
 * enough that an honest agent that strayed over its rate barely notices; far below the ping's
 * dead-peer bound (two intervals), so a held agent is never taken for dead.
 */
export const AGENT_HOLD_BACK_MS = 200;

/** The refusals after which the agent is held back (`AGENT_HOLD_BACK_MS`). */
export function holdsBack(reason: AgentRefusal): boolean {
  return reason !== 'AGENTS_BUSY';
}

export type Offer =
  | { readonly ok: true }
  | { readonly ok: false; readonly lane: 'replica'; readonly reason: 'INBOX_FULL' }
  | { readonly ok: false; readonly lane: 'agent'; readonly agent: string; readonly reason: AgentRefusal };

interface Buckets {
  readonly request: TokenBucket;
  readonly read: TokenBucket;
  readonly bytes: TokenBucket;
}

/** Who sent a frame, as the daemon learns it from the transport's authenticated peer id. */
export type Sender =
  | { readonly kind: 'replica'; readonly id: number }
  | { readonly kind: 'agent'; readonly id: string };

export class FairInbox<T> {
  readonly #replicas: DeficitRoundRobin<T>;
  readonly #agents: DeficitRoundRobin<T>;
  /** One set per agent that has sent something: at most the agents of the cluster (authenticated). */
  readonly #buckets = new Map<string, Buckets>();

  constructor(
    readonly limits: AgentLimits,
    readonly replicaCount: number,
    readonly nowMs: () => number,
  ) {
    this.#replicas = new DeficitRoundRobin(
      DRR_QUANTUM_BYTES,
      REPLICA_QUEUE_FRAMES_MAX,
      REPLICA_QUEUE_FRAMES_MAX * replicaCount,
    );
    this.#agents = new DeficitRoundRobin(DRR_QUANTUM_BYTES, limits.queueFramesMax, AGENT_FRAMES_QUEUED_MAX);
  }

  /**
   * Admits a frame, or says why not. `make` (decode, hand signatures to the pool) runs only for
   * an admitted frame, so a refused one costs a peek and a few comparisons.
   */
  offer(from: Sender, frame: Uint8Array, make: () => T): Offer {
    const cost = FRAME_COST_BYTES + frame.byteLength;
    if (from.kind === 'replica') {
      const key = String(from.id);
      if (this.#replicas.refusal(key) !== undefined)
        return { ok: false, lane: 'replica', reason: 'INBOX_FULL' };
      this.#replicas.push(key, make(), cost);
      return { ok: true };
    }
    const refused = this.#agentRefusal(from.id, frame);
    if (refused !== undefined) return { ok: false, lane: 'agent', agent: from.id, reason: refused };
    this.#agents.push(from.id, make(), cost);
    return { ok: true };
  }

  #agentRefusal(agent: string, frame: Uint8Array): AgentRefusal | undefined {
    // First and without spending the agent's budget: a replica's message type from an agent is
    // never decoded, and none of its (possibly thousands of) signatures is looked at.
    if (isReplicaOnlyFrame(frame)) return 'REPLICA_ONLY_TYPE';
    const queued = this.#agents.refusal(agent);
    if (queued !== undefined) return queued === 'QUEUE_FULL' ? 'AGENT_QUEUE_FULL' : 'AGENTS_BUSY';
    const now = this.nowMs();
    const buckets = this.#bucketsOf(agent, now);
    const kind = agentFrameKind(frame);
    const frames = kind === 'request' ? buckets.request : buckets.read;
    if (!frames.allows(1, now)) return kind === 'request' ? 'REQUEST_RATE' : 'READ_RATE';
    if (!buckets.bytes.allows(frame.byteLength, now)) return 'BYTE_RATE';
    frames.take(1);
    buckets.bytes.take(frame.byteLength);
    return undefined;
  }

  #bucketsOf(agent: string, now: number): Buckets {
    let buckets = this.#buckets.get(agent);
    if (buckets === undefined) {
      const l = this.limits;
      buckets = {
        request: new TokenBucket(l.requestsPerSecond, l.burstFrames, now),
        read: new TokenBucket(l.readsPerSecond, l.burstFrames, now),
        bytes: new TokenBucket(l.bytesPerSecond, l.burstBytes, now),
      };
      this.#buckets.set(agent, buckets);
    }
    return buckets;
  }

  /** The next round's frames: replicas' first (up to their share), then agents', fairly. */
  nextRound(framesMax: number): T[] {
    const replicas = this.#replicas.take(Math.min(framesMax, REPLICA_ROUND_SHARE));
    const agents = this.#agents.take(framesMax - replicas.length);
    // Replicas may use what agents left of the round.
    const more = this.#replicas.take(framesMax - replicas.length - agents.length);
    return [...replicas, ...more, ...agents];
  }

  /** Frames from replicas waiting: time waits for these (never for agents' frames). */
  get replicaFrames(): number {
    return this.#replicas.size;
  }

  get agentFrames(): number {
    return this.#agents.size;
  }

  /** Agents with frames waiting. */
  get agentsWaiting(): number {
    return this.#agents.activeKeys;
  }

  get size(): number {
    return this.#replicas.size + this.#agents.size;
  }

  clear(): void {
    this.#replicas.clear();
    this.#agents.clear();
  }
}
