/**
 * A whole cluster inside one process, for development, examples and tests: real `Replica`s
 * (the same code the daemon runs) connected by the in-memory transport, with real timers.
 * Nothing is written to disk. Some replicas can be made Byzantine to watch the cluster cope.
 */
import { randomBytes } from 'node:crypto';
import { type CoordinationLimits, CoordinationStateMachine } from '@conclave/coordination';
import {
  type AgentIdentity as AgentKey,
  type ClusterConfig,
  type CryptoBackend,
  type KeyPair,
  nodeCrypto,
  type ProtocolConfig,
  publicKeyOf,
  quorumsOf,
  Replica,
  ReplicaHost,
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
import { type AgentIdentity, type ConclaveClient, type ConnectOptions, connect } from './client.ts';

/**
 * Wraps one replica's transport: how a replica is made Byzantine to watch the cluster cope
 * (`@conclave/harness` has `silent` and `lyingReplies`). The replica itself stays honest code.
 */
export type ReplicaTransportDecorator = (
  transport: Transport,
  self: { readonly replica: number; readonly secretKey: Uint8Array; readonly crypto: CryptoBackend },
) => Transport;

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
  /**
   * Coordination limits over the defaults (per-agent quotas, field sizes), as `coordination` in
   * cluster.json; every replica gets the same. Ignored when `stateMachine` is given.
   */
  readonly coordination?: Partial<CoordinationLimits>;
  /** Milliseconds per protocol tick; default 5. */
  readonly tickMs?: number;
  /** Replicas made Byzantine by wrapping their transport. At most f of them keep the cluster safe. */
  readonly byzantine?: Readonly<Record<number, ReplicaTransportDecorator>>;
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
  /**
   * Connects under any identity: an agent registered at run time, or one with a rotated key.
   * The client can `switchKey` (it gets `transportFor`).
   */
  connectAs(
    identity: AgentIdentity,
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
  const limits = options.coordination ?? {};
  const makeMachine =
    options.stateMachine ??
    (({ cluster: c }) =>
      new CoordinationStateMachine({
        crypto,
        agents: c.agents,
        limits,
        reservedKeys: c.replicas.map((r) => r.publicKey),
      }));
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
    const plain = network.transport({ peer: replicaPeer(id), secretKey: keys.secretKey }, directory);
    const transport = byzantine[id]?.(plain, { replica: id, secretKey: keys.secretKey, crypto }) ?? plain;
    // Nothing is durable here: a replica of this cluster never restarts.
    const host = new ReplicaHost({
      id,
      replicaCount: n,
      effects: {
        persist: () => {},
        send: (peer, outbound) =>
          transport.send(peer.kind === 'replica' ? replicaPeer(peer.id) : agentPeer(peer.id), outbound.frame),
      },
    });
    const step = (input: Parameters<Replica['step']>[0]) => {
      const output = host.run(replica, input);
      // Who may connect follows the registry the replica executes (as the daemon does).
      if (output.agentKeys !== undefined)
        plain.setAgents([...output.agentKeys].map(([agentId, publicKey]) => ({ id: agentId, publicKey })));
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
  // An agent's own transport needs the replicas' keys and its own: it may have been registered
  // (or rotated) at run time, after this directory was made. The replicas decide who is admitted.
  const transportFor = (who: AgentIdentity) =>
    network.transport(
      { peer: agentPeer(who.agent), secretKey: who.secretKey },
      { replicas: directory.replicas, agents: [{ id: who.agent, publicKey: publicKeyOf(who.secretKey) }] },
    );
  const transport = (agent: string) => transportFor(identity(agent));
  const connectAs = (who: AgentIdentity, extra: Partial<ConnectOptions> = {}) =>
    connect({
      replyAuth,
      ...extra,
      cluster,
      identity: who,
      transport: transportFor(who),
      transportFor,
      crypto,
    });
  return {
    cluster,
    crypto,
    identity,
    transport,
    connect: (agent, extra = {}) => connectAs(identity(agent), extra),
    connectAs,
    status: (replica) => (hosts[replica] as (typeof hosts)[number]).replica.status(),
    stateMachine: (replica) => (hosts[replica] as (typeof hosts)[number]).machine,
    async stop() {
      for (const host of hosts) clearInterval(host.timer);
      await Promise.all(hosts.map((h) => h.transport.close()));
    },
  };
}
