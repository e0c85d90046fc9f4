/**
 * The replica daemon: wires the pure `Replica` to the network (transport), the disk (lmdb),
 * the clock (ticks) and the operator (pino logs, Prometheus metrics, health and status).
 *
 * The step loop is serial. Each round steps every input that is waiting (up to a bound), writes
 * all of their persist records in one transaction (group commit), and only after that
 * transaction is durable hands their messages to the transport: persist before send, always.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CoordinationStateMachine } from '@conclave/coordination';
import {
  type CachingCrypto,
  type ClusterConfig,
  type CryptoBackend,
  type Decoded,
  type ExecutedBatch,
  type Frame,
  InvariantError,
  KvStateMachine,
  nodeCrypto,
  type PeerAddress,
  type PersistRecord,
  Replica,
  ReplicaHost,
  type ReplicaInput,
  type ReplicaOutput,
  replyAuthenticatorFor,
  type StateMachine,
  toHex,
  verifyCache,
} from '@conclave/core';
import {
  type AgentEntry,
  agentPeer,
  type LiveDirectoryTransport,
  parsePeer,
  replicaPeer,
  type Transport,
  TransportError,
  webSocketTransport,
} from '@conclave/transport';
import pino, { type Logger } from 'pino';
import { dialOptions, type ListeningAddress, writeListeningAddress } from './addresses.ts';
import {
  type ClusterFile,
  clusterConfigOf,
  connectionOptionsOf,
  directoryOf,
  loadClusterFile,
  loadSecretKey,
  replicaKeyName,
  resolvedAgentLimits,
  tlsOptionsOf,
} from './cluster-file.ts';
import { coordinationOptionsOf } from './coordination-options.ts';
import { CliError } from './errors.ts';
import { AGENT_HOLD_BACK_MS, type AgentRefusal, FairInbox, holdsBack, type Sender } from './fair-inbox.ts';
import { AgentRefusalLog, createReplicaMetrics, type ReplicaMetrics } from './metrics.ts';
import { retiredKeysOf } from './retired-keys.ts';
import { precheckSignatures } from './signature-precheck.ts';
import { openReplicaStore, type ReplicaStore, type SyncMode } from './store.ts';
import { defaultVerifyWorkers, VerifyPool } from './verify-pool.ts';

/** Inputs stepped in one round (one durable transaction) at most. */
export const ROUND_INPUTS_MAX = 1_024;
/** Ticks wait for a backlog of replicas' frames to be stepped first, at most this long. */
const TICKS_DEFERRED_MAX_MS = 1_000;
/** Gauges are refreshed after a round at most this often (and at every scrape). */
const GAUGE_REFRESH_MS = 250;
/** Sequences whose first-seen time is remembered for the commit latency histogram. */
const LATENCY_TRACKED_MAX = 4_096;

/** The transport's name for a peer the host routes to. */
function peerOf(peer: PeerAddress): string {
  return peer.kind === 'replica' ? replicaPeer(peer.id) : agentPeer(peer.id);
}

export interface DaemonOptions {
  readonly dir: string;
  readonly replica: number;
  readonly sync?: SyncMode;
  /** pino logger; by default JSON lines on stdout at `logLevel`. */
  readonly logger?: Logger;
  readonly logLevel?: string;
  readonly crypto?: CryptoBackend;
  /**
   * Wraps the replica's transport before the daemon uses it. The harness makes a replica
   * Byzantine this way for demonstrations (`@conclave/harness`: `lyingReplies`, `silent`); the
   * daemon itself has no misbehaving mode.
   */
  readonly decorateTransport?: (
    transport: Transport,
    self: { readonly replica: number; readonly secretKey: Uint8Array; readonly crypto: CryptoBackend },
  ) => Transport;
  /**
   * Your own deterministic state machine (see the SDK README), instead of the one cluster.json
   * names. Every replica of the cluster must run the same one.
   */
  readonly stateMachine?: (context: {
    readonly cluster: ClusterConfig;
    readonly crypto: CryptoBackend;
  }) => StateMachine;
  /**
   * Worker threads that check signatures ahead of the step loop; 0 checks them in the loop.
   * Default: cluster.json's `verifyWorkers`, else one less than the cores (at most 8).
   */
  readonly verifyWorkers?: number;
  /**
   * The genesis hash the operator agreed on (`conclave start --genesis-hash`): a genesis.json with
   * any other hash, or a directory without one, is refused before anything starts.
   */
  readonly genesisHash?: string;
}

/** A frame waiting for the step loop, decoded, its signatures maybe being checked by the pool. */
interface Inbound {
  readonly frame: Uint8Array;
  readonly decoded: Decoded<Frame> | undefined;
  /** Settles when the pool has checked the frame's signatures (never rejects). */
  ready: Promise<void> | undefined;
}

export interface DaemonStatus {
  readonly id: number;
  readonly view: number;
  readonly changingView: boolean;
  readonly primary: number;
  readonly executedSequence: number;
  readonly stableCheckpoint: number;
  /** Digest of the application state at `executedSequence` (hex). */
  readonly stateDigest: string;
  readonly agreedTime: number;
  readonly connections: number;
  readonly rssBytes: number;
  /** V8 heap in use, and memory outside it (Buffers and other native allocations). */
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
  /** Signatures the verify cache remembers. */
  readonly verifyCacheEntries: number;
  /** How long a silence of the primary must now last before this replica suspects it. */
  readonly silenceTimeoutMs: number;
  /** The longest gap between protocol messages seen lately, which that timeout adapts to. */
  readonly progressGapPeakMs: number;
  /** Replicas whose suspicion of the current view this replica holds, itself included. */
  readonly suspicionsHeld: number;
}

/**
 * Hands the transport the agents of the registry the replica executes. The registry is
 * replicated state; who may connect is this replica's own business: a directory the transport
 * refuses must not stop the replica, which keeps the previous one and says so.
 */
function setDirectoryAgents(
  transport: LiveDirectoryTransport,
  keys: ReadonlyMap<string, Uint8Array>,
  logger: Logger,
  retired: readonly AgentEntry[] = [],
): void {
  try {
    transport.setAgents(
      [...keys].map(([id, publicKey]) => ({ id, publicKey })),
      retired,
    );
  } catch (error) {
    logger.error({ event: 'registry', err: error }, 'the transport refused the agent registry');
  }
}

export class ReplicaDaemon {
  readonly id: number;
  readonly metrics: ReplicaMetrics;
  readonly logger: Logger;
  readonly #file: ClusterFile;
  readonly #replica: Replica;
  readonly #machine: StateMachine;
  readonly #store: ReplicaStore;
  readonly #transport: Transport;
  /** The undecorated transport, whose agent directory follows the registry (wrappers need not forward it). */
  readonly #directory: LiveDirectoryTransport;
  readonly #http: Server;
  readonly #tickMs: number;
  readonly #host: ReplicaHost;
  readonly #crypto: CachingCrypto;
  #pool: VerifyPool | undefined;
  readonly #inbox: FairInbox<Inbound>;
  readonly #agentRefusals: AgentRefusalLog;
  /** Replicas' public keys by id: the key each replica's connection was authenticated with. */
  readonly #replicaKeys: readonly Uint8Array[];
  #checksSeen = { pool: 0, hits: 0, misses: 0, redundant: 0 };
  #inboxDropped = 0;
  #ticksDue = 0;
  #ticksDeferredSince: number | undefined;
  #lastTickAt = performance.now();
  #tickTimer: NodeJS.Timeout | undefined;
  #running = false;
  #round: Promise<void> | undefined;
  /** A registry change executed this round, applied to the transport once the round's replies are sent. */
  #agentKeysChanged: ReadonlyMap<string, Uint8Array> | undefined;
  #stopping = false;
  #lastView = -1;
  #firstSeenAt = new Map<number, number>();
  #transportRejectedSeen: Record<string, number> = {};
  #lastRoundAt = performance.now();
  #gaugesAt = 0;
  #listening: ListeningAddress | undefined;

  private constructor(parts: {
    file: ClusterFile;
    replica: Replica;
    machine: StateMachine;
    store: ReplicaStore;
    transport: Transport;
    directory: LiveDirectoryTransport;
    logger: Logger;
    id: number;
    crypto: CachingCrypto;
    pool: VerifyPool | undefined;
    metrics: ReplicaMetrics;
  }) {
    this.#pool = parts.pool;
    this.#crypto = parts.crypto;
    this.id = parts.id;
    this.#file = parts.file;
    this.#replica = parts.replica;
    this.#machine = parts.machine;
    this.#store = parts.store;
    this.#transport = parts.transport;
    this.#directory = parts.directory;
    this.logger = parts.logger;
    this.#tickMs = parts.file.tickMs;
    this.#replicaKeys = clusterConfigOf(parts.file).replicas.map((replica) => replica.publicKey);
    this.metrics = parts.metrics;
    this.#inbox = new FairInbox(resolvedAgentLimits(parts.file), parts.file.replicas.length, () =>
      performance.now(),
    );
    this.#agentRefusals = new AgentRefusalLog(this.metrics.agentRefused);
    this.#http = createServer((request, response) => this.#serveHttp(request, response));
    this.#host = new ReplicaHost({
      id: parts.id,
      replicaCount: parts.file.replicas.length,
      effects: {
        persist: (records) => this.#persist(records),
        send: (peer, outbound) => this.#transport.send(peerOf(peer), outbound.frame),
        executed: (batches) => this.#reportExecuted(batches),
      },
    });
  }

  /** Loads config, keys and durable state, then listens and joins the cluster. Errors are CliErrors a person can act on. */
  static async start(options: DaemonOptions): Promise<ReplicaDaemon> {
    const dir = resolve(options.dir);
    const file = loadClusterFile(dir, {
      ...(options.genesisHash === undefined ? {} : { genesisHash: options.genesisHash }),
    });
    // Each valid signature is checked once: by the pool ahead of time, or inline, then remembered.
    const crypto = verifyCache(options.crypto ?? nodeCrypto());
    const entry = file.replicas.find((r) => r.id === options.replica);
    if (entry === undefined) {
      throw new CliError(
        'UNKNOWN_REPLICA',
        `replica ${options.replica} is not in the cluster config of ${dir} (ids 0..${file.replicas.length - 1})`,
      );
    }
    const secretKey = loadSecretKey(dir, replicaKeyName(entry.id), entry.publicKey, crypto);
    const logger = options.logger ?? pino({ level: options.logLevel ?? 'info', base: { replica: entry.id } });
    const store = openReplicaStore(join(dir, 'data', `replica-${entry.id}`), options.sync ?? 'full');
    const restored = store.load();
    const cluster = clusterConfigOf(file);
    const metrics = createReplicaMetrics(entry.id);
    const refusals = new AgentRefusalLog(metrics.operationsRefused);
    const machine: StateMachine = options.stateMachine
      ? options.stateMachine({ cluster, crypto })
      : file.stateMachine === 'kv'
        ? new KvStateMachine(crypto.hash)
        : new CoordinationStateMachine({
            ...coordinationOptionsOf(file, crypto),
            onRefused: (agent, code) => refusals.count(agent, code),
          });
    const replica = new Replica({
      id: entry.id,
      cluster,
      protocol: file.protocol,
      crypto,
      secretKey,
      stateMachine: machine,
      clockStart: Math.floor(Date.now() / file.tickMs),
      restored,
      replyAuthenticator: replyAuthenticatorFor(file.replyAuth ?? 'signature', crypto, secretKey),
    });
    const workers = options.verifyWorkers ?? file.verifyWorkers ?? defaultVerifyWorkers();
    const pool = workers > 0 ? new VerifyPool(workers) : undefined;
    const tls = tlsOptionsOf(dir, file, entry.id);
    const plainTransport = webSocketTransport({
      identity: { peer: replicaPeer(entry.id), secretKey },
      directory: directoryOf(file),
      crypto,
      ...connectionOptionsOf(file),
      // Counted as conclave_transport_rejected_total{reason="SLOW_READER"}; logged here once per connection.
      onSlowReader: (peer) =>
        logger.warn({ event: 'slow-reader', peer }, 'agent connection closed: it does not read its replies'),
      ...(tls === undefined ? {} : { tls }),
      ...(entry.listenPort === undefined ? {} : { listenPort: entry.listenPort }),
      // Peers on OS-chosen ports are found through what their daemons report (addresses.ts).
      ...dialOptions(dir, file),
    });
    const transport =
      options.decorateTransport?.(plainTransport, { replica: entry.id, secretKey, crypto }) ?? plainTransport;
    // The registry restored from disk may differ from the cluster file's genesis agents.
    setDirectoryAgents(plainTransport, replica.agentKeys(), logger, retiredKeysOf(machine));
    const daemon = new ReplicaDaemon({
      file,
      replica,
      machine,
      store,
      transport,
      directory: plainTransport,
      logger,
      id: entry.id,
      crypto,
      pool,
      metrics,
    });
    daemon.metrics.verifyWorkers.set(workers);
    daemon.metrics.registeredAgents.set(replica.agentKeys().size);
    try {
      await daemon.#listen(entry.httpPort);
      await transport.start();
      daemon.#reportAddress(dir, plainTransport.address()?.port);
    } catch (error) {
      await daemon.#closeQuietly();
      if (error instanceof TransportError && error.code === 'ADDRESS_IN_USE') {
        throw new CliError(
          'PORT_IN_USE',
          `port ${entry.listenPort ?? entry.port} (replica ${entry.id} transport) is in use: is this replica already running?`,
        );
      }
      throw error;
    }
    daemon.#begin(options.sync ?? 'full', restored.log.length);
    return daemon;
  }

  async #listen(httpPort: number): Promise<void> {
    await new Promise<void>((resolveListen, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        reject(
          error.code === 'EADDRINUSE'
            ? new CliError(
                'PORT_IN_USE',
                `port ${httpPort} (replica ${this.id} metrics) is in use: is this replica already running?`,
              )
            : error,
        );
      };
      this.#http.once('error', onError);
      this.#http.listen(httpPort, '127.0.0.1', () => {
        this.#http.off('error', onError);
        resolveListen();
      });
    });
  }

  /** Tells peers, agents and tools where this replica really listens (it may be an OS-chosen port). */
  #reportAddress(dir: string, port: number | undefined): void {
    const httpPort = (this.#http.address() as AddressInfo | null)?.port;
    if (port === undefined || httpPort === undefined)
      throw new InvariantError('a started replica has no listening address');
    this.#listening = { port, httpPort, pid: process.pid };
    writeListeningAddress(dir, this.id, this.#listening);
  }

  #begin(sync: SyncMode, restoredRecords: number): void {
    this.#running = true;
    this.#transport.onFrame((from, frame) => this.#enqueue(from, frame));
    this.#tickTimer = setInterval(() => this.#onTimer(), this.#tickMs);
    const status = this.#replica.status();
    this.#lastView = status.view;
    this.logger.info(
      {
        event: 'started',
        port: this.#listening?.port,
        httpPort: this.#listening?.httpPort,
        sync,
        stateMachine: this.#file.stateMachine ?? 'coordination',
        replyAuth: this.#file.replyAuth ?? 'signature',
        verifyWorkers: this.#pool?.size ?? 0,
        tls: this.#file.tls !== undefined,
        view: status.view,
        executedSequence: status.lastExecuted,
        stableCheckpoint: status.stableCheckpoint,
        restoredLogRecords: restoredRecords,
      },
      'replica started',
    );
  }

  /**
   * Admits a frame into its sender's queue (the sender is the transport's authenticated peer, not
   * what the frame claims), or counts why not. Decoding and signature work start only once admitted.
   */
  #enqueue(from: string, frame: Uint8Array): void {
    if (!this.#running) return;
    const sender: Sender | undefined = parsePeer(from);
    if (sender === undefined) {
      this.metrics.rejected.inc({ reason: 'UNKNOWN_PEER' });
      return;
    }
    const offer = this.#inbox.offer(sender, frame, () => this.#inbound(sender, frame));
    if (offer.ok) {
      this.#schedule();
      return;
    }
    if (offer.lane === 'replica') {
      this.#inboxDropped++;
      this.metrics.rejected.inc({ reason: offer.reason });
      return;
    }
    this.#refuseAgent(offer.agent, offer.reason);
  }

  #refuseAgent(agent: string, reason: AgentRefusal): void {
    const count = this.#agentRefusals.count(agent, reason);
    // The agent's further frames wait in its own socket instead of each costing a read and a refusal.
    if (holdsBack(reason)) this.#transport.holdBack?.(agentPeer(agent), AGENT_HOLD_BACK_MS);
    // Logged at 1, 2, 4, 8 … refusals: a flood is visible in the log without flooding it.
    if ((count & (count - 1)) === 0)
      this.logger.warn({ event: 'agent-refused', agent, reason, count }, 'agent frame refused');
  }

  /**
   * With a pool: decode now (the replica reuses it) and hand the frame's signatures to the
   * workers, the sender's first (`precheckSignatures`), whose verdicts land in the replica's cache
   * before the frame is stepped.
   */
  #inbound(sender: Sender, frame: Uint8Array): Inbound {
    const pool = this.#pool;
    if (pool === undefined || pool.closed) return { frame, decoded: undefined, ready: undefined };
    const decoded = this.#replica.decode(frame);
    if (!decoded.ok) return { frame, decoded, ready: undefined };
    const inbound: Inbound = { frame, decoded, ready: undefined };
    const connectionKey = sender.kind === 'replica' ? this.#replicaKeys[sender.id] : undefined;
    const checked = precheckSignatures(
      this.#replica.signatureChecks(decoded.value),
      this.#crypto,
      (checks) => pool.verify(checks),
      connectionKey,
    );
    if (checked === undefined) return inbound;
    inbound.ready = checked.then(
      () => {
        inbound.ready = undefined;
      },
      (error: unknown) => {
        inbound.ready = undefined;
        this.#onPoolFailure(error);
      },
    );
    return inbound;
  }

  #onPoolFailure(error: unknown): void {
    if (this.#pool === undefined || this.#stopping) return;
    this.logger.error(
      { event: 'verify-pool-failed', err: error },
      'signature worker pool failed; checking signatures in the step loop from now on',
    );
    this.#pool = undefined;
    this.metrics.verifyWorkers.set(0);
  }

  #onTimer(): void {
    const now = performance.now();
    const ticks = Math.floor((now - this.#lastTickAt) / this.#tickMs);
    if (ticks <= 0) return;
    this.#lastTickAt += ticks * this.#tickMs;
    this.#ticksDue += ticks;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#round !== undefined || !this.#running) return;
    this.#round = new Promise<void>((done) => setImmediate(() => done())).then(() => this.#runRound());
  }

  async #runRound(): Promise<void> {
    const roundStart = performance.now();
    try {
      const inbound = this.#inbox.nextRound(ROUND_INPUTS_MAX);
      const waiting: Promise<void>[] = [];
      for (const item of inbound) if (item.ready !== undefined) waiting.push(item.ready);
      if (waiting.length > 0) await Promise.all(waiting);
      if (inbound.length > 0) {
        // One input: requests that arrived together share a batch.
        this.#step(
          {
            kind: 'messages',
            frames: inbound.map((item) => item.frame),
            decoded: inbound.map((item) => item.decoded),
          },
          roundStart,
        );
      }
      const ticks = this.#ticksToStep();
      if (ticks > 0) this.#step({ kind: 'tick', ticks }, roundStart);
      // Persist, then send, then report: the host's order.
      await this.#host.finishRound();
      this.#applyAgentKeys();
      this.#afterRound();
    } catch (error) {
      this.#fail(error);
      return;
    } finally {
      this.#round = undefined;
      this.#lastRoundAt = performance.now();
    }
    if (this.#inbox.size > 0 || this.#ticksDue > 0) this.#schedule();
  }

  /**
   * Time is stepped after the frames that arrived while it passed, and waits while a backlog of
   * replicas' frames remains (at most TICKS_DEFERRED_MAX_MS): a replica whose own inbox is
   * behind — flooded, or starved of CPU — must not suspect a primary whose messages it simply has
   * not read yet. Agents' frames never hold time back, so an agent's flood cannot stop it.
   */
  #ticksToStep(): number {
    if (this.#ticksDue === 0) return 0;
    const now = performance.now();
    this.#ticksDeferredSince ??= now;
    if (this.#inbox.replicaFrames > 0 && now - this.#ticksDeferredSince < TICKS_DEFERRED_MAX_MS) return 0;
    const ticks = this.#ticksDue;
    this.#ticksDue = 0;
    this.#ticksDeferredSince = undefined;
    return ticks;
  }

  /**
   * Who may connect follows the registry the replica executes: a new agent can connect at once, a
   * removed or rotated-out key's connections close. Applied after the round's sends, so the
   * refusal a removed agent's last request earned still reaches it.
   */
  #applyAgentKeys(): void {
    const keys = this.#agentKeysChanged;
    if (keys === undefined) return;
    this.#agentKeysChanged = undefined;
    setDirectoryAgents(this.#directory, keys, this.logger);
    this.metrics.registeredAgents.set(keys.size);
    this.logger.info({ event: 'registry', agents: keys.size }, 'agent registry changed');
  }

  /** Steps the replica into the host's round, and records what only this step tells. */
  #step(input: ReplicaInput, roundStart: number): void {
    const output = this.#host.step(this.#replica, input);
    if (output.agentKeys !== undefined) this.#agentKeysChanged = output.agentKeys;
    this.#noteFirstSeen(output, roundStart);
    for (const rejection of output.rejected) {
      this.metrics.rejected.inc({ reason: rejection.code });
      this.logger.debug(
        { event: 'rejected', reason: rejection.code, detail: rejection.detail },
        'input rejected',
      );
    }
    for (const transfer of output.stateTransfers) {
      this.metrics.stateTransfers.inc();
      this.logger.info(
        { event: 'state-transfer', sequence: transfer.sequence },
        'caught up by state transfer',
      );
    }
  }

  /** When each sequence was first logged here, for the commit latency histogram. */
  #noteFirstSeen(output: ReplicaOutput, roundStart: number): void {
    for (const record of output.persist) {
      if (record.kind !== 'log' || this.#firstSeenAt.has(record.sequence)) continue;
      if (this.#firstSeenAt.size < LATENCY_TRACKED_MAX) this.#firstSeenAt.set(record.sequence, roundStart);
    }
  }

  /** The round's durable write: one transaction for every step's records (group commit). */
  async #persist(records: readonly PersistRecord[]): Promise<void> {
    const writeStart = performance.now();
    await this.#store.commit(records);
    this.metrics.durableWrite.observe((performance.now() - writeStart) / 1000);
  }

  #reportExecuted(batches: readonly ExecutedBatch[]): void {
    for (const batch of batches) {
      this.metrics.batchSize.observe(batch.requests.length);
      this.metrics.requestsExecuted.inc(batch.requests.length);
      const seenAt = this.#firstSeenAt.get(batch.sequence);
      if (seenAt !== undefined) this.metrics.commitLatency.observe((performance.now() - seenAt) / 1000);
    }
  }

  #afterRound(): void {
    const status = this.#replica.status();
    for (const sequence of this.#firstSeenAt.keys())
      if (sequence <= status.lastExecuted) this.#firstSeenAt.delete(sequence);
    if (status.view !== this.#lastView) {
      this.metrics.viewChanges.inc(Math.max(0, status.view - this.#lastView));
      this.logger.info(
        {
          event: 'view',
          view: status.view,
          primary: status.primary,
          changing: status.changingView,
          // Who suspected which view: why we left (empty: we joined others' view-changes).
          leftOn: status.changingView ? this.#replica.viewChangeCause() : undefined,
        },
        'view changed',
      );
      this.#lastView = status.view;
    }
    // Gauges are read by scrapes (which refresh them first); between scrapes a few a second do.
    const now = performance.now();
    if (now - this.#gaugesAt >= GAUGE_REFRESH_MS) {
      this.#gaugesAt = now;
      this.#refreshGauges();
    }
  }

  #refreshGauges(): void {
    const status = this.#replica.status();
    this.metrics.view.set(status.view);
    this.metrics.changingView.set(status.changingView ? 1 : 0);
    this.metrics.executedSequence.set(status.lastExecuted);
    this.metrics.committedSequence.set(this.#replica.highestCommitted());
    this.metrics.stableCheckpoint.set(status.stableCheckpoint);
    this.metrics.queueDepth.set({ queue: 'inbox' }, this.#inbox.size);
    this.metrics.queueDepth.set({ queue: 'inbox_replicas' }, this.#inbox.replicaFrames);
    this.metrics.queueDepth.set({ queue: 'inbox_agents' }, this.#inbox.agentFrames);
    this.metrics.agentsQueued.set(this.#inbox.agentsWaiting);
    this.metrics.queueDepth.set({ queue: 'pending_requests' }, status.pendingRequests);
    this.metrics.queueDepth.set({ queue: 'log' }, status.logSize);
    const transport = this.#transport.stats();
    let sendQueued = 0;
    for (const queue of Object.values(transport.queues)) sendQueued += queue.framesQueued;
    this.metrics.queueDepth.set({ queue: 'send' }, sendQueued);
    this.metrics.connections.set(transport.connections);
    const cache = this.#crypto.stats;
    const pooled = this.#pool?.stats().checked ?? this.#checksSeen.pool;
    const redundant = this.#replica.status().redundantVotesDropped;
    this.metrics.signatureChecks.inc({ where: 'pool' }, pooled - this.#checksSeen.pool);
    this.metrics.signatureChecks.inc({ where: 'cache' }, cache.hits - this.#checksSeen.hits);
    this.metrics.signatureChecks.inc({ where: 'inline' }, cache.misses - this.#checksSeen.misses);
    this.metrics.redundantVotes.inc(redundant - this.#checksSeen.redundant);
    this.#checksSeen = { pool: pooled, hits: cache.hits, misses: cache.misses, redundant };
    for (const [reason, count] of Object.entries(transport.rejected)) {
      const delta = count - (this.#transportRejectedSeen[reason] ?? 0);
      if (delta > 0) this.metrics.transportRejected.inc({ reason }, delta);
      this.#transportRejectedSeen[reason] = count;
    }
  }

  /** A broken invariant, or a disk that refuses writes: stop at once, durable state intact; a restart recovers. */
  #fail(error: unknown): void {
    const invariant = error instanceof InvariantError;
    this.logger.fatal(
      { event: 'fatal', invariant, err: error },
      invariant ? 'replica invariant broken' : 'replica failed',
    );
    this.#running = false;
    process.exitCode = 1;
    void this.stop().finally(() => process.exit(1));
  }

  status(): DaemonStatus {
    const status = this.#replica.status();
    const memory = process.memoryUsage();
    return {
      id: this.id,
      view: status.view,
      changingView: status.changingView,
      primary: status.primary,
      executedSequence: status.lastExecuted,
      stableCheckpoint: status.stableCheckpoint,
      stateDigest: toHex(this.#machine.digest()),
      agreedTime: status.agreedTime,
      connections: this.#transport.stats().connections,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      externalBytes: memory.external,
      verifyCacheEntries: this.#crypto.stats.size,
      silenceTimeoutMs: status.silenceTimeoutTicks * this.#tickMs,
      progressGapPeakMs: status.progressGapPeakTicks * this.#tickMs,
      suspicionsHeld: status.suspicionsHeld,
    };
  }

  #serveHttp(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') {
      response.writeHead(405).end();
      return;
    }
    if (path === '/metrics') {
      this.#refreshGauges();
      this.metrics.registry
        .metrics()
        .then((text) =>
          response.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(text),
        )
        .catch(() => response.writeHead(500).end());
      return;
    }
    if (path === '/health') {
      const stalledMs = performance.now() - this.#lastRoundAt;
      const healthy = this.#running && (this.#round === undefined || stalledMs < 10_000);
      response
        .writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: healthy ? 'ok' : 'stalled', replica: this.id }));
      return;
    }
    if (path === '/status') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.status()));
      return;
    }
    response.writeHead(404).end();
  }

  /** Stops taking input, finishes the round in progress (so what was stepped is durable), and closes. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#running = false;
    if (this.#tickTimer !== undefined) clearInterval(this.#tickTimer);
    await this.#round?.catch(() => undefined);
    await this.#closeQuietly();
    this.logger.info(
      { event: 'stopped', executedSequence: this.#replica.status().lastExecuted },
      'replica stopped',
    );
  }

  async #closeQuietly(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await Promise.allSettled([
      pool?.close(),
      this.#transport.close(),
      new Promise<void>((done) => {
        if (!this.#http.listening) return done();
        this.#http.close(() => done());
        this.#http.closeAllConnections();
      }),
    ]);
    await this.#store.close().catch(() => undefined);
  }

  /** Replicas' frames dropped because their queue in the inbox was full. */
  get inboxDropped(): number {
    return this.#inboxDropped;
  }
}
