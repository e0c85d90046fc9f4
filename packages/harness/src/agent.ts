/**
 * A simulated honest agent: closed loop, one request at a time, strictly increasing requestIds.
 *
 * It sends a request to the primary of the latest view it believes in, and when no f+1 matching
 * replies arrive in time it re-sends to every replica, backing off. It keeps tallying replies for
 * earlier requests too, so that a second, different result vouched for by f+1 replicas is
 * recorded and the exactly-once checker can see it.
 */
import {
  type CryptoBackend,
  type DecodeLimits,
  type Destination,
  openReply,
  type ReplyVerifier,
  toHex,
} from '@conclave/core';
import type { Prng } from './prng.ts';
import type { AcceptedRecord, AgentRecord, IssuedRequestRecord } from './record.ts';
import {
  type Commons,
  coordinationOperation,
  kvOperation,
  type StateMachineKind,
  signAndRecord,
  type WorkloadContext,
} from './workload.ts';

export interface AgentOptions {
  readonly id: string;
  readonly secretKey: Uint8Array;
  readonly crypto: CryptoBackend;
  readonly verifier: ReplyVerifier;
  readonly decodeLimits: DecodeLimits;
  readonly replicaCount: number;
  /** f: a result is accepted once f+1 distinct replicas vouch for it. */
  readonly faultsMax: number;
  readonly prng: Prng;
  readonly requests: number;
  /** Keys are drawn from this many, so results depend on the order of execution. */
  readonly keyCount: number;
  readonly startTick: number;
  /** Ticks between finishing one request and issuing the next, at most. */
  readonly thinkTicksMax: number;
  readonly retryTicks: number;
  readonly retryTicksMax: number;
  /** Request body digest (hex) → signer, shared by all agents of a run: the validity checker's ground truth. */
  readonly created: Map<string, { readonly agent: string; readonly requestId: number }>;
  /** What the replicas run (decides what the agent asks for); KV by default. */
  readonly stateMachine?: StateMachineKind;
  /** Shared with the other agents of the run. */
  readonly commons?: Commons;
  /** Every registered agent: the voters of proposals this agent opens. */
  readonly voters?: readonly string[];
  /** Fairness runs: write only keys in its own namespace (see `ownKeyPrefix`). */
  readonly ownKeys?: boolean;
}

export interface AgentSend {
  readonly to: Destination;
  readonly frame: Uint8Array;
}

/** Distinct (sequence, result) candidates tallied per request at most: a liar cannot grow memory. */
const CANDIDATES_PER_REQUEST_MAX = 64;

interface Outstanding {
  readonly requestId: number;
  readonly frame: Uint8Array;
  nextRetryTick: number;
  retryTicks: number;
}

export class SimulatedAgent {
  readonly id: string;
  readonly #options: AgentOptions;
  readonly #issued: IssuedRequestRecord[] = [];
  readonly #accepted: AcceptedRecord[] = [];
  /** requestId → `${sequence}:${resultHex}` → replicas that sent exactly that. */
  readonly #tallies = new Map<number, Map<string, Set<number>>>();
  /** The latest view each replica reported in a valid reply. */
  readonly #replyViews = new Map<number, number>();
  #view = 0;
  #nextRequestId = 1;
  #nextIssueTick: number;
  #outstanding: Outstanding | undefined;
  #completed = 0;
  /** Proposals this agent has voted on: an honest agent votes once. */
  readonly #voted = new Set<string>();
  /** Replies that did not open (bad authenticator, malformed) or were not for us. */
  repliesIgnored = 0;

  constructor(options: AgentOptions) {
    this.id = options.id;
    this.#options = options;
    this.#nextIssueTick = options.startTick;
  }

  get done(): boolean {
    return this.#completed >= this.#options.requests;
  }

  get completed(): number {
    return this.#completed;
  }

  record(): AgentRecord {
    return {
      id: this.id,
      honest: true,
      requestsPlanned: this.#options.requests,
      issued: [...this.#issued],
      accepted: [...this.#accepted],
    };
  }

  tick(now: number): AgentSend[] {
    const options = this.#options;
    const outstanding = this.#outstanding;
    if (outstanding === undefined) {
      if (this.done || now < this.#nextIssueTick) return [];
      return [this.#issue(now)];
    }
    if (now < outstanding.nextRetryTick) return [];
    outstanding.nextRetryTick = now + outstanding.retryTicks;
    outstanding.retryTicks = Math.min(2 * outstanding.retryTicks, options.retryTicksMax);
    return [{ to: { kind: 'replicas' }, frame: outstanding.frame }];
  }

  #issue(now: number): AgentSend {
    const options = this.#options;
    const requestId = this.#nextRequestId++;
    const context: WorkloadContext = {
      agent: this.id,
      requestId,
      prng: options.prng,
      keyCount: options.keyCount,
      commons: options.commons as Commons,
      crypto: options.crypto,
      secretKey: options.secretKey,
      voters: options.voters ?? [this.id],
      now,
      ...(options.ownKeys === true ? { ownKeys: true } : {}),
    };
    const operation =
      options.stateMachine === 'coordination' && options.commons !== undefined
        ? coordinationOperation(context, this.#voted)
        : kvOperation(context);
    const { frame, digest } = signAndRecord(this.id, requestId, operation, options, true);
    this.#issued.push({ requestId, digest, issuedTick: now });
    this.#outstanding = {
      requestId,
      frame,
      nextRetryTick: now + options.retryTicks,
      retryTicks: 2 * options.retryTicks,
    };
    return { to: { kind: 'replica', id: this.#view % options.replicaCount }, frame };
  }

  /** Takes one reply; returns the result it made this agent accept, if it completed a quorum. */
  onReply(frame: Uint8Array, now: number): AcceptedRecord | undefined {
    const options = this.#options;
    const opened = openReply(frame, options.verifier, options.crypto, options.decodeLimits);
    if (!opened.ok || opened.reply.agent !== this.id || opened.reply.requestId >= this.#nextRequestId) {
      this.repliesIgnored++;
      return undefined;
    }
    const reply = opened.reply;
    this.#replyViews.set(reply.replica, Math.max(reply.view, this.#replyViews.get(reply.replica) ?? 0));
    let tally = this.#tallies.get(reply.requestId);
    if (tally === undefined) {
      tally = new Map();
      this.#tallies.set(reply.requestId, tally);
    }
    const key = `${reply.sequence}:${toHex(reply.result)}`;
    let voters = tally.get(key);
    if (voters === undefined) {
      if (tally.size >= CANDIDATES_PER_REQUEST_MAX) {
        this.repliesIgnored++;
        return undefined;
      }
      voters = new Set();
      tally.set(key, voters);
    }
    if (voters.has(reply.replica)) return undefined;
    voters.add(reply.replica);
    if (voters.size !== options.faultsMax + 1) return undefined;
    const accepted: AcceptedRecord = {
      requestId: reply.requestId,
      sequence: reply.sequence,
      result: toHex(reply.result),
      tick: now,
    };
    this.#accepted.push(accepted);
    if (this.#outstanding?.requestId === reply.requestId) {
      this.#outstanding = undefined;
      this.#completed++;
      this.#nextIssueTick = now + options.prng.int(options.thinkTicksMax + 1);
      this.#adoptView();
    }
    return accepted;
  }

  /** The (f+1)-th highest view replicas reported: at least one honest replica has reached it. */
  #adoptView(): void {
    const views = [...this.#replyViews.values()].sort((a, b) => b - a);
    const vouched = views[this.#options.faultsMax];
    if (vouched !== undefined && vouched > this.#view) this.#view = vouched;
  }
}
