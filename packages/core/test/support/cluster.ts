/**
 * A minimal deterministic driver for targeted protocol tests: FIFO delivery, virtual ticks,
 * hooks to drop or rewrite frames. The randomized simulator lives in @conclave/harness.
 */
import {
  applyPersistRecords,
  type ClusterConfig,
  type CryptoBackend,
  createRequest,
  DEFAULT_DECODE_LIMITS,
  type DurableState,
  decodeFrame,
  type ExecutedBatch,
  emptyDurableState,
  encodeKvOperation,
  type Frame,
  type KeyPair,
  KvStateMachine,
  MessageType,
  nodeCrypto,
  openReply,
  type ProtocolConfig,
  Replica,
  ReplicaHost,
  type ReplicaInput,
  type ReplicaOutput,
  type Reply,
  signedReplyVerifier,
} from '../../src/index.ts';

export const TEST_PROTOCOL: Partial<ProtocolConfig> = {
  checkpointInterval: 4,
  watermarkWindow: 8,
  batchSizeMax: 4,
  pipelineDepthMax: 4,
  requestTimeoutTicks: 50,
  heartbeatTicks: 20,
  retryTicks: 10,
  timestampSkewMaxTicks: 1000,
};

export function seedOf(label: string, index: number): Uint8Array {
  const seed = new Uint8Array(32);
  const text = new TextEncoder().encode(`${label}:${index}`);
  seed.set(text.subarray(0, 32));
  return seed;
}

export interface Envelope {
  readonly from: string;
  readonly to: string;
  readonly frame: Uint8Array;
}

/** One step of one replica, as an observer sees it: what went in and what came out. */
export interface ObservedStep {
  readonly replica: number;
  readonly input: ReplicaInput;
  readonly output: ReplicaOutput;
}

/** Return `undefined` to deliver unchanged, `[]` to drop, or replacement envelopes. */
export type Interceptor = (envelope: Envelope, decoded: Frame | undefined) => Envelope[] | undefined;

export class TestCluster {
  readonly crypto: CryptoBackend;
  readonly cluster: ClusterConfig;
  readonly replicaKeys: KeyPair[];
  readonly agentKeys: KeyPair[];
  readonly replicas: Replica[];
  readonly machines: KvStateMachine[];
  readonly executed: ExecutedBatch[][];
  readonly replies = new Map<string, Reply[]>();
  readonly down = new Set<number>();
  readonly queue: Envelope[] = [];
  /** What each replica has made durable: its persist records applied in order. */
  readonly durable: DurableState[];
  readonly protocol: Partial<ProtocolConfig>;
  ticks = 0;
  interceptor: Interceptor | undefined;
  /** Called after every replica step (carried out by its host), e.g. to print a transcript. */
  observer: ((step: ObservedStep) => void) | undefined;
  #requestIds = new Map<string, number>();

  readonly #machineFactory: () => KvStateMachine;
  readonly #hosts: ReplicaHost[];

  constructor(
    n = 4,
    agents = 2,
    protocol: Partial<ProtocolConfig> = TEST_PROTOCOL,
    crypto: CryptoBackend = nodeCrypto(),
    machineFactory?: () => KvStateMachine,
  ) {
    this.crypto = crypto;
    this.#machineFactory = machineFactory ?? (() => new KvStateMachine(crypto.hash));
    this.replicaKeys = Array.from({ length: n }, (_, i) => crypto.keyPairFromSeed(seedOf('replica', i)));
    this.agentKeys = Array.from({ length: agents }, (_, i) => crypto.keyPairFromSeed(seedOf('agent', i)));
    this.cluster = {
      replicas: this.replicaKeys.map((k, id) => ({ id, publicKey: k.publicKey })),
      agents: this.agentKeys.map((k, i) => ({ id: `agent-${i}`, publicKey: k.publicKey })),
    };
    this.machines = this.replicaKeys.map(() => this.#machineFactory());
    this.replicas = this.replicaKeys.map(
      (k, id) =>
        new Replica({
          id,
          cluster: this.cluster,
          protocol,
          crypto,
          secretKey: k.secretKey,
          stateMachine: this.machines[id] as KvStateMachine,
        }),
    );
    this.executed = this.replicas.map(() => []);
    this.durable = this.replicas.map(() => emptyDurableState());
    this.#hosts = this.replicas.map((_, id) => this.#hostFor(id));
    this.protocol = protocol;
  }

  /**
   * Crash and restart: the replica loses everything that was not durable (its memory, its state
   * machine, messages in flight to it) and comes back from its durable state.
   */
  restart(replica: number): void {
    const machine = this.#machineFactory();
    this.machines[replica] = machine;
    this.replicas[replica] = new Replica({
      id: replica,
      cluster: this.cluster,
      protocol: this.protocol,
      crypto: this.crypto,
      secretKey: (this.replicaKeys[replica] as KeyPair).secretKey,
      stateMachine: machine,
      clockStart: this.ticks,
      restored: this.durable[replica] as DurableState,
    });
  }

  decode(frame: Uint8Array): Frame | undefined {
    const decoded = decodeFrame(frame, { ...DEFAULT_DECODE_LIMITS, entriesMax: 64 }, this.crypto.hash);
    return decoded.ok ? decoded.value : undefined;
  }

  /** Signs a KV put for an agent and sends it to the given replicas (all by default). */
  submit(
    agent: number,
    key: string,
    value: string,
    to: readonly number[] = this.replicas.map((_, i) => i),
  ): number {
    const agentId = `agent-${agent}`;
    const requestId = (this.#requestIds.get(agentId) ?? 0) + 1;
    this.#requestIds.set(agentId, requestId);
    const { frame } = createRequest(
      { agent: agentId, requestId, operation: encodeKvOperation({ op: 'put', key, value }) },
      this.crypto,
      (this.agentKeys[agent] as KeyPair).secretKey,
    );
    for (const replica of to) this.queue.push({ from: agentId, to: `r${replica}`, frame });
    return requestId;
  }

  /** Sends a raw frame to one replica and returns what it did, without network delivery. */
  inject(replica: number, frame: Uint8Array) {
    return this.#step(replica, { kind: 'message', frame });
  }

  #step(replica: number, input: ReplicaInput) {
    const output = (this.#hosts[replica] as ReplicaHost).run(this.replicas[replica] as Replica, input);
    this.observer?.({ replica, input, output });
    return output;
  }

  /** Replica `id`'s host: durable state in memory, frames onto the FIFO queue. */
  #hostFor(id: number): ReplicaHost {
    const from = `r${id}`;
    return new ReplicaHost({
      id,
      replicaCount: this.replicaKeys.length,
      effects: {
        persist: (records) => {
          this.durable[id] = applyPersistRecords(this.durable[id] as DurableState, records);
        },
        send: (peer, outbound) =>
          this.queue.push({
            from,
            to: peer.kind === 'replica' ? `r${peer.id}` : peer.id,
            frame: outbound.frame,
          }),
        executed: (batches) => (this.executed[id] as ExecutedBatch[]).push(...batches),
      },
    });
  }

  /** Delivers queued frames in FIFO order until the queue is empty (bounded). */
  deliverAll(stepsMax = 100_000): void {
    for (let steps = 0; this.queue.length > 0; steps++) {
      if (steps >= stepsMax) throw new Error('deliverAll: too many steps (livelock?)');
      const envelope = this.queue.shift() as Envelope;
      const rewritten = this.interceptor?.(envelope, this.decode(envelope.frame)) ?? [envelope];
      for (const e of rewritten) this.#deliver(e);
    }
  }

  /**
   * Delivers the first queued frame (through the interceptor, like `deliverAll`); returns its
   * envelope, or `undefined` when nothing is queued.
   */
  deliverNext(): Envelope | undefined {
    const envelope = this.queue.shift();
    if (envelope === undefined) return undefined;
    const rewritten = this.interceptor?.(envelope, this.decode(envelope.frame)) ?? [envelope];
    for (const e of rewritten) this.#deliver(e);
    return envelope;
  }

  #deliver(envelope: Envelope): void {
    const fromReplica = envelope.from.startsWith('r') ? Number(envelope.from.slice(1)) : undefined;
    if (fromReplica !== undefined && this.down.has(fromReplica)) return;
    if (envelope.to.startsWith('r')) {
      const replica = Number(envelope.to.slice(1));
      if (this.down.has(replica)) return;
      this.#step(replica, { kind: 'message', frame: envelope.frame });
      return;
    }
    const opened = openReply(envelope.frame, signedReplyVerifier(this.crypto, this.cluster), this.crypto);
    if (!opened.ok) throw new Error(`agent got an invalid reply: ${opened.reason}`);
    const list = this.replies.get(envelope.to) ?? [];
    list.push(opened.reply);
    this.replies.set(envelope.to, list);
  }

  /**
   * Like `deliverAll`, but everything queued for a replica is stepped as one `messages` input
   * (as the daemon steps its inbox), round after round until nothing is queued (bounded).
   */
  deliverInBursts(roundsMax = 10_000): void {
    for (let rounds = 0; this.queue.length > 0; rounds++) {
      if (rounds >= roundsMax) throw new Error('deliverInBursts: too many rounds (livelock?)');
      const bursts = new Map<number, Uint8Array[]>();
      for (const envelope of this.queue.splice(0)) {
        for (const e of this.interceptor?.(envelope, this.decode(envelope.frame)) ?? [envelope]) {
          const replica = e.to.startsWith('r') ? Number(e.to.slice(1)) : undefined;
          const fromReplica = e.from.startsWith('r') ? Number(e.from.slice(1)) : undefined;
          if (
            replica === undefined ||
            this.down.has(replica) ||
            (fromReplica !== undefined && this.down.has(fromReplica))
          )
            this.#deliver(e);
          else bursts.set(replica, [...(bursts.get(replica) ?? []), e.frame]);
        }
      }
      for (const [replica, frames] of bursts) this.#step(replica, { kind: 'messages', frames });
    }
  }

  /** Advances virtual time by `ticks`, one tick at a time, delivering everything in between. */
  run(ticks: number): void {
    for (let t = 0; t < ticks; t++) {
      this.ticks++;
      for (let i = 0; i < this.replicas.length; i++) if (!this.down.has(i)) this.#step(i, { kind: 'tick' });
      this.deliverAll();
    }
  }

  /** The result an agent would accept: f+1 matching replies for the request. */
  accepted(agent: number, requestId: number): Reply | undefined {
    const f = Math.floor((this.replicas.length - 1) / 3);
    const replies = (this.replies.get(`agent-${agent}`) ?? []).filter((r) => r.requestId === requestId);
    const byKey = new Map<string, Set<number>>();
    for (const reply of replies) {
      const key = `${reply.sequence}:${Buffer.from(reply.result).toString('hex')}`;
      const set = byKey.get(key) ?? new Set<number>();
      set.add(reply.replica);
      byKey.set(key, set);
      if (set.size >= f + 1) return reply;
    }
    return undefined;
  }

  /** sequence -> digest hex, per replica, of what each executed. */
  executedDigests(replica: number): Map<number, string> {
    return new Map(
      (this.executed[replica] ?? []).map((b) => [b.sequence, Buffer.from(b.digest).toString('hex')]),
    );
  }

  /** Asserts no two replicas executed different digests at one sequence; returns the number compared. */
  checkAgreement(replicas: readonly number[] = this.replicas.map((_, i) => i)): void {
    const seen = new Map<number, { digest: string; replica: number }>();
    for (const replica of replicas) {
      for (const batch of this.executed[replica] ?? []) {
        const digest = Buffer.from(batch.digest).toString('hex');
        const other = seen.get(batch.sequence);
        if (other !== undefined && other.digest !== digest) {
          throw new Error(
            `agreement violated at ${batch.sequence}: replica ${other.replica} ${other.digest.slice(0, 8)} vs ${replica} ${digest.slice(0, 8)}`,
          );
        }
        seen.set(batch.sequence, { digest, replica });
      }
    }
  }
}

export const isType = (frame: Frame | undefined, type: number): boolean => frame?.body.type === type;
export { MessageType };
