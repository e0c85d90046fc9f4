/**
 * What simulated agents ask for. With the KV state machine, puts on a few keys (results depend
 * on the order of execution). With the coordination state machine, a mix of everything it
 * offers: proposals, signed ballots, compare-and-set, locks with leases, and the task board.
 *
 * `Commons` is what agents of one run can see of each other (proposal ids, task ids, lock names,
 * signed request frames on the wire) and what the simulator needs to know about every request
 * an agent signed (its ballot, if it is a vote), all bounded.
 */

import { type Choice, decodeOperation, ops, resolveLimits, signBallot } from '@conclave/coordination';
import { type CryptoBackend, createRequest, encodeKvOperation, toHex } from '@conclave/core';
import type { Prng } from './prng.ts';
import type { OperationSummary } from './record.ts';

export type StateMachineKind = 'kv' | 'coordination';

export const WORKLOAD_LIMITS = Object.freeze({
  /** Proposal and task ids remembered for others to vote on or claim. */
  idsMax: 256,
  /** Signed frames of honest agents kept for replay by liars. */
  framesMax: 64,
  /** Locks agents compete for: few, so that they collide. */
  lockCount: 2,
  /** Operations summarised for the fairness checker per run at most (honest and lying agents together). */
  operationsMax: 20_000,
});

/** Decoding limits for summaries: the defaults, generous enough for anything an agent signs here. */
const SUMMARY_LIMITS = resolveLimits();

/** The op and the object an encoded coordination operation names (never throws). */
export function summariseOperation(bytes: Uint8Array): OperationSummary {
  const decoded = decodeOperation(bytes, SUMMARY_LIMITS);
  if (!decoded.ok) return { op: 'undecodable' };
  const operation = decoded.operation as { readonly op: string } & Record<string, unknown>;
  const target = operation.key ?? operation.name ?? operation.taskId ?? operation.proposalId;
  return typeof target === 'string' ? { op: operation.op, target } : { op: operation.op };
}

/** The key namespace of an agent in fairness runs: keys under it are that agent's alone. */
export function ownKeyPrefix(agent: string): string {
  return `${agent}/`;
}

/** What the simulator knows about one signed request, by the digest of its body. */
export interface RequestInfo {
  readonly agent: string;
  readonly requestId: number;
  /** Hex of the request body digest. */
  readonly digest: string;
  /** For votes: the proposal and the ballot bytes (hex). */
  readonly ballot?: { readonly proposalId: string; readonly ballotHex: string };
}

export class Commons {
  readonly proposals: string[] = [];
  readonly tasks: string[] = [];
  /** Honest agents' signed request frames, for replay by liars. */
  readonly honestFrames: Uint8Array[] = [];
  /** Every request an agent signed, by frame object (the network hands on the same bytes). */
  readonly byFrame = new WeakMap<Uint8Array, RequestInfo>();
  /** Every request an agent signed that is a vote, by body digest. */
  readonly ballotsByDigest = new Map<string, RequestInfo>();
  /**
   * Fairness runs only (see `recordOperations`): what each signed request does, by
   * `agent#requestId` (the first operation signed under it), for the fairness checker.
   */
  readonly operations = new Map<string, OperationSummary>();
  /** Fairness runs only: keys honest agents wrote in their own namespace, and the tick they first did. */
  readonly honestKeys = new Map<string, number>();
  /** Off unless the run checks fairness, so other runs do no extra work. */
  recordOperations = false;

  addProposal(id: string): void {
    if (this.proposals.length < WORKLOAD_LIMITS.idsMax) this.proposals.push(id);
  }

  addTask(id: string): void {
    if (this.tasks.length < WORKLOAD_LIMITS.idsMax) this.tasks.push(id);
  }

  #honestRegistered = 0;

  /** Remembers what a signed request does (fairness runs only), bounded by `operationsMax`. */
  recordOperation(agent: string, requestId: number, bytes: Uint8Array): void {
    if (!this.recordOperations || this.operations.size >= WORKLOAD_LIMITS.operationsMax) return;
    const key = `${agent}#${requestId}`;
    if (!this.operations.has(key)) this.operations.set(key, summariseOperation(bytes));
  }

  /** An honest agent is about to write `key` (its own): liars that overwrite learn it here. */
  addHonestKey(key: string, tick: number): void {
    if (!this.honestKeys.has(key) && this.honestKeys.size < WORKLOAD_LIMITS.idsMax)
      this.honestKeys.set(key, tick);
  }

  register(frame: Uint8Array, info: RequestInfo, honest: boolean): void {
    this.byFrame.set(frame, info);
    if (info.ballot !== undefined) this.ballotsByDigest.set(info.digest, info);
    if (!honest) return;
    // Round robin rather than random: registering must not draw from anyone's stream.
    this.honestFrames[this.#honestRegistered % WORKLOAD_LIMITS.framesMax] = frame;
    this.#honestRegistered++;
  }
}

export interface Operation {
  readonly bytes: Uint8Array;
  /** For votes, the signed ballot (so evidence can be expected of equivocations). */
  readonly ballot?: { readonly proposalId: string; readonly ballotHex: string };
}

/** Where a signed request is recorded: as created (for the validity checker) and in the commons. */
export interface RequestRecorder {
  readonly crypto: CryptoBackend;
  readonly secretKey: Uint8Array;
  readonly created: Map<string, { readonly agent: string; readonly requestId: number }>;
  readonly commons?: Commons;
}

/** Signs an agent's request and records it; `honest` says whose it is for the commons. */
export function signAndRecord(
  agent: string,
  requestId: number,
  operation: Operation,
  recorder: RequestRecorder,
  honest: boolean,
): { readonly frame: Uint8Array; readonly digest: string } {
  const { request, frame } = createRequest(
    { agent, requestId, operation: operation.bytes },
    recorder.crypto,
    recorder.secretKey,
  );
  const digest = toHex(recorder.crypto.hash(request.bytes));
  recorder.created.set(digest, { agent, requestId });
  recorder.commons?.recordOperation(agent, requestId, operation.bytes);
  recorder.commons?.register(
    frame,
    { agent, requestId, digest, ...(operation.ballot === undefined ? {} : { ballot: operation.ballot }) },
    honest,
  );
  return { frame, digest };
}

export interface WorkloadContext {
  readonly agent: string;
  readonly requestId: number;
  readonly prng: Prng;
  readonly keyCount: number;
  readonly commons: Commons;
  readonly crypto: CryptoBackend;
  readonly secretKey: Uint8Array;
  /** Voters of new proposals: every registered agent. */
  readonly voters: readonly string[];
  /** The simulator's tick, a fair guess at agreed time (deadlines, leases). */
  readonly now: number;
  /** Fairness runs: kv keys are the agent's own (`agent/k0`...), so a write by anyone else is an attack. */
  readonly ownKeys?: boolean;
}

const encoder = new TextEncoder();

export function kvOperation(context: WorkloadContext): Operation {
  const key = `k${context.prng.int(context.keyCount)}`;
  return { bytes: encodeKvOperation({ op: 'put', key, value: `${context.agent}.${context.requestId}` }) };
}

/** A vote: one signed ballot, reusable so an honest agent re-sends the same bytes. */
export function voteOperation(context: WorkloadContext, proposalId: string, choice: Choice): Operation {
  const signed = signBallot(
    {
      proposalId,
      agent: context.agent,
      choice,
      reason: `${context.agent} on ${proposalId}`,
      confidencePermille: context.prng.int(1001),
    },
    context.secretKey,
    context.crypto,
  );
  return {
    bytes: ops.vote(signed),
    ballot: { proposalId, ballotHex: toHex(signed.ballotBytes) },
  };
}

export function proposeOperation(context: WorkloadContext, proposalId: string): Operation {
  const { prng } = context;
  context.commons.addProposal(proposalId);
  return {
    bytes: ops.propose({
      proposalId,
      title: `proposal ${proposalId}`,
      rule: { kind: 'threshold', k: Math.max(1, Math.min(2, context.voters.length)) },
      voters: context.voters.map((agent) => ({ agent, weight: 1 })),
      deadline: context.now + prng.range(150, 3000),
    }),
  };
}

/** Rolls of `coordinationOperation` for a kv put, lock acquire, proposal, task creation and claim. */
const FIRST_USE_ROLLS: readonly number[] = [3, 5, 0, 7, 8];

/** What an honest agent does next on the coordination state machine. */
export function coordinationOperation(context: WorkloadContext, voted: Set<string>): Operation {
  const { prng, commons, agent, requestId } = context;
  const value = encoder.encode(`${agent}.${requestId}`);
  const key = `${context.ownKeys === true ? ownKeyPrefix(agent) : ''}k${prng.int(context.keyCount)}`;
  const lock = `lock-${prng.int(WORKLOAD_LIMITS.lockCount)}`;
  const drawn = prng.int(10);
  // Fairness runs: an agent's first requests each take a first share of one resource (kv key,
  // lock, proposal, task, claim), the shares lying agents hoard; the draw is made all the same.
  const roll = context.ownKeys === true ? (FIRST_USE_ROLLS[requestId - 1] ?? drawn) : drawn;
  switch (roll) {
    case 0:
      return proposeOperation(context, `${agent}.p${requestId}`);
    case 1:
    case 2: {
      const open = commons.proposals.filter((id) => !voted.has(id));
      if (open.length === 0) return proposeOperation(context, `${agent}.p${requestId}`);
      const proposalId = prng.pick(open);
      voted.add(proposalId);
      return voteOperation(context, proposalId, prng.pick(['approve', 'reject', 'abstain'] as const));
    }
    case 3:
      if (context.ownKeys === true) commons.addHonestKey(key, context.now);
      return { bytes: ops.kvPut({ key, value }) };
    case 4:
      if (context.ownKeys === true) commons.addHonestKey(key, context.now);
      return { bytes: ops.kvCas({ key, expectedVersion: prng.int(4), value }) };
    case 5:
      return { bytes: ops.lockAcquire({ name: lock, ttl: prng.range(30, 400) }) };
    case 6:
      return prng.chance(0.5)
        ? { bytes: ops.lockRenew({ name: lock, ttl: prng.range(30, 400) }) }
        : { bytes: ops.lockRelease({ name: lock }) };
    case 7: {
      const taskId = `${agent}.t${requestId}`;
      commons.addTask(taskId);
      return { bytes: ops.taskCreate({ taskId, payload: value }) };
    }
    case 8: {
      if (commons.tasks.length === 0) {
        if (context.ownKeys === true) commons.addHonestKey(key, context.now);
        return { bytes: ops.kvPut({ key, value }) };
      }
      return { bytes: ops.taskClaim({ taskId: prng.pick(commons.tasks), ttl: prng.range(50, 500) }) };
    }
    default: {
      if (commons.tasks.length === 0) return { bytes: ops.kvGet({ key }) };
      return { bytes: ops.taskComplete({ taskId: prng.pick(commons.tasks), result: value }) };
    }
  }
}
