/**
 * Connects as an agent of a cluster directory (cluster.json and the agent's key file
 * keys/AGENT.secret) with the SDK client, over WebSocket (wss when cluster.json configures TLS).
 * The agent need not be one of the file's genesis agents, nor hold its genesis key: the
 * replicas' registry decides (an unknown agent or retired key is refused with MembershipError).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type CryptoBackend, nodeCrypto, publicKeyOf, type ReplyAuth } from '@conclave/core';
import {
  type ClusterFile,
  clusterConfigOf,
  dialOptions,
  directoryOf,
  loadClusterFile,
  readSecretKeyFile,
  tlsOptionsOf,
} from '@conclave/node';
import {
  type AgentIdentity,
  type ConclaveClient,
  type ConnectOptions,
  connect,
  MembershipError,
} from '@conclave/sdk';
import { agentPeer, type Directory, type WebSocketTransport, webSocketTransport } from '@conclave/transport';

export interface ConnectAgentOptions {
  readonly dir: string;
  /** The agent id (e.g. agent-0). */
  readonly agent: string;
  readonly crypto?: CryptoBackend;
  /** Default timeout of each call. */
  readonly timeoutMs?: number;
  /** How long to wait for f+1 replicas to be reachable. */
  readonly connectTimeoutMs?: number;
  /** Anything else the SDK's `connect` takes (retry policy, reply verifier…). */
  readonly connect?: Partial<Omit<ConnectOptions, 'cluster' | 'identity' | 'transport'>>;
}

/** Where an agent's secret key lives in a cluster directory. */
export const agentKeyPath = (dir: string, agent: string): string =>
  join(resolve(dir), 'keys', `${agent}.secret`);

/**
 * The agent's secret key, from its key file (owner-only, well-formed). Not checked against the
 * cluster file: the agent may have been registered, or have rotated its key, since the file was
 * written. The replicas decide; they refuse an unknown agent or a retired key (MembershipError).
 */
export function loadAgentKey(dir: string, agent: string, crypto: CryptoBackend): Uint8Array {
  return readSecretKeyFile(agentKeyPath(dir, agent), crypto).secretKey;
}

/** The file's replicas, and its agents with this agent's entry as its key file says. */
function directoryFor(file: ClusterFile, identity: AgentIdentity): Directory {
  const directory = directoryOf(file);
  const others = directory.agents.filter((a) => a.id !== identity.agent);
  return {
    ...directory,
    agents: [...others, { id: identity.agent, publicKey: publicKeyOf(identity.secretKey) }],
  };
}

/** A WebSocket transport to the cluster in `dir` for `identity` (wss when configured). */
export function transportFor(
  dir: string,
  file: ClusterFile,
  identity: AgentIdentity,
  crypto: CryptoBackend,
): WebSocketTransport {
  const tls = tlsOptionsOf(dir, file);
  return webSocketTransport({
    identity: { peer: agentPeer(identity.agent), secretKey: identity.secretKey },
    directory: directoryFor(file, identity),
    crypto,
    // Replicas on OS-chosen ports are found through what their daemons report.
    ...dialOptions(dir, file),
    ...(tls === undefined ? {} : { tls }),
  });
}

/** The agent's identity and a WebSocket transport to the cluster in `dir` (wss when configured). */
export function agentTransport(options: { dir: string; agent: string; crypto?: CryptoBackend }): {
  readonly cluster: ReturnType<typeof clusterConfigOf>;
  readonly identity: AgentIdentity;
  readonly transport: WebSocketTransport;
  readonly replyAuth: ReplyAuth;
  readonly transportFor: (identity: AgentIdentity) => WebSocketTransport;
} {
  const crypto = options.crypto ?? nodeCrypto();
  const file = loadClusterFile(options.dir);
  const identity = { agent: options.agent, secretKey: loadAgentKey(options.dir, options.agent, crypto) };
  const forIdentity = (who: AgentIdentity) => transportFor(options.dir, file, who, crypto);
  return {
    cluster: clusterConfigOf(file),
    identity,
    transport: forIdentity(identity),
    replyAuth: file.replyAuth ?? 'signature',
    transportFor: forIdentity,
  };
}

/** Connects as an agent of the cluster in `dir` with the SDK's client. */
export function connectAgent(options: ConnectAgentOptions): Promise<ConclaveClient> {
  const crypto = options.crypto ?? nodeCrypto();
  const { cluster, identity, transport, replyAuth, transportFor } = agentTransport({
    dir: options.dir,
    agent: options.agent,
    crypto,
  });
  return connect({
    // Whichever the cluster uses is accepted ('either'); a cluster.json that says `signature`
    // makes the agent insist on signatures.
    ...(replyAuth === 'signature' ? { replyAuth } : {}),
    ...options.connect,
    cluster,
    identity,
    transport,
    transportFor,
    crypto,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
  }).catch((error: unknown) => {
    throw withRotationHint(error, agentKeyPath(options.dir, options.agent));
  });
}

/** A refused key with a rotation's .old file beside it: say so, that is most likely why. */
function withRotationHint(error: unknown, keyPath: string): unknown {
  if (!(error instanceof MembershipError) || !existsSync(`${keyPath}.old`)) return error;
  return new MembershipError(
    error.code as 'UNKNOWN_AGENT' | 'REVOKED_KEY',
    `${error.message}; ${keyPath}.old exists: a key rotation did not finish. If the key in ${keyPath}.old is still in force, move it back to ${keyPath}`,
  );
}
