/**
 * A whole cluster inside one process, for development, examples and tests: real `Replica`s
 * (the same code the daemon runs) connected by the in-memory transport, with real timers.
 * Nothing is written to disk. Some replicas can be made Byzantine to watch the cluster cope.
 */
import { randomBytes } from 'node:crypto';
import { CoordinationStateMachine } from '@conclave/coordination';
import {
  type AgentIdentity as AgentKey,
  CHANNEL_AUTHENTICATOR,
  type ClusterConfig,
  type CryptoBackend,
  DEFAULT_DECODE_LIMITS,
  decodeFrame,
  encodeBody,
  encodeFrame,
  isChannelAuthenticator,
  type KeyPair,
  MessageType,
  nodeCrypto,
  type Outbound,
  type ProtocolConfig,
  quorumsOf,
  Replica,
  type ReplicaStatus,
  type ReplyAuth,
  replyAuthenticatorFor,
  type StateMachine,
} from '@conclave/core';
import {
  agentPeer,
  type MemoryNetwork,
  memoryNetwork,
  replicaPeer,
  type Transport,
} from '@conclave/transport';
import { type ConclaveClient, type ConnectOptions, connect } from './client.ts';

/**
 * How a Byzantine replica misbehaves:
 * - `silent`: takes part in nothing (a crashed or cut-off replica);
 * - `lying-replies`: runs the protocol but tells agents a wrong result, properly signed.
 */
export type InProcessByzantine = 'silent' | 'lying-replies';

/** Options of `startInProcessCluster`; every field has a default. */
export interface InProcessClusterOptions {
  /** 3f+1 replicas; default 4. */
  readonly replicas?: number;
  /** Agent ids; default agent-0 … agent-3. */
  readonly agents?: readonly string[];
  /** The state machine each replica runs; default the coordination state machine. */
  readonly stateMachine?: (context: {
    replica: number;
    cluster: ClusterConfig;
    crypto: CryptoBackend;
  }) => StateMachine;
  readonly protocol?: Partial<ProtocolConfig>;
  /** Milliseconds per protocol tick; default 5. */
  readonly tickMs?: number;
  /** Replicas that misbehave, and how. At most f of them keep the cluster safe. */
  readonly byzantine?: Readonly<Record<number, InProcessByzantine>>;
  readonly crypto?: CryptoBackend;
  /**
   * How replies are authenticated: `channel` (the default: the in-memory network delivers every
   * frame with its true sender, as the WebSocket transport's per-frame MAC does) or `signature`.
   */
  readonly replyAuth?: ReplyAuth;
}

/** A running in-process cluster: its public configuration, agent identities, and controls. */
export interface InProcessCluster {
  readonly cluster: ClusterConfig;
  readonly crypto: CryptoBackend;
  /** An agent's identity (id and secret key), to connect with or to sign ballots. */
  identity(agent: string): { readonly agent: string; readonly secretKey: Uint8Array };
  /** A transport for an agent on this cluster's in-memory network. */
  transport(agent: string): Transport;
  /** Connects an agent with the SDK client. */
  connect(
    agent: string,
    options?: Partial<Omit<ConnectOptions, 'cluster' | 'identity' | 'transport'>>,
  ): Promise<ConclaveClient>;
  status(replica: number): ReplicaStatus;
  stateMachine(replica: number): StateMachine;
  stop(): Promise<void>;
}

/**
 * Starts a cluster of real replicas inside this process, connected by the in-memory transport,
 * with fresh random keys. `stop()` ends it; nothing is written to disk.
 */
export async function startInProcessCluster(
  options: InProcessClusterOptions = {},
): Promise<InProcessCluster> {
  const crypto = options.crypto ?? nodeCrypto();
  const n = options.replicas ?? 4;
  const agentIds = options.agents ?? ['agent-0', 'agent-1', 'agent-2', 'agent-3'];
  const keyPair = (): KeyPair => crypto.keyPairFromSeed(new Uint8Array(randomBytes(32)));
  const replicaKeys = Array.from({ length: n }, keyPair);
  const agentKeys = new Map(agentIds.map((id) => [id, keyPair()]));
  const agents: AgentKey[] = agentIds.map((id) => ({
    id,
    publicKey: (agentKeys.get(id) as KeyPair).publicKey,
  }));
  const cluster: ClusterConfig = {
    replicas: replicaKeys.map((k, id) => ({ id, publicKey: k.publicKey })),
    agents,
  };
  const byzantine = options.byzantine ?? {};
  if (Object.keys(byzantine).length > quorumsOf(n).f) {
    process.emitWarning(
      `${Object.keys(byzantine).length} Byzantine replicas exceed f=${quorumsOf(n).f}: safety is not promised`,
    );
  }
  const directory = {
    replicas: cluster.replicas.map((r) => ({ id: r.id, publicKey: r.publicKey, host: 'memory', port: 0 })),
    agents,
  };
  const network: MemoryNetwork = memoryNetwork({ crypto });
  const makeMachine =
    options.stateMachine ?? (({ cluster: c }) => new CoordinationStateMachine({ crypto, agents: c.agents }));
  const tickMs = options.tickMs ?? 5;
  const replyAuth = options.replyAuth ?? 'channel';

  const hosts = replicaKeys.map((keys, id) => {
    const machine = makeMachine({ replica: id, cluster, crypto });
    // Clocks start from wall-clock time, as the daemon's do, so agreed time looks the same.
    const replica = new Replica({
      id,
      cluster,
      protocol: options.protocol,
      crypto,
      secretKey: keys.secretKey,
      stateMachine: machine,
      clockStart: Math.floor(Date.now() / tickMs),
      replyAuthenticator: replyAuthenticatorFor(replyAuth, crypto, keys.secretKey),
    });
    const transport = network.transport({ peer: replicaPeer(id), secretKey: keys.secretKey }, directory);
    const behaviour = byzantine[id];
    const route = (send: Outbound) => {
      let frame = send.frame;
      if (behaviour === 'lying-replies' && send.to.kind === 'agent' && send.type === MessageType.reply) {
        frame = lyingReply(frame, keys.secretKey, crypto);
      }
      if (send.to.kind === 'replicas') {
        for (let other = 0; other < n; other++) if (other !== id) transport.send(replicaPeer(other), frame);
      } else if (send.to.kind === 'replica') transport.send(replicaPeer(send.to.id), frame);
      else transport.send(agentPeer(send.to.id), frame);
    };
    const step = (input: Parameters<Replica['step']>[0]) => {
      if (behaviour === 'silent') return;
      const out = replica.step(input);
      for (const send of out.send) route(send);
    };
    transport.onFrame((_from, frame) => step({ kind: 'message', frame }));
    let last = performance.now();
    const timer = setInterval(() => {
      const ticks = Math.floor((performance.now() - last) / tickMs);
      if (ticks <= 0) return;
      last += ticks * tickMs;
      step({ kind: 'tick', ticks });
    }, tickMs);
    timer.unref?.();
    return { replica, machine, transport, timer };
  });
  await Promise.all(hosts.map((h) => h.transport.start()));

  const keysOf = (agent: string): KeyPair => {
    const keys = agentKeys.get(agent);
    if (keys === undefined) throw new Error(`no agent ${agent} in this cluster (${agentIds.join(', ')})`);
    return keys;
  };
  const identity = (agent: string) => ({ agent, secretKey: keysOf(agent).secretKey });
  const transport = (agent: string) =>
    network.transport({ peer: agentPeer(agent), secretKey: keysOf(agent).secretKey }, directory);
  return {
    cluster,
    crypto,
    identity,
    transport,
    connect: (agent, extra = {}) =>
      connect({
        replyAuth,
        ...extra,
        cluster,
        identity: identity(agent),
        transport: transport(agent),
        crypto,
      }),
    status: (replica) => (hosts[replica] as (typeof hosts)[number]).replica.status(),
    stateMachine: (replica) => (hosts[replica] as (typeof hosts)[number]).machine,
    async stop() {
      for (const host of hosts) clearInterval(host.timer);
      await Promise.all(hosts.map((h) => h.transport.close()));
    },
  };
}

/** A Byzantine replica's reply: same request, another result, signed with its own (valid) key. */
export function lyingReply(frame: Uint8Array, secretKey: Uint8Array, crypto: CryptoBackend): Uint8Array {
  const decoded = decodeFrame(frame, DEFAULT_DECODE_LIMITS, crypto.hash);
  if (!decoded.ok || decoded.value.body.type !== MessageType.reply) return frame;
  const body = { ...decoded.value.body, result: new TextEncoder().encode('a lie') };
  const bytes = encodeBody(body);
  // Authenticated as the honest reply was: signed with the liar's key, or by its (real) channel.
  const channel = isChannelAuthenticator(decoded.value.signature);
  return encodeFrame({
    body,
    bytes,
    signature: channel ? CHANNEL_AUTHENTICATOR : crypto.sign(bytes, secretKey),
  });
}
