/**
 * A small agent client for the CLI: signed requests to every replica, a result accepted on f+1
 * matching authenticated replies, read-only queries, and receipts checked offline.
 *
 * Request ids must increase per agent across processes, so they are derived from the wall
 * clock (microseconds); two processes acting as the same agent at the same moment may make one
 * of their requests stale. The SDK replaces this client for programs.
 */
import {
  type AgentAnswer,
  type CryptoBackend,
  createFetchReceipt,
  createQuery,
  createRequest,
  decodeReceipt,
  encodeReceipt,
  MessageType,
  nodeCrypto,
  openAnswer,
  type QueryReply,
  quorumsOf,
  type Receipt,
  type Reply,
  type ReplyVerifier,
  signedReplyVerifier,
  toHex,
  verifyReceipt,
} from '@conclave/core';
import { agentPeer, replicaPeer, type Transport, webSocketTransport } from '@conclave/transport';
import {
  type ClusterFile,
  clusterConfigOf,
  directoryOf,
  loadClusterFile,
  loadSecretKey,
  tlsOptionsOf,
} from './cluster-file.ts';
import { CliError } from './errors.ts';

export type Consistency = 'linearizable' | 'quorum' | 'local';
export const CONSISTENCIES: readonly Consistency[] = ['linearizable', 'quorum', 'local'];

export interface RequestOutcome {
  readonly result: Uint8Array;
  readonly sequence: number;
  readonly replicas: readonly number[];
}

export interface QueryOutcome {
  readonly result: Uint8Array;
  readonly replicas: readonly number[];
  /** Lowest and highest executed sequence among the answers used: how stale the read may be. */
  readonly lastExecutedMin: number;
  readonly lastExecutedMax: number;
}

let lastRequestId = 0;
function nextRequestId(): number {
  lastRequestId = Math.max(lastRequestId + 1, Date.now() * 1000);
  return lastRequestId;
}

export class AgentClient {
  readonly agent: string;
  readonly #file: ClusterFile;
  readonly #crypto: CryptoBackend;
  readonly #secretKey: Uint8Array;
  readonly #transport: Transport;
  readonly #verifier: ReplyVerifier;
  readonly #waiters = new Set<(answer: AgentAnswer) => void>();

  private constructor(
    agent: string,
    file: ClusterFile,
    secretKey: Uint8Array,
    crypto: CryptoBackend,
    transport: Transport,
  ) {
    this.agent = agent;
    this.#file = file;
    this.#crypto = crypto;
    this.#secretKey = secretKey;
    this.#transport = transport;
    this.#verifier = signedReplyVerifier(crypto, clusterConfigOf(file));
    transport.onFrame((_from, frame) => {
      const opened = openAnswer(frame, this.#verifier, this.#crypto);
      if (!opened.ok || opened.answer.agent !== this.agent) return;
      for (const waiter of this.#waiters) waiter(opened.answer);
    });
  }

  static async connect(options: {
    dir: string;
    agent: string;
    crypto?: CryptoBackend;
    timeoutMs?: number;
  }): Promise<AgentClient> {
    const crypto = options.crypto ?? nodeCrypto();
    const file = loadClusterFile(options.dir);
    const entry = file.agents.find((a) => a.id === options.agent);
    if (entry === undefined) {
      throw new CliError(
        'UNKNOWN_AGENT',
        `agent ${options.agent} is not in the cluster config (agents: ${file.agents.map((a) => a.id).join(', ')})`,
      );
    }
    const secretKey = loadSecretKey(options.dir, entry.id, entry.publicKey, crypto);
    const tls = tlsOptionsOf(options.dir, file);
    const transport = webSocketTransport({
      identity: { peer: agentPeer(entry.id), secretKey },
      directory: directoryOf(file),
      crypto,
      ...(tls === undefined ? {} : { tls }),
    });
    await transport.start();
    const client = new AgentClient(entry.id, file, secretKey, crypto, transport);
    // Wait for enough replicas to be reachable to get an answer at all.
    const needed = quorumsOf(file.replicas.length).weak;
    const deadline = Date.now() + (options.timeoutMs ?? 5_000);
    while (transport.connected().length < needed && Date.now() < deadline) await sleep(20);
    if (transport.connected().length < needed) {
      await client.close();
      throw new CliError(
        'NO_QUORUM',
        `reached ${transport.connected().length} of ${file.replicas.length} replicas; at least ${needed} must be up`,
      );
    }
    return client;
  }

  get f(): number {
    return quorumsOf(this.#file.replicas.length).f;
  }

  #broadcast(frame: Uint8Array, replicas: readonly number[] = this.#file.replicas.map((r) => r.id)): void {
    for (const replica of replicas) this.#transport.send(replicaPeer(replica), frame);
  }

  /**
   * Waits for answers until `accept` returns a value, re-sending every `resendMs`.
   * Rejects with CliError TIMEOUT after `timeoutMs`.
   */
  #await<T>(
    resend: () => void,
    accept: (answer: AgentAnswer) => T | undefined,
    timeoutMs: number,
    what: string,
  ): Promise<T> {
    return new Promise<T>((resolveAnswer, reject) => {
      const waiter = (answer: AgentAnswer) => {
        const value = accept(answer);
        if (value !== undefined) finish(() => resolveAnswer(value));
      };
      const resendTimer = setInterval(resend, 1_000);
      const timeout = setTimeout(
        () =>
          finish(() =>
            reject(new CliError('TIMEOUT', `${what}: no answer from enough replicas within ${timeoutMs} ms`)),
          ),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearInterval(resendTimer);
        clearTimeout(timeout);
        this.#waiters.delete(waiter);
        settle();
      };
      this.#waiters.add(waiter);
      resend();
    });
  }

  /** An ordered request: executed exactly once, accepted on f+1 matching replies. */
  request(operation: Uint8Array, timeoutMs = 10_000): Promise<RequestOutcome> {
    const requestId = nextRequestId();
    const { frame } = createRequest(
      { agent: this.agent, requestId, operation },
      this.#crypto,
      this.#secretKey,
    );
    const votes = new Map<string, Set<number>>();
    return this.#await(
      () => this.#broadcast(frame),
      (answer) => {
        if (answer.type !== MessageType.reply || answer.requestId !== requestId) return undefined;
        const reply = answer as Reply;
        const key = `${reply.sequence}:${toHex(reply.result)}`;
        const voters = votes.get(key) ?? new Set<number>();
        voters.add(reply.replica);
        votes.set(key, voters);
        if (voters.size < this.f + 1) return undefined;
        return { result: reply.result, sequence: reply.sequence, replicas: [...voters] };
      },
      timeoutMs,
      `request ${requestId}`,
    );
  }

  /** A read-only query: `quorum` waits for 2f+1 matching answers, `local` takes one replica's. */
  query(
    operation: Uint8Array,
    consistency: 'quorum' | 'local',
    replica = 0,
    timeoutMs = 10_000,
  ): Promise<QueryOutcome> {
    const queryId = nextRequestId();
    const { frame } = createQuery({ agent: this.agent, queryId, operation }, this.#crypto, this.#secretKey);
    const needed = consistency === 'quorum' ? 2 * this.f + 1 : 1;
    const votes = new Map<string, QueryReply[]>();
    return this.#await(
      () => this.#broadcast(frame, consistency === 'local' ? [replica] : undefined),
      (answer) => {
        if (answer.type !== MessageType.queryReply || answer.queryId !== queryId) return undefined;
        const reply = answer as QueryReply;
        const key = toHex(reply.result);
        const list = (votes.get(key) ?? []).filter((r) => r.replica !== reply.replica);
        list.push(reply);
        votes.set(key, list);
        if (list.length < needed) return undefined;
        const executed = list.map((r) => r.lastExecuted);
        return {
          result: reply.result,
          replicas: list.map((r) => r.replica),
          lastExecutedMin: Math.min(...executed),
          lastExecutedMax: Math.max(...executed),
        };
      },
      timeoutMs,
      `${consistency} read`,
    );
  }

  /** Fetches the receipt of an executed request from any replica and checks it offline. */
  async receipt(sequence: number, requestId: number, timeoutMs = 5_000): Promise<Receipt> {
    const frame = createFetchReceipt(
      { agent: this.agent, requestId, sequence },
      this.#crypto,
      this.#secretKey,
    );
    const cluster = clusterConfigOf(this.#file);
    return this.#await(
      () => this.#broadcast(frame),
      (answer) => {
        if (
          answer.type !== MessageType.receipt ||
          answer.requestId !== requestId ||
          answer.receipt.byteLength === 0
        )
          return undefined;
        const receipt = decodeReceipt(answer.receipt);
        if (receipt === undefined || !verifyReceipt(receipt, cluster, this.#crypto).ok) return undefined;
        return receipt;
      },
      timeoutMs,
      `receipt for request ${requestId}`,
    );
  }

  /** The last request id this process used (for receipts). */
  get lastRequestId(): number {
    return lastRequestId;
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }
}

export const receiptHex = (receipt: Receipt): string => toHex(encodeReceipt(receipt));

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
