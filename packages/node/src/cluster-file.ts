/**
 * The cluster on disk: `cluster.json` (public: ids, public keys, addresses, protocol settings)
 * and `keys/<name>.secret` (one hex Ed25519 secret key per file, mode 0600, owner only).
 *
 * ```
 * conclave-cluster/
 *   cluster.json
 *   keys/replica-0.secret … keys/agent-0.secret …
 *   data/replica-0/       (lmdb, created by `conclave start`)
 * ```
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CoordinationLimits } from '@conclave/coordination';
import {
  type ClusterConfig,
  type CryptoBackend,
  fromHex,
  nodeCrypto,
  type ProtocolConfig,
  type ReplyAuth,
  toHex,
} from '@conclave/core';
import type { Directory, TlsOptions, WebSocketTransportOptions } from '@conclave/transport';
import { type AgentLimits, resolveAgentLimits } from './agent-limits.ts';
import { checkClusterFile, type StateMachineKind } from './cluster-check.ts';
import { type ConnectionLimits, resolveConnectionLimits } from './connection-limits.ts';
import { resolveCoordinationConfig } from './coordination-config.ts';
import { type Council, defaultCouncil } from './council.ts';
import { CliError } from './errors.ts';
import { requireComplete } from './genesis-check.ts';
import { GENESIS_FILE } from './genesis-format.ts';
import { readGenesis, readJsonFile } from './genesis-load.ts';
import { readSecretKeyFile, writeSecretKeyFile } from './key-file.ts';

export { STATE_MACHINE_KINDS, type StateMachineKind } from './cluster-check.ts';

export const CLUSTER_FILE = 'cluster.json';
export const DEFAULT_CLUSTER_DIR = 'conclave-cluster';
export const DEFAULT_BASE_PORT = 7400;
/** Milliseconds per protocol tick: the only place ticks meet wall-clock time. */
export const DEFAULT_TICK_MS = 10;

export interface ReplicaEntry {
  readonly id: number;
  readonly publicKey: string;
  readonly host: string;
  /** Replica-to-replica and agent connections (WebSocket). */
  readonly port: number;
  /** GET /metrics, /health and /status, on 127.0.0.1 only. */
  readonly httpPort: number;
  /**
   * Where this replica itself listens, when not on `port`: `port` is then where others reach it
   * (a proxy in between, such as the chaos harness's fault-injecting one). Default: `port`.
   */
  readonly listenPort?: number;
}

/**
 * TLS for the transport (wss). Paths are relative to the cluster directory; `{id}` in `cert` and
 * `key` becomes the replica id. Replicas need cert and key; everyone dials trusting `ca`.
 * Ed25519 handshakes authenticate peers and a per-frame MAC protects every frame either way;
 * TLS adds confidentiality.
 */
export interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface ClusterFile {
  readonly version: 1;
  readonly tickMs: number;
  readonly stateMachine?: StateMachineKind;
  /**
   * How replicas authenticate replies to agents: `channel` (the transport's per-frame MAC, bound
   * to the mutually authenticated handshake; what `conclave init` writes) or `signature` (an
   * Ed25519 signature per reply; the default when absent). Receipts are signed either way.
   */
  readonly replyAuth?: ReplyAuth;
  /** Signature-checking worker threads per replica (0: in the step loop). Default: cores - 1, at most 8. */
  readonly verifyWorkers?: number;
  /** What one agent may ask of one replica (rates, bursts, queue); absent fields take `DEFAULT_AGENT_LIMITS`. */
  readonly agentLimits?: Partial<AgentLimits>;
  /** What a replica's transport holds for peers (connections, pending handshakes, agents' queues); absent fields take the transport's defaults. */
  readonly connectionLimits?: ConnectionLimits;
  /**
   * The coordination state machine's limits (per-agent quotas, field sizes); absent fields take
   * `DEFAULT_COORDINATION_LIMITS`. Every replica must use the same: they are part of what it executes.
   */
  readonly coordination?: Partial<CoordinationLimits>;
  readonly tls?: TlsFiles;
  readonly protocol: Partial<ProtocolConfig>;
  readonly replicas: readonly ReplicaEntry[];
  /**
   * Agents at start; `weight` is an agent's voting weight on the council (default 1); `observer:
   * true` makes an agent read-only (it may read and rotate its key; never write, vote or sit on
   * the council), the key to give a dashboard or an auditor.
   */
  readonly agents: readonly {
    readonly id: string;
    readonly publicKey: string;
    readonly weight?: number;
    readonly observer?: boolean;
  }[];
  /**
   * Who approves governance actions, and how many must (see council.ts). Absent: every agent,
   * threshold floor(n/2)+1. genesis.json always has one; `conclave init` writes that default.
   */
  readonly council?: Council;
}

export interface InitOptions {
  readonly dir?: string;
  readonly replicas?: number;
  readonly agents?: number;
  readonly basePort?: number;
  readonly host?: string;
  readonly tickMs?: number;
  readonly protocol?: Partial<ProtocolConfig>;
  readonly stateMachine?: StateMachineKind;
  readonly replyAuth?: ReplyAuth;
  /** Written as `coordination`; checked first against the agent count, so nothing is written if it does not fit. */
  readonly coordination?: Partial<CoordinationLimits>;
}

/** How `conclave init` is told lower quotas: they are written to cluster.json as `coordination`. */
const INIT_LOWER_QUOTAS_HINT =
  'pass lower per-agent quotas with --coordination \'{"retainedProposalsPerAgentMax": 1, …}\' ' +
  '(written to cluster.json "coordination"; see docs/limits.md)';

export const agentName = (index: number): string => `agent-${index}`;
export const replicaKeyName = (id: number): string => `replica-${id}`;

/** Creates a cluster directory: config and owner-only secret key files. Refuses to overwrite one. */
export function initCluster(
  options: InitOptions = {},
  crypto: CryptoBackend = nodeCrypto(),
): { dir: string; cluster: ClusterFile } {
  const dir = resolve(options.dir ?? DEFAULT_CLUSTER_DIR);
  const replicas = options.replicas ?? 4;
  const agents = options.agents ?? 4;
  const basePort = options.basePort ?? DEFAULT_BASE_PORT;
  const host = options.host ?? '127.0.0.1';
  if (!Number.isInteger(replicas) || replicas < 4 || (replicas - 1) % 3 !== 0) {
    throw new CliError('BAD_ARGUMENT', `--replicas must be 3f+1 with f >= 1 (4, 7, 10, …), got ${replicas}`);
  }
  if (!Number.isInteger(agents) || agents < 0)
    throw new CliError('BAD_ARGUMENT', `--agents must be 0 or more, got ${agents}`);
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + 2 * replicas > 65535) {
    throw new CliError(
      'BAD_ARGUMENT',
      `--base-port must leave room for ${2 * replicas} ports between 1024 and 65535`,
    );
  }
  // Before any key is written: a registry too large for the default quotas is refused here, with
  // the quotas to lower, rather than by every replica at start.
  const limits =
    (options.stateMachine ?? 'coordination') === 'coordination'
      ? resolveCoordinationConfig(options.coordination, agents, `--agents ${agents}`, INIT_LOWER_QUOTAS_HINT)
      : resolveCoordinationConfig(options.coordination, 1);
  if (existsSync(join(dir, CLUSTER_FILE))) {
    throw new CliError(
      'ALREADY_EXISTS',
      `${join(dir, CLUSTER_FILE)} exists; choose another --dir or remove it`,
    );
  }
  mkdirSync(join(dir, 'keys'), { recursive: true, mode: 0o700 });
  const writeKey = (name: string): string => {
    const pair = crypto.keyPairFromSeed(new Uint8Array(randomBytes(32)));
    writeSecretKeyFile(join(dir, 'keys', `${name}.secret`), pair.secretKey);
    return toHex(pair.publicKey);
  };
  const agentIds = Array.from({ length: agents }, (_, index) => agentName(index));
  const cluster: ClusterFile = {
    version: 1,
    tickMs: options.tickMs ?? DEFAULT_TICK_MS,
    stateMachine: options.stateMachine ?? 'coordination',
    replyAuth: options.replyAuth ?? 'channel',
    ...(options.coordination === undefined ? {} : { coordination: options.coordination }),
    protocol: options.protocol ?? {},
    replicas: Array.from({ length: replicas }, (_, id) => ({
      id,
      publicKey: writeKey(replicaKeyName(id)),
      host,
      port: basePort + id,
      httpPort: basePort + replicas + id,
    })),
    agents: agentIds.map((id) => ({ id, publicKey: writeKey(id) })),
    // Local clusters get governance too: every agent on the council (the first votersMax of
    // them, as many as one proposal may have voters), a majority to approve.
    ...(agents === 0 ? {} : { council: defaultCouncil(agentIds.slice(0, limits.votersMax)) }),
  };
  writeFileSync(join(dir, CLUSTER_FILE), `${JSON.stringify(cluster, null, 2)}\n`);
  return { dir, cluster };
}

/** How `loadClusterFile` treats a genesis. */
export interface LoadClusterOptions {
  /** The genesis hash the operator agreed on (`--genesis-hash`): any other genesis is refused. */
  readonly genesisHash?: string;
  readonly crypto?: CryptoBackend;
}

/**
 * The cluster config in `dir`: its cluster.json, or its genesis.json, which is accepted only when
 * intact, every proof and signature holds and every replica operator signed (see genesis-check.ts).
 * Both in one directory is refused: which one holds would be a guess.
 */
export function loadClusterFile(dir: string, options: LoadClusterOptions = {}): ClusterFile {
  const clusterPath = join(resolve(dir), CLUSTER_FILE);
  const genesisPath = join(resolve(dir), GENESIS_FILE);
  const hasGenesis = existsSync(genesisPath);
  if (hasGenesis && existsSync(clusterPath))
    throw new CliError(
      'CONFIG_INVALID',
      `${resolve(dir)} holds both ${CLUSTER_FILE} and ${GENESIS_FILE}; keep the one this cluster runs from`,
    );
  if (hasGenesis) {
    const genesis = readGenesis(genesisPath, {
      ...(options.genesisHash === undefined ? {} : { pinnedHash: options.genesisHash }),
      ...(options.crypto === undefined ? {} : { crypto: options.crypto }),
    });
    requireComplete(genesis.signatures, genesisPath);
    return genesis.file;
  }
  if (!existsSync(clusterPath)) {
    throw new CliError(
      'CONFIG_MISSING',
      `no cluster config at ${clusterPath} (nor ${GENESIS_FILE}); create one with: pnpm conclave init --dir ${dir}, ` +
        'or run a genesis ceremony (docs/operators-ceremony.md)',
    );
  }
  if (options.genesisHash !== undefined)
    throw new CliError(
      'GENESIS_HASH_MISMATCH',
      `--genesis-hash was given but ${resolve(dir)} has no ${GENESIS_FILE}, only ${CLUSTER_FILE}`,
    );
  return checkClusterFile(readJsonFile(clusterPath), clusterPath);
}

/** The transport options a cluster file's `connectionLimits` set (checked by `loadClusterFile`). */
export function connectionOptionsOf(file: ClusterFile): Partial<WebSocketTransportOptions> {
  return resolveConnectionLimits(file.connectionLimits ?? {});
}

/** The agent limits a cluster file sets, with defaults for the rest. */
export function resolvedAgentLimits(file: ClusterFile): AgentLimits {
  return resolveAgentLimits(file.agentLimits);
}

/** The coordination limits a cluster file sets, with defaults for the rest (checked by `loadClusterFile`). */
export function resolvedCoordinationLimits(file: ClusterFile): CoordinationLimits {
  return resolveCoordinationConfig(file.coordination, file.agents.length);
}

/** The transport's TLS options for a replica (cert, key, ca) or an agent (ca only); undefined without TLS. */
export function tlsOptionsOf(dir: string, file: ClusterFile, replica?: number): TlsOptions | undefined {
  if (file.tls === undefined) return undefined;
  const read = (relative: string, what: string): Buffer => {
    const path = join(resolve(dir), relative.replaceAll('{id}', String(replica)));
    if (!existsSync(path))
      throw new CliError(
        'CONFIG_INVALID',
        `TLS ${what} file ${path} (from cluster.json "tls") does not exist`,
      );
    return readFileSync(path);
  };
  const ca = read(file.tls.ca, 'ca');
  if (replica === undefined) return { ca };
  return { ca, cert: read(file.tls.cert, 'cert'), key: read(file.tls.key, 'key') };
}

export function clusterConfigOf(file: ClusterFile): ClusterConfig {
  return {
    replicas: file.replicas.map((r) => ({ id: r.id, publicKey: fromHex(r.publicKey) })),
    agents: file.agents.map((a) => ({ id: a.id, publicKey: fromHex(a.publicKey) })),
  };
}

export function directoryOf(file: ClusterFile): Directory {
  return {
    replicas: file.replicas.map((r) => ({
      id: r.id,
      publicKey: fromHex(r.publicKey),
      host: r.host,
      port: r.port,
    })),
    agents: file.agents.map((a) => ({ id: a.id, publicKey: fromHex(a.publicKey) })),
  };
}

/**
 * Reads a secret key file and checks it belongs to `expectedPublicKey`: a wrong or corrupt key
 * file is caught here, with its path, not later as signatures nobody accepts.
 */
export function loadSecretKey(
  dir: string,
  name: string,
  expectedPublicKey: string,
  crypto: CryptoBackend = nodeCrypto(),
): Uint8Array {
  const path = join(resolve(dir), 'keys', `${name}.secret`);
  const pair = readSecretKeyFile(path, crypto);
  if (toHex(pair.publicKey) !== expectedPublicKey.toLowerCase()) {
    throw new CliError(
      'KEY_MISMATCH',
      `${path} is not the key of ${name} in the cluster config (its public key differs)`,
    );
  }
  return pair.secretKey;
}
