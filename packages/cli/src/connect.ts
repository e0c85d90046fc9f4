/**
 * Connects as an agent of a cluster directory (cluster.json and the agent's key file) with the
 * SDK client, over WebSocket (wss when cluster.json configures TLS).
 */
import { type CryptoBackend, nodeCrypto, type ReplyAuth } from '@conclave/core';
import {
  CliError,
  clusterConfigOf,
  dialOptions,
  directoryOf,
  loadClusterFile,
  loadSecretKey,
  tlsOptionsOf,
} from '@conclave/node';
import { type ConclaveClient, type ConnectOptions, connect } from '@conclave/sdk';
import { agentPeer, type WebSocketTransport, webSocketTransport } from '@conclave/transport';

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

/** The agent's identity and a WebSocket transport to the cluster in `dir` (wss when configured). */
export function agentTransport(options: { dir: string; agent: string; crypto?: CryptoBackend }): {
  readonly cluster: ReturnType<typeof clusterConfigOf>;
  readonly identity: { readonly agent: string; readonly secretKey: Uint8Array };
  readonly transport: WebSocketTransport;
  readonly replyAuth: ReplyAuth;
} {
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
    // Replicas on OS-chosen ports are found through what their daemons report.
    ...dialOptions(options.dir, file),
    ...(tls === undefined ? {} : { tls }),
  });
  return {
    cluster: clusterConfigOf(file),
    identity: { agent: entry.id, secretKey },
    transport,
    replyAuth: file.replyAuth ?? 'signature',
  };
}

/** Connects as an agent of the cluster in `dir` with the SDK's client. */
export function connectAgent(options: ConnectAgentOptions): Promise<ConclaveClient> {
  const crypto = options.crypto ?? nodeCrypto();
  const { cluster, identity, transport, replyAuth } = agentTransport({
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
    crypto,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
  });
}
