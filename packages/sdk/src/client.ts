/**
 * The agent's client: every request is signed with the agent's key, goes to the primary first
 * and to every replica after a timeout, and is accepted only on f+1 matching answers whose
 * authenticators check (so at least one honest replica vouches for the result). Works over any
 * Transport: WebSocket to real daemons, or the in-memory network of an in-process cluster.
 */
import {
  type AgentAnswer,
  type AgentKeyAt,
  type ClusterConfig,
  type CryptoBackend,
  createFetchReceipt,
  createQuery,
  createRequest,
  decodeReceipt,
  decodeRefusal,
  MessageType,
  nodeCrypto,
  openAnswer,
  publicKeyOf,
  type QueryReply,
  quorumsOf,
  type Receipt,
  type Reply,
  type ReplyAuth,
  type ReplyVerifier,
  replyVerifierFor,
  toHex,
  validateCluster,
  verifyReceipt,
} from '@conclave/core';
import { parsePeer, type RefusalReason, replicaPeer, type Transport } from '@conclave/transport';
import {
  AbortedError,
  ClosedError,
  ConclaveError,
  InvalidReceiptError,
  InvalidSignatureError,
  MembershipError,
  NoQuorumError,
  TimeoutError,
} from './errors.ts';

/** Who the client acts as: a registered agent id and its 64-byte Ed25519 secret key. */
export interface AgentIdentity {
  readonly agent: string;
  readonly secretKey: Uint8Array;
}

/** When to re-send: a request waits for the primary first, then goes to every replica. */
export interface RetryPolicy {
  /** How long to wait on the primary alone before sending to every replica. */
  readonly primaryTimeoutMs: number;
  /** How often to re-send to every replica while still waiting. */
  readonly resendIntervalMs: number;
}

/** Send to the primary, then to everyone after 500 ms, then again every second. */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ primaryTimeoutMs: 500, resendIntervalMs: 1_000 });
/** How long a call waits for f+1 matching answers unless told otherwise. */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;

/** What `connect` needs: the cluster, who the agent is, how to reach the replicas. */
export interface ConnectOptions {
  /** The cluster's public keys: replicas (to check answers) and agents. */
  readonly cluster: ClusterConfig;
  readonly identity: AgentIdentity;
  /** How to reach the replicas, created for this identity (`webSocketTransport`, or an in-process network's). */
  readonly transport: Transport;
  readonly crypto?: CryptoBackend;
  /** Default timeout of every call, unless the call says otherwise. */
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Which reply authentication to accept: `either` (the default over a transport that
   * authenticates every frame, as both of @conclave/transport's do: a signed reply, or one
   * authenticated by the channel it arrived on), `signature` (Ed25519 only; the default over any
   * other transport) or `channel`. Receipts are signed whatever the cluster's replies are.
   */
  readonly replyAuth?: ReplyAuth | 'either';
  /** A custom verifier instead of `replyAuth`'s. */
  readonly replyVerifier?: ReplyVerifier;
  /** `connect` waits until f+1 replicas are reachable, at most this long (then NO_QUORUM). */
  readonly connectTimeoutMs?: number;
  /**
   * Builds a transport for an identity: what `switchKey` uses to reconnect under the agent's new
   * key after a rotation. Without it, a rotated agent connects anew with `connect`.
   */
  readonly transportFor?: (identity: AgentIdentity) => Transport;
}

/** Every call takes an AbortSignal and a timeout. */
/**
 * Pauses before asking again when every replica answered a quorum read but no 2f+1 agreed. Any
 * batch in flight, an idle cluster's heartbeats too, moves the position every result carries, so
 * replicas a batch apart disagree for a moment; they agree again once it has executed everywhere.
 */
const QUORUM_RETRY_PAUSES_MS = [10, 30, 90] as const;

/** How long a quorum read waits for the last replicas once enough answered but disagree. */
const QUORUM_GRACE_MS = 250;

/** A quorum read's result from the group of matching replies: the median one by `answerKey`'s order. */
function queryResultOf(
  group: ReadonlyMap<number, QueryReply>,
  answerKey: AnswerKey | undefined,
): QueryResult {
  const replies = [...group.values()];
  const executed = replies.map((r) => r.lastExecuted);
  const ordered =
    answerKey === undefined
      ? replies
      : replies
          .map((reply) => ({ reply, order: answerKey(reply.result).order }))
          .sort((a, b) => a.order - b.order)
          .map(({ reply }) => reply);
  const result = (ordered[Math.floor((ordered.length - 1) / 2)] as QueryReply).result;
  return {
    result,
    replicas: [...group.keys()],
    executedSequenceMin: Math.min(...executed),
    executedSequenceMax: Math.max(...executed),
    agreedTime: Math.max(...replies.map((r) => r.agreedTime)),
  };
}

/** A `NoQuorumError` for answers that came but did not agree (the kind worth asking again). */
class DisagreementError extends NoQuorumError {}

export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/** An ordered request's outcome, as f+1 replicas reported it. */
export interface RequestResult {
  readonly requestId: number;
  /** The sequence at which the request was ordered and executed. */
  readonly sequence: number;
  /** The state machine's result, as f+1 replicas reported it. */
  readonly result: Uint8Array;
  /** The replicas whose matching answers were accepted. */
  readonly replicas: readonly number[];
}

/** How a read is answered: ordered (`linearizable`), by 2f+1 replicas (`quorum`), or by one (`local`). See the README. */
export type ReadConsistency = 'linearizable' | 'quorum' | 'local';

/** An unordered read's answer, with how stale it may be. */
/**
 * How a quorum read groups answers: by `key` (answers with one key are the same answer), and
 * which of a group to return: the one whose `order` is the median of the group's, so that at
 * most f Byzantine members cannot pick it. Default: the bytes themselves, all equal.
 */
export type AnswerKey = (result: Uint8Array) => { readonly key: string; readonly order: number };

/** Options of `query`. */
export interface QueryOptions extends CallOptions {
  /** For 'local': which replica to ask (default the primary as this client knows it). */
  readonly replica?: number;
  /** For 'quorum': what makes two answers the same (default: equal bytes). */
  readonly answerKey?: AnswerKey;
}

export interface QueryResult {
  readonly result: Uint8Array;
  readonly replicas: readonly number[];
  /** Lowest and highest executed sequence among the answers used: how stale the read may be. */
  readonly executedSequenceMin: number;
  readonly executedSequenceMax: number;
  /** Highest agreed time (ticks) among the answers used. */
  readonly agreedTime: number;
}

/** Connects an agent to the cluster; resolves once f+1 replicas are reachable. */
/**
 * Connects an agent to the cluster; resolves once f+1 replicas are reachable. The agent need
 * not be among the cluster config's agents (it may have been registered since); if f+1 replicas
 * refuse it, this rejects with `MembershipError` (UNKNOWN_AGENT or REVOKED_KEY).
 */
export async function connect(options: ConnectOptions): Promise<ConclaveClient> {
  validateCluster(options.cluster);
  const client = new ConclaveClient(options);
  try {
    await client.whenReachable(options.transport, options.connectTimeoutMs ?? 10_000);
  } catch (error) {
    await client.close();
    throw error;
  }
  return client;
}

type Accept<T> = (answer: AgentAnswer) => T | undefined;

/**
 * A connected agent. Create it with `connect`; every call signs with the agent's key and
 * accepts only answers that f+1 replicas agree on and authenticate.
 */
export class ConclaveClient {
  readonly agent: string;
  readonly cluster: ClusterConfig;
  readonly crypto: CryptoBackend;
  #secretKey: Uint8Array;
  #transport: Transport;
  readonly #transportFor: ((identity: AgentIdentity) => Transport) | undefined;
  /** Replicas that refused this agent's key in their handshake, and why. */
  readonly #refusedBy = new Map<number, RefusalReason>();
  /** Set once f+1 replicas refused the key: every call fails with it until `switchKey`. */
  #membershipError: MembershipError | undefined;
  readonly #verifier: ReplyVerifier;
  readonly #retry: RetryPolicy;
  readonly #timeoutMs: number;
  readonly #n: number;
  readonly #f: number;
  readonly #waiters = new Set<(answer: AgentAnswer) => void>();
  readonly #badAnswerWatchers = new Set<(replica: number | undefined) => void>();
  /** Calls in flight, to reject when the client closes or the cluster refuses its key. */
  readonly #failers = new Set<(error: ConclaveError) => void>();
  #view = 0;
  #lastId = 0;
  #closed = false;

  constructor(options: ConnectOptions) {
    this.agent = options.identity.agent;
    this.cluster = options.cluster;
    this.crypto = options.crypto ?? nodeCrypto();
    this.#secretKey = options.identity.secretKey;
    this.#transport = options.transport;
    this.#transportFor = options.transportFor;
    const channelAuthenticated = options.transport.channelAuthenticated === true;
    const replyAuth = options.replyAuth ?? (channelAuthenticated ? 'either' : 'signature');
    if (replyAuth !== 'signature' && !channelAuthenticated)
      throw new TypeError(
        `replyAuth '${replyAuth}' needs a transport that authenticates every frame (channelAuthenticated)`,
      );
    this.#verifier = options.replyVerifier ?? replyVerifierFor(replyAuth, this.crypto, options.cluster);
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const quorums = quorumsOf(options.cluster.replicas.length);
    this.#n = quorums.n;
    this.#f = quorums.f;
    this.#attach(options.transport);
  }

  /** The public key this client signs with now. */
  get publicKey(): Uint8Array {
    return publicKeyOf(this.#secretKey);
  }

  #attach(transport: Transport): void {
    transport.onFrame((from, frame) => {
      if (transport === this.#transport) this.#onFrame(from, frame);
    });
    transport.onRefused?.((peer, reason) => {
      if (transport === this.#transport) this.#onRefused(peer, reason);
    });
    transport.onPeer?.((peer, up) => {
      const replica = parsePeer(peer);
      if (up && replica?.kind === 'replica') this.#refusedBy.delete(replica.id);
    });
  }

  /**
   * A replica refused our key. One refusal proves little (a Byzantine replica can sign a false
   * one); f+1 with the same reason include an honest replica: calls in flight fail at once with
   * that reason rather than time out.
   */
  #onRefused(peer: string, reason: RefusalReason): void {
    const replica = parsePeer(peer);
    if (replica?.kind !== 'replica') return;
    this.#refusedBy.set(replica.id, reason);
    const agreeing = [...this.#refusedBy].filter(([, r]) => r === reason).map(([id]) => id);
    if (agreeing.length < this.#f + 1 || this.#membershipError !== undefined) return;
    const what =
      reason === 'UNKNOWN_AGENT' ? 'is not registered' : 'signs with a key that is no longer in force';
    this.#membershipError = new MembershipError(
      reason,
      `agent ${this.agent} ${what}: refused by replicas ${agreeing.sort((a, b) => a - b).join(', ')}`,
    );
    for (const fail of this.#failers) fail(this.#membershipError);
  }

  /**
   * Starts `transport` and waits until f+1 replicas are reachable, for at most `timeoutMs`.
   * Rejects with `MembershipError` as soon as f+1 refuse the key, or `NoQuorumError` at the end.
   */
  async whenReachable(transport: Transport, timeoutMs: number): Promise<void> {
    await transport.start();
    const needed = this.#f + 1;
    const deadline = Date.now() + timeoutMs;
    while (transport.connected().length < needed) {
      if (this.#membershipError !== undefined) throw this.#membershipError;
      if (Date.now() >= deadline) {
        const reached = transport.connected().length;
        throw new NoQuorumError(`reached ${reached} of ${this.#n} replicas; at least ${needed} must be up`);
      }
      await new Promise((done) => setTimeout(done, 10));
    }
  }

  /** Whether `switchKey` can reconnect under a new key (the client was given `transportFor`). */
  get canSwitchKey(): boolean {
    return this.#transportFor !== undefined && !this.#closed;
  }

  /**
   * Signs with `secretKey` from now on, over a new transport (`transportFor`): for after the
   * cluster executed this agent's key rotation. Calls in flight under the old key may be refused
   * (REVOKED_KEY); retry them. Resolves once f+1 replicas accept the new key.
   */
  async switchKey(secretKey: Uint8Array, timeoutMs = this.#timeoutMs): Promise<void> {
    if (this.#closed) throw new ClosedError();
    if (this.#transportFor === undefined)
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        'switchKey needs connect({ transportFor }); or connect anew with the new key',
      );
    const previous = this.#transport;
    const next = this.#transportFor({ agent: this.agent, secretKey });
    this.#secretKey = secretKey;
    this.#transport = next;
    this.#refusedBy.clear();
    this.#membershipError = undefined;
    this.#attach(next);
    await previous.close();
    await this.whenReachable(next, timeoutMs);
  }

  /** f: how many replicas may be faulty; f+1 matching answers are accepted. */
  get f(): number {
    return this.#f;
  }

  /** The view the client last learned from answers (a routing hint: the primary is view mod n). */
  get view(): number {
    return this.#view;
  }

  #onFrame(from: string, frame: Uint8Array): void {
    // The transport authenticates the sender of every frame it delivers.
    const peer = parsePeer(from);
    const channelReplica = peer?.kind === 'replica' ? peer.id : undefined;
    const opened = openAnswer(frame, this.#verifier, this.crypto, undefined, channelReplica);
    if (!opened.ok) {
      const claimed = channelReplica;
      for (const watcher of this.#badAnswerWatchers) watcher(claimed);
      return;
    }
    if (opened.answer.agent !== this.agent) return;
    for (const waiter of this.#waiters) waiter(opened.answer);
  }

  /** Request ids increase per agent, across processes too: derived from the clock, in microseconds. */
  #nextId(): number {
    this.#lastId = Math.max(this.#lastId + 1, Date.now() * 1000);
    return this.#lastId;
  }

  #sendTo(replicas: readonly number[], frame: Uint8Array): void {
    for (const replica of replicas) this.#transport.send(replicaPeer(replica), frame);
  }

  #everyone(): number[] {
    return this.cluster.replicas.map((r) => r.id);
  }

  /**
   * Sends `frame` (to the primary first when `primaryFirst`), re-sends on the retry policy, and
   * resolves with the first value `accept` returns. Rejects on timeout, abort, close, or when
   * more than f replicas sent answers that fail authentication.
   */
  #exchange<T>(
    frame: Uint8Array,
    accept: Accept<T>,
    options: CallOptions,
    what: string,
    firstTargets: readonly number[],
  ): Promise<T> {
    if (this.#closed) return Promise.reject(new ClosedError());
    if (this.#membershipError !== undefined) return Promise.reject(this.#membershipError);
    const signal = options.signal;
    if (signal?.aborted)
      return Promise.reject(new AbortedError(`${what}: aborted before it was sent`, signal.reason));
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    return new Promise<T>((resolve, reject) => {
      const badReplicas = new Set<number>();
      const timers: ReturnType<typeof setTimeout>[] = [];
      let resendTimer: ReturnType<typeof setInterval> | undefined;
      const onFail = (error: ConclaveError) => finish(() => reject(error));
      const finish = (settle: () => void) => {
        this.#failers.delete(onFail);
        for (const timer of timers) clearTimeout(timer);
        clearInterval(resendTimer);
        this.#waiters.delete(waiter);
        this.#badAnswerWatchers.delete(badWatcher);
        signal?.removeEventListener('abort', onAbort);
        settle();
      };
      const waiter = (answer: AgentAnswer) => {
        let value: T | undefined;
        try {
          value = accept(answer);
        } catch (error) {
          finish(() => reject(error));
          return;
        }
        if (value !== undefined) finish(() => resolve(value));
      };
      const badWatcher = (replica: number | undefined) => {
        if (replica === undefined) return;
        badReplicas.add(replica);
        if (badReplicas.size > this.#f) {
          finish(() =>
            reject(
              new InvalidSignatureError(
                `${what}: answers from ${badReplicas.size} replicas failed authentication; check the cluster's public keys`,
              ),
            ),
          );
        }
      };
      const onAbort = () => finish(() => reject(new AbortedError(`${what}: aborted`, signal?.reason)));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
      this.#badAnswerWatchers.add(badWatcher);
      this.#sendTo(firstTargets, frame);
      const broadcast = () => {
        this.#sendTo(this.#everyone(), frame);
        resendTimer ??= setInterval(
          () => this.#sendTo(this.#everyone(), frame),
          this.#retry.resendIntervalMs,
        );
      };
      if (firstTargets.length < this.#n) timers.push(setTimeout(broadcast, this.#retry.primaryTimeoutMs));
      else
        resendTimer = setInterval(() => this.#sendTo(this.#everyone(), frame), this.#retry.resendIntervalMs);
      timers.push(
        setTimeout(
          () => finish(() => reject(new TimeoutError(`${what}: not answered within ${timeoutMs} ms`))),
          timeoutMs,
        ),
      );
      this.#failers.add(onFail);
    });
  }

  /**
   * An ordered request: executed exactly once, at one sequence, in the same order at every
   * honest replica. Resolves with the result once f+1 replicas report the same (sequence, result).
   */
  async request(operation: Uint8Array, options: CallOptions = {}): Promise<RequestResult> {
    const requestId = this.#nextId();
    const { frame } = createRequest(
      { agent: this.agent, requestId, operation },
      this.crypto,
      this.#secretKey,
    );
    const votes = new Map<string, Set<number>>();
    const primary = this.#view % this.#n;
    return this.#exchange(
      frame,
      (answer) => {
        if (answer.type !== MessageType.reply || answer.requestId !== requestId) return undefined;
        const reply = answer as Reply;
        const key = `${reply.sequence}:${toHex(reply.result)}`;
        const voters = votes.get(key) ?? new Set<number>();
        voters.add(reply.replica);
        votes.set(key, voters);
        if (voters.size < this.#f + 1) return undefined;
        this.#view = Math.max(this.#view, reply.view);
        const refusal = decodeRefusal(reply.result);
        if (refusal !== undefined)
          throw new MembershipError(
            refusal.code,
            `request ${requestId} refused at ${reply.sequence}: ${refusal.detail}`,
          );
        return { requestId, sequence: reply.sequence, result: reply.result, replicas: [...voters] };
      },
      options,
      `request ${requestId} (needs ${this.#f + 1} matching replies)`,
      [primary],
    );
  }

  /**
   * A read that is not ordered: `quorum` waits for 2f+1 replicas to give the same answer (at
   * least f+1 honest ones had executed it); `local` takes one replica's answer (it may be stale,
   * or a lie: use it for hints). For the latest value in the total order, send a request.
   */
  async query(
    operation: Uint8Array,
    consistency: 'quorum' | 'local',
    options: QueryOptions = {},
  ): Promise<QueryResult> {
    const deadline = Date.now() + (options.timeoutMs ?? this.#timeoutMs);
    const round = () =>
      this.#queryOnce(operation, consistency, { ...options, timeoutMs: Math.max(1, deadline - Date.now()) });
    for (const pauseMs of QUORUM_RETRY_PAUSES_MS) {
      try {
        return await round();
      } catch (error) {
        if (!(error instanceof DisagreementError) || options.signal?.aborted === true) throw error;
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    }
    return round().catch((error: unknown) => {
      if (!(error instanceof DisagreementError)) throw error;
      const needed = consistency === 'quorum' ? 2 * this.#f + 1 : 1;
      throw new NoQuorumError(
        `${consistency} read: replicas answered, but no ${needed} agreed, in ${QUORUM_RETRY_PAUSES_MS.length + 1} rounds (writes may be committing; retry or read linearizably)`,
      );
    });
  }

  /**
   * One round of `query`: every replica asked once. Ends with `DisagreementError` when every
   * replica answered without 2f+1 agreeing, or when enough answered but disagree and the rest
   * stay silent for `QUORUM_GRACE_MS` (with f replicas down, waiting out the whole timeout for
   * them would turn every read that lands mid-batch into a timeout).
   */
  async #queryOnce(
    operation: Uint8Array,
    consistency: 'quorum' | 'local',
    options: QueryOptions,
  ): Promise<QueryResult> {
    const queryId = this.#nextId();
    const { frame } = createQuery({ agent: this.agent, queryId, operation }, this.crypto, this.#secretKey);
    const needed = consistency === 'quorum' ? 2 * this.#f + 1 : 1;
    const replica = options.replica ?? this.#view % this.#n;
    const votes = new Map<string, Map<number, QueryReply>>();
    const answered = new Set<number>();
    const grace = new AbortController();
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    const signal =
      options.signal === undefined ? grace.signal : AbortSignal.any([options.signal, grace.signal]);
    const accept = (answer: AgentAnswer): QueryResult | undefined => {
      if (answer.type !== MessageType.queryReply || answer.queryId !== queryId) return undefined;
      const reply = answer as QueryReply;
      if (consistency === 'local' && reply.replica !== replica) return undefined;
      answered.add(reply.replica);
      const key = options.answerKey?.(reply.result).key ?? toHex(reply.result);
      const group = votes.get(key) ?? new Map<number, QueryReply>();
      group.set(reply.replica, reply);
      votes.set(key, group);
      if (group.size >= needed) return queryResultOf(group, options.answerKey);
      if (answered.size === this.#n) throw new DisagreementError('every replica answered; no quorum agreed');
      if (answered.size >= needed) graceTimer ??= setTimeout(() => grace.abort(), QUORUM_GRACE_MS);
      return undefined;
    };
    try {
      const targets = consistency === 'local' ? [replica] : this.#everyone();
      return await this.#exchange(
        frame,
        accept,
        { ...options, signal },
        `${consistency} read (needs ${needed} matching answers)`,
        targets,
      );
    } catch (error) {
      if (grace.signal.aborted && options.signal?.aborted !== true)
        throw new DisagreementError('the answers disagreed and the rest stayed silent');
      throw error;
    } finally {
      clearTimeout(graceTimer);
    }
  }

  /**
   * The receipt of an executed request, fetched from any replica and checked here against the
   * cluster's public keys. Available while the batch is above the replicas' stable checkpoint.
   */
  async receipt(sequence: number, requestId: number, options: CallOptions = {}): Promise<Receipt> {
    const frame = createFetchReceipt(
      { agent: this.agent, requestId, sequence },
      this.crypto,
      this.#secretKey,
    );
    return this.#exchange(
      frame,
      (answer) => {
        if (
          answer.type !== MessageType.receipt ||
          answer.requestId !== requestId ||
          answer.receipt.byteLength === 0
        )
          return undefined;
        const receipt = decodeReceipt(answer.receipt);
        if (receipt === undefined) return undefined;
        const checked = verifyReceipt(receipt, this.cluster, this.crypto, this.#ownKeyAt());
        if (!checked.ok || checked.request.agent !== this.agent || checked.request.requestId !== requestId)
          return undefined;
        return receipt;
      },
      options,
      `receipt of request ${requestId} (needs one that verifies)`,
      this.#everyone(),
    );
  }

  /** A request and its receipt: proof, checkable by anyone offline, that it was decided at (view, sequence). */
  async requestWithReceipt(
    operation: Uint8Array,
    options: CallOptions = {},
  ): Promise<RequestResult & { readonly receipt: Receipt }> {
    const result = await this.request(operation, options);
    const receipt = await this.receipt(result.sequence, result.requestId, options);
    const checked = verifyReceipt(receipt, this.cluster, this.crypto, this.#ownKeyAt());
    if (!checked.ok) throw new InvalidReceiptError(checked.reason);
    return { ...result, receipt };
  }

  /**
   * Our own requests are checked against the key we signed them with: we know it was ours, and
   * the 2f+1 commits prove the cluster executed it (so it was in force). Other agents' are
   * checked against the cluster config; a verifier that follows rotations passes key history.
   */
  #ownKeyAt(): AgentKeyAt {
    const own = this.publicKey;
    return (agent) =>
      agent === this.agent ? own : this.cluster.agents.find((a) => a.id === agent)?.publicKey;
  }

  /**
   * Signs bytes with the agent's key: for objects that must stand on their own as proof, such
   * as ballots. Only ever sign bytes whose meaning is fixed by a tag inside them.
   */
  sign(bytes: Uint8Array): Uint8Array {
    return this.crypto.sign(bytes, this.#secretKey);
  }

  /** Closes the connection; calls in flight reject with ClosedError. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const fail of this.#failers) fail(new ClosedError());
    this.#failers.clear();
    await this.#transport.close();
  }
}
