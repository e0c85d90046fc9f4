/**
 * The coordination primitives, typed: proposals and signed ballots, decisions, evidence, a
 * versioned kv, locks and leases, a task board, and a watch on committed events. Every write is
 * a request ordered by the cluster; every read takes a consistency (see `ReadConsistency`).
 * Refusals by the state machine become `RejectedError` with its code (e.g. VERSION_MISMATCH);
 * QUOTA and FORBIDDEN refusals become its subclasses `QuotaError` and `ForbiddenError`.
 */
import {
  type AgentKeyHistory,
  type AgentUsageView,
  type AgentView,
  type Choice,
  type CoordinationEvent,
  type CoordinationResult,
  type CouncilView,
  decodeResult,
  type EventCursor,
  type Evidence,
  encodeResult,
  type GovernanceAction,
  type KvEntry,
  keyInForce,
  type LockView,
  type MissingReveal,
  ops,
  type ProposalSummary,
  type ProposalView,
  type Rule,
  type SealedTerms,
  type SignedBallot,
  type TaskView,
  type Voter,
} from '@conclave/coordination';
import {
  type AgentKeyAt,
  bytesEqual,
  encodeJoinStatement,
  publicKeyOf,
  type Receipt,
  signJoinStatement,
  toHex,
} from '@conclave/core';
import type { AnswerKey, CallOptions, ConclaveClient, ReadConsistency } from './client.ts';
import {
  AbortedError,
  ConclaveError,
  MembershipError,
  RejectedError,
  refusalError,
  TimeoutError,
} from './errors.ts';
import {
  type BallotRecord,
  ballotBytesOf,
  type CommitmentRecord,
  type CommitResult,
  commitmentRecord,
  commitSealed,
  type OrderedVote,
  revealSealed,
  type SealedPorts,
  type SealedSteps,
  type SealedVoteOptions,
  type SealOptions,
  voteSealed,
} from './sealed-vote.ts';
import { sleep } from './sleep.ts';

/** A read's consistency, and which replica a `local` read asks. */
export interface ReadOptions extends CallOptions {
  /** Default `linearizable`: ordered like a write, so it sees every write acknowledged before it. */
  readonly consistency?: ReadConsistency;
  readonly replica?: number;
}

type OkKind<K extends string> = Extract<CoordinationResult, { ok: true; kind: K }>;

/** A proposal: its id, rule, voters and deadline (absolute, or a TTL in agreed time). */
export interface ProposeOptions extends CallOptions {
  readonly proposalId: string;
  readonly title: string;
  readonly rule: Rule;
  readonly voters: readonly Voter[];
  /** Absolute deadline in agreed time (ticks); or give `ttlTicks`. */
  readonly deadline?: number;
  /** Deadline relative to the cluster's current agreed time. */
  readonly ttlTicks?: number;
  /** Candidate answers, for score rules. */
  readonly candidates?: readonly string[];
  /** A sealed ballot: voters commit until the commit deadline, and reveal from then until `deadline`. */
  readonly sealed?: SealedOptions;
}

/**
 * What makes a proposal sealed: its commit deadline (absolute agreed time, or `commitTicks` from
 * the cluster's now, like `ttlTicks`), before the deadline; and what a voter that committed and
 * never revealed counts as (default `abstain`; `reject` is refused under score rules).
 */
export interface SealedOptions {
  readonly commitDeadline?: number;
  readonly commitTicks?: number;
  readonly missingReveal?: MissingReveal;
}

/** A governance action for the council: its id, an optional title, and its deadline. */
export interface ProposeActionOptions extends CallOptions {
  readonly proposalId: string;
  readonly title?: string;
  /** Absolute deadline in agreed time (ticks); or give `ttlTicks`. */
  readonly deadline?: number;
  /** Deadline relative to the cluster's current agreed time. */
  readonly ttlTicks?: number;
  /** A sealed vote on the action (see `SealedOptions`). */
  readonly sealed?: SealedOptions;
}

/** What a key rotation or revocation did: the agent's record after it, and the first sequence it holds at. */
export interface RegistryChange {
  readonly agent: AgentView;
  readonly effectiveFrom: number;
}

/**
 * A ballot's reason and confidence, recorded with it (not used in the tally); on a sealed
 * proposal also how `vote` waits between commit and reveal, and the salt (see `SealedVoteOptions`).
 */
export interface VoteOptions extends SealedVoteOptions {}

/** What casting a ballot returns: where it was ordered, the proposal's state, and the receipt. */
export interface VoteResult {
  readonly requestId: number;
  /** Where the ballot was ordered. */
  readonly sequence: number;
  /** The replicas whose matching answers were accepted. */
  readonly replicas: readonly number[];
  readonly proposal: ProposalSummary;
  /** True when this exact ballot had already been counted. */
  readonly duplicate: boolean;
  /** The receipt of the request that carried the ballot: proof, checkable offline, that it was decided. */
  readonly receipt: Receipt;
  /** On a sealed proposal (the ballot was revealed): its salt and the commit; null on an open one. */
  readonly sealed: SealedSteps | null;
}

/** How `waitForDecision` polls, and what it reports while the proposal is open. */
export interface WaitOptions extends CallOptions {
  /** How often to look; default 100 ms. */
  readonly pollMs?: number;
  /** Called with the proposal each time its tally changes while it is still open. */
  readonly onProgress?: (proposal: ProposalView) => void;
}

/** Where `watch` starts, how often it looks, and how it reads. */
export interface WatchOptions {
  /**
   * Where to start: events at or after this position. Default: the oldest position from which
   * the replicas' log has no gap (`gapFreeFrom`). Either way, a gap after the start raises
   * EVENTS_LOST; events are never skipped silently.
   */
  readonly from?: EventCursor;
  readonly signal?: AbortSignal;
  /** How often to ask for new events; default 100 ms. */
  readonly pollMs?: number;
  readonly consistency?: 'quorum' | 'local';
}

/** Wraps a connected client with the coordination state machine's operations. */
/**
 * Quorum-read answers are the same when they hold the same result apart from `at`, the position
 * each replica read at: replicas a batch apart (an idle cluster's heartbeats too) then still
 * agree on what has not changed. Of 2f+1 such answers the one with the median position is kept,
 * so f Byzantine replicas cannot make the read look older or newer than an honest one saw.
 */
export const samePosition: AnswerKey = (bytes) => {
  const result = decodeResult(bytes);
  if (!result.ok) return { key: toHex(bytes), order: 0 };
  const { at, ...content } = result;
  return { key: toHex(encodeResult(content as unknown as CoordinationResult)), order: at.sequence };
};

export function coordination(client: ConclaveClient): Coordination {
  return new Coordination(client);
}

/** The coordination primitives over a connected client; create it with `coordination(client)`. */
export class Coordination {
  readonly client: ConclaveClient;

  constructor(client: ConclaveClient) {
    this.client = client;
  }

  #unwrap<K extends string>(result: CoordinationResult, kind: K): OkKind<K> {
    if (!result.ok) throw refusalError(result.code, result.message, result.resource);
    if (result.kind !== kind)
      throw new ConclaveError('INVALID_ARGUMENT', `expected a ${kind} result, got ${result.kind}`);
    return result as OkKind<K>;
  }

  async #write<K extends string>(
    operation: Uint8Array,
    kind: K,
    options: CallOptions = {},
  ): Promise<OkKind<K>> {
    const answer = await this.client.request(operation, options);
    return this.#unwrap(decodeResult(answer.result), kind);
  }

  async #read<K extends string>(
    operation: Uint8Array,
    kind: K,
    options: ReadOptions = {},
  ): Promise<OkKind<K>> {
    const consistency = options.consistency ?? 'linearizable';
    if (consistency === 'linearizable') return this.#write(operation, kind, options);
    const answer = await this.client.query(operation, consistency, { ...options, answerKey: samePosition });
    return this.#unwrap(decodeResult(answer.result), kind);
  }

  /**
   * The cluster's agreed time (ticks) now: an ordered read, whose result carries the agreed
   * time of the batch it executed in. (An unordered read would report the last executed batch's
   * time, which is 0 on a cluster that has not executed anything yet.)
   */
  async agreedTime(options: CallOptions = {}): Promise<number> {
    const answer = await this.#write(ops.listAgents({ limit: 1 }), 'agents', options);
    return answer.at.timestamp;
  }

  // --- proposals --------------------------------------------------------------------------------

  /**
   * A proposal's deadlines in absolute agreed time: `deadline`, or `ttlTicks` from the cluster's
   * now; for a sealed one also the commit deadline, `commitDeadline` or `commitTicks` from now.
   */
  async #deadlinesOf(
    options: Timing,
    what: string,
  ): Promise<{ deadline: number; sealed: SealedTerms | null }> {
    const { sealed } = options;
    const relative =
      options.deadline === undefined || (sealed !== undefined && sealed.commitDeadline === undefined);
    const now = relative ? await this.agreedTime(options) : 0;
    return {
      deadline: absolute(options.deadline, options.ttlTicks, now, `${what} needs a deadline or ttlTicks`),
      sealed:
        sealed === undefined
          ? null
          : {
              commitDeadline: absolute(
                sealed.commitDeadline,
                sealed.commitTicks,
                now,
                `${what}: sealed needs a commitDeadline or commitTicks`,
              ),
              missingReveal: sealed.missingReveal ?? 'abstain',
            },
    };
  }

  /** Opens a proposal. The deadline is in agreed time: absolute, or `ttlTicks` from now. */
  async propose(options: ProposeOptions): Promise<ProposalView> {
    const { deadline, sealed } = await this.#deadlinesOf(options, 'propose');
    const operation = ops.propose({
      proposalId: options.proposalId,
      title: options.title,
      rule: options.rule,
      voters: options.voters,
      deadline,
      sealed,
      ...(options.candidates === undefined ? {} : { candidates: options.candidates }),
    });
    return (await this.#write(operation, 'proposal', options)).proposal;
  }

  /**
   * Casts a ballot signed with this agent's key (so it is transferable evidence of the vote),
   * and returns the request's verified receipt. The proposal is read first: on a sealed one this
   * commits, waits for the commit deadline and reveals (`sealed` in the result says so); called
   * again after a restart with the same ballot, it continues where it stopped.
   */
  async vote(proposalId: string, choice: Choice, options: VoteOptions = {}): Promise<VoteResult> {
    const proposal = await this.#proposalForVote(proposalId, options);
    if (proposal.sealed !== null) return voteSealed(this.#sealedPorts(), proposal, choice, options);
    const ballotBytes = ballotBytesOf(this.client.agent, proposalId, choice, options);
    return this.castBallot({ ballotBytes, signature: this.client.sign(ballotBytes) }, options);
  }

  /**
   * The proposal as a vote must see it: a quorum read (ballot content never reaches the log of a
   * sealed proposal by mistake), ordered when that finds nothing (it may be slightly stale).
   */
  async #proposalForVote(proposalId: string, options: CallOptions): Promise<ProposalView> {
    const signal = options.signal === undefined ? {} : { signal: options.signal };
    try {
      return await this.decision(proposalId, { ...signal, consistency: 'quorum' });
    } catch (error) {
      const codes = ['NO_QUORUM', 'TIMEOUT', 'NOT_FOUND'];
      const code =
        error instanceof RejectedError ? error.reason : error instanceof ConclaveError ? error.code : '';
      if (!codes.includes(code)) throw error;
      return this.decision(proposalId, { ...signal, consistency: 'linearizable' });
    }
  }

  /**
   * Casts a ballot that is already signed (by this agent: the state machine refuses, with
   * FORGED_BALLOT, a ballot whose voter is not the agent sending it). An open ballot only: a
   * sealed proposal refuses it with SEALED (and the ballot is then in the log for all to read).
   */
  async castBallot(ballot: SignedBallot, options: CallOptions = {}): Promise<VoteResult> {
    return { ...(await this.#sendVote(ops.vote(ballot), options)), sealed: null };
  }

  /** Sends a vote, commit or reveal; its `vote` result with the request's receipt. */
  async #sendVote(operation: Uint8Array, options: CallOptions): Promise<OrderedVote> {
    const answer = await this.client.requestWithReceipt(operation, options);
    const result = this.#unwrap(decodeResult(answer.result), 'vote');
    return {
      requestId: answer.requestId,
      sequence: answer.sequence,
      replicas: answer.replicas,
      proposal: result.proposal,
      duplicate: result.duplicate,
      receipt: answer.receipt,
    };
  }

  // --- sealed ballots -------------------------------------------------------------------------

  /**
   * The first half of a sealed vote: commits to the seal of this ballot (before the commit
   * deadline). Returns the ordered commit and its salt: derived from this agent's key unless
   * `salt` is given, so `reveal` recomputes it; keep it if the key may be rotated before revealing.
   */
  async commit(proposalId: string, choice: Choice, options: SealOptions = {}): Promise<CommitResult> {
    return commitSealed(this.#sealedPorts(), proposalId, choice, options);
  }

  /**
   * The second half: reveals the ballot committed to (from the commit deadline until the
   * deadline), with the derived salt or the `salt` given. Checked locally against the
   * commitment first: a ballot that does not reproduce it throws `SealMismatchError`, unsent.
   */
  async reveal(proposalId: string, choice: Choice, options: SealOptions = {}): Promise<VoteResult> {
    const { result, salt } = await revealSealed(this.#sealedPorts(), proposalId, choice, options);
    return { ...result, sealed: { salt, commit: null } };
  }

  /** A voter's commitment on a sealed proposal, until it reveals; null when there is none (or no proposal). */
  async commitment(
    proposalId: string,
    agent: string,
    options: ReadOptions = {},
  ): Promise<CommitmentRecord | null> {
    const result = await this.#readOrNull(ops.getCommitment({ proposalId, agent }), 'commitment', options);
    return result === null ? null : commitmentRecord(result);
  }

  /** A voter's counted or excluded signed ballot (on a sealed proposal, once revealed, with its salt); null when none. */
  async ballot(proposalId: string, agent: string, options: ReadOptions = {}): Promise<BallotRecord | null> {
    const result = await this.#readOrNull(ops.getBallot({ proposalId, agent }), 'ballot', options);
    if (result === null) return null;
    const { ballotBytes, signature, publicKey, keyFrom, counted, salt } = result;
    return { proposalId, agent, ballotBytes, signature, publicKey, keyFrom, counted, salt };
  }

  async #readOrNull<K extends string>(operation: Uint8Array, kind: K, options: ReadOptions) {
    try {
      return await this.#read(operation, kind, options);
    } catch (error) {
      if (error instanceof RejectedError && error.reason === 'NOT_FOUND') return null;
      throw error;
    }
  }

  #sealedPorts(): SealedPorts {
    return {
      agent: this.client.agent,
      crypto: this.client.crypto,
      sign: (bytes) => this.client.sign(bytes),
      send: (operation, options) => this.#sendVote(operation, options),
      decision: (proposalId, options) => this.decision(proposalId, options),
      commitment: (proposalId, agent, options) => this.commitment(proposalId, agent, options),
      ballot: (proposalId, agent, options) => this.ballot(proposalId, agent, options),
    };
  }

  /** A proposal with its status, outcome and tally. */
  async decision(proposalId: string, options: ReadOptions = {}): Promise<ProposalView> {
    return (await this.#read(ops.getProposal({ proposalId }), 'proposal', options)).proposal;
  }

  /** Waits until the proposal has an outcome (approved, rejected, no_quorum or expired). */
  async waitForDecision(proposalId: string, options: WaitOptions = {}): Promise<ProposalView> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    const pollMs = options.pollMs ?? 100;
    let lastTally = '';
    for (;;) {
      if (options.signal?.aborted)
        throw new AbortedError(`waiting for ${proposalId}: aborted`, options.signal.reason);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new TimeoutError(`waiting for ${proposalId}: no outcome within the timeout`);
      const proposal = await this.decision(proposalId, {
        consistency: 'quorum',
        timeoutMs: Math.min(remaining, 5_000),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      }).catch((error: unknown) => {
        if (error instanceof ConclaveError && error.code === 'NO_QUORUM') return undefined; // mid-write: ask again
        throw error;
      });
      if (proposal !== undefined) {
        if (proposal.status !== 'open') return proposal;
        const tally = JSON.stringify(proposal.tally, (_k, v) => (v instanceof Uint8Array ? undefined : v));
        if (tally !== lastTally) {
          lastTally = tally;
          options.onProgress?.(proposal);
        }
      }
      await sleep(pollMs, options.signal);
    }
  }

  /** Proposals, in id order (open ones by default). */
  async proposals(filter: Parameters<typeof ops.listProposals>[0] = {}, options: ReadOptions = {}) {
    return (await this.#read(ops.listProposals(filter), 'proposals', options)).proposals;
  }

  /** Equivocation evidence: pairs of conflicting signed objects, each checkable with `verifyEvidence`. */
  async evidence(
    filter: { agent?: string; proposalId?: string; limit?: number } = {},
    options: ReadOptions = {},
  ): Promise<readonly Evidence[]> {
    return (await this.#read(ops.listEvidence(filter), 'evidence', options)).evidence;
  }

  // --- kv ---------------------------------------------------------------------------------------

  readonly kv = {
    get: async (key: string, options: ReadOptions = {}): Promise<KvEntry> =>
      (await this.#read(ops.kvGet({ key }), 'kv', options)).entry,
    /**
     * Writes a key. A new key is the caller's (it counts against the caller's kv quotas); only
     * its owner, and agents the owner lists in `writers`, may write it (else ForbiddenError);
     * keys under `shared/` anyone may write. `writers` (owner only) replaces the grant; omitted,
     * the grant stays as it is.
     */
    put: async (
      key: string,
      value: Uint8Array,
      options: CallOptions & { readonly writers?: readonly string[] } = {},
    ): Promise<KvEntry> =>
      (await this.#write(ops.kvPut({ key, value, writers: options.writers ?? null }), 'kv', options)).entry,
    /** Writes only if the key is at `expectedVersion` (0: only if absent); else RejectedError VERSION_MISMATCH. */
    cas: async (
      key: string,
      expectedVersion: number,
      value: Uint8Array,
      options: CallOptions = {},
    ): Promise<KvEntry> =>
      (await this.#write(ops.kvCas({ key, expectedVersion, value }), 'kv', options)).entry,
    delete: async (key: string, expectedVersion?: number, options: CallOptions = {}): Promise<KvEntry> =>
      (await this.#write(ops.kvDelete({ key, expectedVersion: expectedVersion ?? null }), 'kv', options))
        .entry,
  };

  // --- locks and leases -------------------------------------------------------------------------

  readonly locks = {
    /** Takes the lock for `ttlTicks` of agreed time; RejectedError CONFLICT while someone else holds it. */
    acquire: async (name: string, ttlTicks: number, options: CallOptions = {}): Promise<LockView> =>
      (await this.#write(ops.lockAcquire({ name, ttl: ttlTicks }), 'lock', options)).lock,
    renew: async (name: string, ttlTicks: number, options: CallOptions = {}): Promise<LockView> =>
      (await this.#write(ops.lockRenew({ name, ttl: ttlTicks }), 'lock', options)).lock,
    release: async (name: string, options: CallOptions = {}): Promise<LockView> =>
      (await this.#write(ops.lockRelease({ name }), 'lock', options)).lock,
    get: async (name: string, options: ReadOptions = {}): Promise<LockView> =>
      (await this.#read(ops.getLock({ name }), 'lock', options)).lock,
  };

  // --- task board -------------------------------------------------------------------------------

  readonly tasks = {
    create: async (taskId: string, payload: Uint8Array, options: CallOptions = {}): Promise<TaskView> =>
      (await this.#write(ops.taskCreate({ taskId, payload }), 'task', options)).task,
    /** Claims an open task under a lease; an expired claim returns the task to the board. */
    claim: async (taskId: string, ttlTicks: number, options: CallOptions = {}): Promise<TaskView> =>
      (await this.#write(ops.taskClaim({ taskId, ttl: ttlTicks }), 'task', options)).task,
    complete: async (taskId: string, result: Uint8Array, options: CallOptions = {}): Promise<TaskView> =>
      (await this.#write(ops.taskComplete({ taskId, result }), 'task', options)).task,
    release: async (taskId: string, options: CallOptions = {}): Promise<TaskView> =>
      (await this.#write(ops.taskRelease({ taskId }), 'task', options)).task,
    get: async (taskId: string, options: ReadOptions = {}): Promise<TaskView> =>
      (await this.#read(ops.getTask({ taskId }), 'task', options)).task,
    list: async (
      filter: Parameters<typeof ops.listTasks>[0] = {},
      options: ReadOptions = {},
    ): Promise<readonly TaskView[]> => (await this.#read(ops.listTasks(filter), 'tasks', options)).tasks,
  };

  // --- watch ------------------------------------------------------------------------------------

  /**
   * Committed events in log order, from a position on, as an async iterator. Reads are quorum
   * reads by default (2f+1 replicas agree on each page). Throws ConclaveError EVENTS_LOST if
   * events were dropped from the replicas' bounded log before they were read.
   */
  async *watch(options: WatchOptions = {}): AsyncGenerator<CoordinationEvent, void, undefined> {
    // Without `from`, the first page decides where the watch starts: at the replicas' gap-free point.
    let started = options.from !== undefined;
    let cursor: EventCursor = options.from ?? { sequence: 0, index: 0 };
    const pollMs = options.pollMs ?? 100;
    while (!options.signal?.aborted) {
      const page = await this.client
        .query(
          ops.events({ fromSequence: cursor.sequence, fromIndex: cursor.index }),
          options.consistency ?? 'quorum',
          {
            ...(options.signal === undefined ? {} : { signal: options.signal }),
          },
        )
        .then((answer) => this.#unwrap(decodeResult(answer.result), 'events'))
        .catch((error: unknown) => {
          if (error instanceof ConclaveError && (error.code === 'NO_QUORUM' || error.code === 'TIMEOUT'))
            return undefined;
          if (error instanceof AbortedError) return undefined;
          throw error;
        });
      if (page !== undefined) {
        if (page.missed && !started && page.gapFreeFrom !== undefined) {
          started = true;
          cursor = page.gapFreeFrom;
          continue;
        }
        if (page.missed) {
          throw new ConclaveError(
            'EVENTS_LOST',
            `events after ${cursor.sequence}:${cursor.index} were dropped; the oldest kept is at ${page.earliestSequence}`,
          );
        }
        started = true;
        for (const event of page.events) yield event;
        cursor = page.next;
        if (page.events.length > 0) continue;
      }
      await sleep(pollMs, options.signal).catch(() => undefined);
    }
  }

  // --- membership and governance ------------------------------------------------------------

  /**
   * Every agent record, current and removed, with its key history (`keys`: each key and the
   * sequences [from, until) it was in force), weight, quotas and council membership. Pages of
   * `pageLimit` records (default `DEFAULT_PAGE_LIMIT`; a cluster whose `pageMax` is lower needs it).
   */
  async agents(options: ReadOptions & { readonly pageLimit?: number } = {}): Promise<readonly AgentView[]> {
    return this.#registryPages(ops.listAgents, 'agents', (page) => page.agents, options);
  }

  /**
   * What each agent record holds against each of its quotas (`used`), beside the limit in force
   * (`limits`: its override, else the global one): who is near a limit, and why a write got
   * QUOTA. Pages of `pageLimit` records, as `agents`.
   */
  async usage(
    options: ReadOptions & { readonly pageLimit?: number } = {},
  ): Promise<readonly AgentUsageView[]> {
    return this.#registryPages(ops.listUsage, 'usage', (page) => page.usage, options);
  }

  /** Every page of a read paged by agent id (`list_agents`, `list_usage`), in order. */
  async #registryPages<K extends 'agents' | 'usage', T>(
    operationOf: (fields: { readonly after: string | null; readonly limit?: number }) => Uint8Array,
    kind: K,
    items: (page: OkKind<K>) => readonly T[],
    options: ReadOptions & { readonly pageLimit?: number },
  ): Promise<readonly T[]> {
    const all: T[] = [];
    let after: string | null = null;
    const limit = options.pageLimit;
    for (;;) {
      const page: OkKind<K> = await this.#read(
        operationOf(limit === undefined ? { after } : { after, limit }),
        kind,
        options,
      );
      all.push(...items(page));
      const next: string | null = (page as { readonly next: string | null }).next;
      if (next === null) return all;
      after = next;
    }
  }

  /** Who may propose and approve governance actions, and the approving weight an action needs. */
  async council(options: ReadOptions = {}): Promise<CouncilView> {
    return (await this.#read(ops.getCouncil(), 'council', options)).council;
  }

  /**
   * Proposes a governance action (build it with `actions` from @conclave/coordination). Only a
   * council member may; the council votes on it with `vote`, and the state machine executes it
   * in the step that approves it (`actionOutcome` on the proposal says how that went).
   */
  async proposeAction(action: GovernanceAction, options: ProposeActionOptions): Promise<ProposalView> {
    const { deadline, sealed } = await this.#deadlinesOf(options, 'proposeAction');
    const operation = ops.proposeAction({
      proposalId: options.proposalId,
      action,
      deadline,
      sealed,
      ...(options.title === undefined ? {} : { title: options.title }),
    });
    return (await this.#write(operation, 'proposal', options)).proposal;
  }

  /**
   * Rotates this agent's key to `newSecretKey` (store it durably first: once the rotation
   * executes, the old key is refused). The request is signed by the current key and carries a
   * join statement signed by the new one (proof of possession). From the next batch on only the
   * new key is accepted; if the client was connected with `transportFor`, it switches to the new
   * key and reconnects before this resolves.
   */
  async rotateKey(newSecretKey: Uint8Array, options: CallOptions = {}): Promise<RegistryChange> {
    const statement = signJoinStatement(
      { role: 'agent', id: this.client.agent, publicKey: publicKeyOf(newSecretKey), host: '', port: 0 },
      newSecretKey,
      this.client.crypto,
    );
    const operation = ops.rotateKey({ joinStatement: encodeJoinStatement(statement) });
    try {
      const result = await this.#write(operation, 'agent', options);
      if (this.client.canSwitchKey) await this.client.switchKey(newSecretKey);
      return { agent: result.agent, effectiveFrom: result.effectiveFrom };
    } catch (error) {
      // The replicas that executed the rotation close the old key's connection at once, and
      // may do so before f+1 of their replies arrive: REVOKED_KEY then most likely means it
      // executed. Confirm under the new key rather than guess.
      if (!(error instanceof MembershipError && error.code === 'REVOKED_KEY' && this.client.canSwitchKey))
        throw error;
      await this.client.switchKey(newSecretKey);
      return this.#confirmKey(newSecretKey, options);
    }
  }

  /** This agent's record, read under its new key, if that key is now in force; else the original refusal stands. */
  async #confirmKey(secretKey: Uint8Array, options: CallOptions): Promise<RegistryChange> {
    const own = (await this.agents(options)).find((a) => a.id === this.client.agent);
    const current = own?.keys.at(-1);
    if (
      own === undefined ||
      current === undefined ||
      current.until !== null ||
      !bytesEqual(current.publicKey, publicKeyOf(secretKey))
    )
      throw new MembershipError(
        'REVOKED_KEY',
        `agent ${this.client.agent}: the old key was refused, and the new one is not in force`,
      );
    return { agent: own, effectiveFrom: current.from };
  }

  /** Removes this agent from the registry, from the next batch on; its connections then close. */
  async revokeSelf(options: CallOptions = {}): Promise<RegistryChange> {
    const result = await this.#write(ops.revokeSelf(), 'agent', options);
    return { agent: result.agent, effectiveFrom: result.effectiveFrom };
  }

  /**
   * A key lookup over the registry's history, for checking receipts and evidence signed before a
   * rotation or removal: pass it to `verifyReceipt` (the key in force at the receipt's sequence).
   */
  async keyHistory(options: ReadOptions & { readonly pageLimit?: number } = {}): Promise<AgentKeyAt> {
    const history: AgentKeyHistory[] = (await this.agents(options)).map((a) => ({ id: a.id, keys: a.keys }));
    return (agent, sequence) => keyInForce(history, agent, sequence);
  }
}

type Timing = CallOptions & {
  readonly deadline?: number;
  readonly ttlTicks?: number;
  readonly sealed?: SealedOptions;
};

/** `at` if given, else `now + ticks`; one of them is needed. */
function absolute(at: number | undefined, ticks: number | undefined, now: number, missing: string): number {
  if (at !== undefined) return at;
  if (ticks === undefined) throw new ConclaveError('INVALID_ARGUMENT', missing);
  return now + ticks;
}
